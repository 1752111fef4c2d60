#include "data/gap_filling.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "data/npy.h"
#include "data/temporal.h"
#include "framework/error.h"

namespace s2::data {

PixelDataset fill_gaps(const PixelDataset& d, const GapFilling& o, GapReport* report) {
  const int64_t n = d.size(), t_in = d.timesteps, bands = d.bands;
  const int64_t steps = o.steps > 0 ? o.steps : t_in;
  const bool per_sample =
      static_cast<int64_t>(o.days.size()) != t_in && static_cast<int64_t>(o.days.size()) == n * t_in;
  S2_CHECK(o.days.empty() || static_cast<int64_t>(o.days.size()) == t_in || per_sample,
           "'{}': {} acquisition days for {} samples of {} dates", d.source, o.days.size(), n, t_in);
  S2_CHECK(steps >= 2 || (steps == 1 && t_in == 1), "'{}': resampling needs at least 2 dates, got {}",
           d.source, steps);
  // Days and targets. Without dates, observation i sits at i (steps - 1) and target t at t (T - 1): the
  // evenly spaced positions in whole numbers, so the interpolation weights are exact quotients.
  std::vector<int32_t> targets;
  if (o.days.empty()) {
    for (int64_t t = 0; t < steps; ++t) targets.push_back(static_cast<int32_t>(t * (t_in - 1)));
  } else {
    const auto [lo, hi] = std::minmax_element(o.days.begin(), o.days.end());
    targets = regular_days(*lo, *hi, steps);
  }
  const auto days_of = [&](int64_t i) {
    std::vector<int32_t> days(static_cast<size_t>(t_in));
    for (int64_t t = 0; t < t_in; ++t) {
      days[static_cast<size_t>(t)] = o.days.empty() ? static_cast<int32_t>(t * (steps - 1))
                                     : per_sample   ? o.days[static_cast<size_t>(i * t_in + t)]
                                                    : o.days[static_cast<size_t>(t)];
    }
    return days;
  };
  PixelDataset out = d;
  out.timesteps = steps;
  out.values.clear();
  out.labels.clear(), out.groups.clear(), out.xs.clear(), out.ys.clear(), out.lats.clear(), out.lons.clear();
  GapReport r;
  std::vector<uint8_t> clear(static_cast<size_t>(t_in * bands));
  std::vector<float> filled(static_cast<size_t>(steps * bands));
  for (int64_t i = 0; i < n; ++i) {
    const float* v = d.sample(i);
    for (size_t k = 0; k < clear.size(); ++k) {
      clear[k] = std::isnan(v[k]) ? 0 : 1;
      r.gaps += clear[k] == 0;
    }
    r.values += static_cast<int64_t>(clear.size());
    const std::vector<int32_t> days = days_of(i);
    S2_CHECK(std::is_sorted(days.begin(), days.end()),
             "'{}': the acquisition days of sample {} are not in order", d.source, i);
    int64_t fewest = std::numeric_limits<int64_t>::max();
    for (int64_t b = 0; b < bands; ++b) {
      fewest = std::min(fewest, interpolate_series(days, v + b, bands, clear.data() + b, bands, targets,
                                                   filled.data() + b, bands));
    }
    if (fewest < std::max<int64_t>(o.min_clear, 1)) {
      ++r.dropped;
      continue;
    }
    out.values.insert(out.values.end(), filled.begin(), filled.end());
    out.append_sample_info(d, i);
  }
  if (report != nullptr) *report = r;
  return out;
}

std::vector<int32_t> read_table_days(const std::string& path, int64_t samples, int64_t timesteps) {
  std::vector<int32_t> days;
  if (path.ends_with(".npy")) {
    const NpyArray a = read_npy(path);
    S2_CHECK(a.shape == std::vector<int64_t>({samples, timesteps}),
             "'{}' must hold ({}, {}) dates as YYYYMMDD, one row per sample, has shape ({})", path, samples,
             timesteps, fmt::join(a.shape, ", "));
    for (size_t k = 0; k < a.values.size(); ++k) {
      const auto v = static_cast<int64_t>(a.values[k]);
      S2_CHECK(static_cast<double>(v) == a.values[k] && v >= 10000101 && v <= 99991231,
               "'{}': value {} of sample {} is not a date YYYYMMDD", path, a.values[k],
               k / static_cast<size_t>(timesteps));
      days.push_back(parse_day(fmt::format("{:04}-{:02}-{:02}", v / 10000, v / 100 % 100, v % 100),
                               fmt::format("'{}' (sample {})", path, k / static_cast<size_t>(timesteps))));
    }
    return days;
  }
  std::ifstream in(path);
  S2_CHECK(in.good(), "cannot open the dates file '{}'", path);
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    days.push_back(parse_day(line, fmt::format("{}:{}", path, line_no)));
    S2_CHECK(days.size() < 2 || days.back() > days[days.size() - 2],
             "{}:{}: date {} does not follow the one before", path, line_no, line);
  }
  S2_CHECK(static_cast<int64_t>(days.size()) == timesteps, "'{}' lists {} dates for data of {} dates", path,
           days.size(), timesteps);
  return days;
}

}  // namespace s2::data
