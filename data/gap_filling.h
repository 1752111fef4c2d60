#pragma once
// Pixel tables with gaps (points sampled from cloudy image series: NaN or a nodata value on the dates
// a point was not seen) onto the model's regular dates, by the raster path's own interpolation
// (data::interpolate_series): linear in time between the clear observations around each target date,
// the nearest clear one before the first or after the last. Each band is filled from its own clear
// values.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace s2::data {

struct GapFilling {
  // Acquisition days (days since 1970-01-01): T shared by every sample, or N x T, one row per sample.
  // Empty: the T observations are evenly spaced.
  std::vector<int32_t> days;
  int64_t steps = 0;      // regular dates to produce; 0 keeps T
  int64_t min_clear = 1;  // a sample with a band seen on fewer dates is dropped
};

struct GapReport {
  int64_t values = 0, gaps = 0;  // values read and those missing (NaN)
  int64_t dropped = 0;           // samples with a band seen on fewer than min_clear dates
};

// `d.values` holds NaN where an observation is missing. The targets are `steps` regular days over the
// span of all samples' days (or steps evenly spaced positions when there are no days), the same for
// every sample, so one model reads them all. Dropped samples leave with their labels, groups and
// coordinates.
PixelDataset fill_gaps(const PixelDataset& d, const GapFilling& options, GapReport* report = nullptr);

// Days of a dates file for a table: one YYYY-MM-DD per line (shared by all samples), or an .npy of
// (N, T) integers YYYYMMDD (per sample). Errors name the file.
std::vector<int32_t> read_table_days(const std::string& path, int64_t samples, int64_t timesteps);

}  // namespace s2::data
