#include "data/temporal.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>

#include "framework/error.h"

namespace s2::data {

// Days since 1970-01-01 (here rather than in raster_series.cpp: dates do not need GDAL).
int32_t parse_day(const std::string& date, const std::string& context) {
  int y = 0;
  unsigned m = 0, d = 0;
  const bool shape_ok = date.size() == 10 && date[4] == '-' && date[7] == '-';
  const auto parse = [&](size_t at, size_t len, auto& out) {
    return std::from_chars(date.data() + at, date.data() + at + len, out).ec == std::errc();
  };
  S2_CHECK(shape_ok && parse(0, 4, y) && parse(5, 2, m) && parse(8, 2, d),
           "{}: '{}' is not a date of the form YYYY-MM-DD", context, date);
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  S2_CHECK(ymd.ok(), "{}: '{}' is not a valid calendar date", context, date);
  return static_cast<int32_t>(std::chrono::sys_days{ymd}.time_since_epoch().count());
}

namespace {
std::chrono::year_month_day calendar_date(int32_t day) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{day}}};
}
}  // namespace

std::string day_text(int32_t day) {
  const auto ymd = calendar_date(day);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

int32_t day_yyyymmdd(int32_t day) {
  const auto ymd = calendar_date(day);
  return static_cast<int32_t>(static_cast<int>(ymd.year()) * 10000 +
                              static_cast<int>(static_cast<unsigned>(ymd.month())) * 100 +
                              static_cast<int>(static_cast<unsigned>(ymd.day())));
}

std::vector<int32_t> regular_days(int32_t first, int32_t last, int64_t steps) {
  S2_CHECK(steps >= 2 && last > first,
           "a regular grid needs at least 2 steps over a positive span, got {} steps "
           "from day {} to {}",
           steps, first, last);
  std::vector<int32_t> days;
  for (int64_t t = 0; t < steps; ++t) {
    const double f = static_cast<double>(t) / static_cast<double>(steps - 1);
    days.push_back(first + static_cast<int32_t>(std::lround(f * (last - first))));
  }
  return days;
}

int64_t interpolate_series(const std::vector<int32_t>& days, const float* values, int64_t stride,
                           const uint8_t* clear, int64_t clear_stride, const std::vector<int32_t>& targets,
                           float* out, int64_t out_stride) {
  const auto n = static_cast<int64_t>(days.size());
  int64_t clear_count = 0;
  for (int64_t i = 0; i < n; ++i) clear_count += clear[i * clear_stride] != 0;
  if (clear_count == 0) return 0;
  int64_t prev = -1;  // last clear observation at or before the target
  int64_t next = 0;   // first clear observation after `prev`
  auto advance_next = [&](int64_t from) {
    int64_t i = from;
    while (i < n && clear[i * clear_stride] == 0) ++i;
    return i;
  };
  next = advance_next(0);
  for (size_t t = 0; t < targets.size(); ++t) {
    const int32_t day = targets[t];
    while (next < n && days[static_cast<size_t>(next)] <= day) {
      prev = next;
      next = advance_next(next + 1);
    }
    float v;
    if (prev < 0) {
      v = values[next * stride];  // before the first clear observation
    } else if (next >= n || days[static_cast<size_t>(prev)] == day) {
      v = values[prev * stride];  // after the last one, or exactly on one
    } else {
      const double span = days[static_cast<size_t>(next)] - days[static_cast<size_t>(prev)];
      const auto w = static_cast<float>((day - days[static_cast<size_t>(prev)]) / span);
      v = (1.0f - w) * values[prev * stride] + w * values[next * stride];
    }
    out[static_cast<int64_t>(t) * out_stride] = v;
  }
  return clear_count;
}

RegularSeries regularise(const RasterSeries& series, const std::vector<int32_t>& targets) {
  RegularSeries r;
  r.steps = static_cast<int64_t>(targets.size());
  r.bands = static_cast<int64_t>(series.bands.size());
  const int64_t pixels = series.pixels();
  r.values.assign(static_cast<size_t>(pixels * r.steps * r.bands), 0.0f);
  r.clear_counts.assign(static_cast<size_t>(pixels), 0);
  std::vector<int32_t> days;
  for (const auto& a : series.acquisitions) days.push_back(a.day);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < pixels; ++p) {
    for (int64_t b = 0; b < r.bands; ++b) {
      r.clear_counts[static_cast<size_t>(p)] = interpolate_series(
          days, series.values.data() + b * pixels + p, r.bands * pixels, series.clear.data() + p, pixels,
          targets, r.values.data() + (p * r.steps) * r.bands + b, r.bands);
    }
  }
  return r;
}

std::vector<int32_t> season_days(const std::vector<Acquisition>& acquisitions,
                                 const std::string& season_start, const std::string& season_end,
                                 int64_t steps, const std::string& context) {
  const int32_t first = season_start.empty() ? acquisitions.front().day : parse_day(season_start, context);
  const int32_t last = season_end.empty() ? acquisitions.back().day : parse_day(season_end, context);
  return regular_days(first, last, steps);
}

}  // namespace s2::data
