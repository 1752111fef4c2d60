#pragma once
// Resampling irregular, partly cloudy acquisitions to a regular grid of dates, per pixel and band:
// linear interpolation between the clear observations around each target date, and the nearest
// clear observation before the first or after the last one.
#include <cstdint>
#include <string>
#include <vector>

#include "data/raster_series.h"

namespace s2::data {

// `steps` days spread evenly from first to last (both included).
std::vector<int32_t> regular_days(int32_t first, int32_t last, int64_t steps);
// The regular dates of a season: from `season_start` to `season_end` (YYYY-MM-DD; empty = the first or
// last acquisition). `context` names the data in errors.
std::vector<int32_t> season_days(const std::vector<Acquisition>& acquisitions,
                                 const std::string& season_start, const std::string& season_end,
                                 int64_t steps, const std::string& context);

// Interpolates one series: observation i at days[i] with value values[i * stride], used when
// clear[i * clear_stride]; writes out[t * out_stride] for every target. Returns the number of clear
// observations (0 leaves `out` untouched: the pixel has no data).
int64_t interpolate_series(const std::vector<int32_t>& days, const float* values, int64_t stride,
                           const uint8_t* clear, int64_t clear_stride, const std::vector<int32_t>& targets,
                           float* out, int64_t out_stride);

struct RegularSeries {
  int64_t steps = 0, bands = 0;
  std::vector<float> values;          // [pixel][step][band]
  std::vector<int64_t> clear_counts;  // per pixel
};

RegularSeries regularise(const RasterSeries& series, const std::vector<int32_t>& targets);

}  // namespace s2::data
