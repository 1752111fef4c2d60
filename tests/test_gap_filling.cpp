// Pixel tables with gaps (data/gap_filling): the real gaps of the shared wc-geo-multiregion points put
// back and filled again, acquisition dates shared or per sample, samples too rarely seen dropped, and
// the config path (nodata values, dates files) through load_data.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/gap_filling.h"
#include "data/npy.h"
#include "data/temporal.h"
#include "data/victoria_csv.h"
#include "experiments/cli/config.h"
#include "experiments/training/experiment.h"
#include "framework/atomic_file.h"
#include "framework/error.h"
#include "kernels/rounding_bound.h"
#include "tests/temp_files.h"

using namespace s2;

namespace {

const std::string kGeo = S2_SHARED_DATA "/wc-geo-multiregion";

data::PixelDataset table(int64_t n, int64_t t, int64_t b, const std::vector<float>& values) {
  data::PixelDataset d;
  d.timesteps = t, d.bands = b, d.values = values, d.source = "table";
  for (int64_t i = 0; i < n; ++i)
    d.labels.push_back(static_cast<int32_t>(i % 2)), d.groups.push_back(100 + i);
  d.class_names = {"a", "b"};
  return d;
}

}  // namespace

TEST_CASE(
    "the real gaps of the wc-geo-multiregion points, put back, are filled as the data's makers filled them") {
  // x.npy holds values filled by linear interpolation over the monthly steps (and the nearest observed
  // value before the first or after the last), mask.npy where that happened: 6% of the values.
  const data::NpyArray x = data::read_npy(kGeo + "/x.npy"), mask = data::read_npy(kGeo + "/mask.npy");
  REQUIRE(x.shape == std::vector<int64_t>{603, 12, 9});
  REQUIRE(mask.shape == x.shape);
  std::vector<float> with_gaps(x.values.size());
  int64_t gaps = 0;
  for (size_t k = 0; k < x.values.size(); ++k) {
    with_gaps[k] = mask.values[k] != 0 ? static_cast<float>(x.values[k]) : std::nanf("");
    gaps += mask.values[k] == 0;
  }
  data::GapReport r;
  const data::PixelDataset filled = data::fill_gaps(table(603, 12, 9, with_gaps), {}, &r);
  CHECK(r.gaps == gaps);
  CHECK(r.values == static_cast<int64_t>(x.values.size()));
  CHECK(r.dropped == 0);
  REQUIRE(filled.values.size() == x.values.size());
  // A filled value is (1 - w) a + w b of two observed ones: a handful of float32 roundings of terms up to
  // the larger of them (the makers rounded their float64 result to float32 once more).
  int64_t checked = 0;
  for (size_t k = 0; k < x.values.size(); ++k) {
    if (mask.values[k] != 0) {
      CHECK(filled.values[k] == static_cast<float>(x.values[k]));  // observed values stay as they are
      continue;
    }
    const size_t sample = k / 108, band = k % 9;
    double largest = 0;
    for (size_t t = 0; t < 12; ++t)
      largest = std::max(largest, std::fabs(x.values[sample * 108 + t * 9 + band]));
    CHECK(std::fabs(filled.values[k] - x.values[k]) <= float32_gamma(5) * 2 * largest);
    ++checked;
  }
  CHECK(checked == 3932);
}

TEST_CASE("acquisition dates: irregular dates shared or per sample, resampled onto one regular grid") {
  // Values linear in the day: any interpolation between observations reproduces the line exactly.
  const std::vector<int32_t> days{100, 103, 110, 130, 131, 160};
  std::vector<float> v;
  for (int64_t i = 0; i < 2; ++i) {
    for (const int32_t day : days) v.push_back(static_cast<float>(0.5 + 0.01 * day + static_cast<double>(i)));
  }
  v[2] = std::nanf("");  // sample 0, day 110 missing
  const data::PixelDataset d = table(2, 6, 1, v);
  const data::PixelDataset out = data::fill_gaps(d, {.days = days, .steps = 7, .min_clear = 1});
  REQUIRE(out.timesteps == 7);
  const std::vector<int32_t> targets = data::regular_days(100, 160, 7);
  for (int64_t i = 0; i < 2; ++i) {
    for (size_t t = 0; t < targets.size(); ++t) {
      const double want = 0.5 + 0.01 * targets[t] + static_cast<double>(i);
      CHECK(std::fabs(out.values[static_cast<size_t>(i * 7) + t] - want) <= float32_gamma(5) * 2 * 3.1);
    }
  }
  // Per sample: sample 1 seen 30 days later than sample 0; the grid spans both.
  std::vector<int32_t> per_sample(days);
  for (const int32_t day : days) per_sample.push_back(day + 30);
  const data::PixelDataset shifted = data::fill_gaps(d, {.days = per_sample, .steps = 4, .min_clear = 1});
  const std::vector<int32_t> span = data::regular_days(100, 190, 4);
  CHECK(std::fabs(shifted.values[4 + 1] - (0.5 + 0.01 * (span[1] - 30) + 1)) <= float32_gamma(5) * 2 * 3.1);
  CHECK(shifted.values[4 + 3] == v[11]);  // after its last date: the last observation
  CHECK_THROWS_WITH_AS(data::fill_gaps(d, {.days = {1, 2, 3}, .steps = 4, .min_clear = 1}),
                       doctest::Contains("3 acquisition days for 2 samples of 6 dates"), s2::Error);
}

TEST_CASE("a sample with a band seen on too few dates leaves with its label and group") {
  std::vector<float> v(3 * 4 * 2, 1.0f);
  for (size_t t = 0; t < 4; ++t) v[8 + t * 2 + 1] = std::nanf("");  // sample 1, band 2: never seen
  v[16] = std::nanf(""), v[18] = std::nanf("");                     // sample 2, band 1: seen twice
  data::GapReport r;
  const data::PixelDataset out =
      data::fill_gaps(table(3, 4, 2, v), {.days = {}, .steps = 4, .min_clear = 3}, &r);
  CHECK(r.dropped == 2);
  CHECK(out.size() == 1);
  CHECK(out.groups == std::vector<int64_t>{100});
  CHECK(out.labels == std::vector<int32_t>{0});
  const data::PixelDataset lenient =
      data::fill_gaps(table(3, 4, 2, v), {.days = {}, .steps = 4, .min_clear = 2}, &r);
  CHECK(r.dropped == 1);
  CHECK(lenient.groups == std::vector<int64_t>{100, 102});
}

TEST_CASE("tables with nodata values and dates files through the config") {
  // The wc-geo points as uint16 DN with 65535 where the value was not seen, and their months as dates.
  const data::NpyArray x = data::read_npy(kGeo + "/x.npy"), mask = data::read_npy(kGeo + "/mask.npy");
  std::vector<float> dn(x.values.size()), reference(x.values.size());
  for (size_t k = 0; k < dn.size(); ++k) {
    dn[k] = mask.values[k] != 0 ? static_cast<float>(std::round(x.values[k] * 10000)) : 65535.0f;
    reference[k] = mask.values[k] != 0 ? dn[k] : std::nanf("");
  }
  const std::string dir = s2::testing::temp_path("geo");
  std::filesystem::create_directories(dir);
  data::write_npy(dir + "/x.npy", {603, 12, 9}, dn);
  std::filesystem::copy_file(kGeo + "/labels.csv", dir + "/labels.csv",
                             std::filesystem::copy_options::overwrite_existing);
  std::string months;
  for (int m = 0; m < 12; ++m)
    months += fmt::format("{:04}-{:02}-15\n", m == 0 ? 2016 : 2017, m == 0 ? 12 : m);
  s2::write_file_atomic(dir + "/dates.txt", months);
  const auto config = [&](const std::string& extra) {
    return experiments::load_config(s2::testing::write_temp(
        "geo.toml", "[data]\nformat = \"npy\"\nroot = \"" + dir +
                        "\"\ntrain = \"x.npy\"\ntrain_labels = \"labels.csv\"\n" +
                        "classes = [\"maize\", \"sorghum\", \"grass_fodder\", \"trees\"]\n" + extra +
                        "[split]\nkind = \"stratified\"\n"));
  };
  const experiments::LoadedData with_nodata =
      experiments::load_data(config("nodata = 65535\ntrain_dates = \"dates.txt\"\ntimesteps = 12\n"));
  data::PixelDataset direct = table(603, 12, 9, reference);
  std::vector<int32_t> days;
  for (int m = 0; m < 12; ++m)
    days.push_back(
        data::parse_day(fmt::format("{:04}-{:02}-15", m == 0 ? 2016 : 2017, m == 0 ? 12 : m), "test"));
  const data::PixelDataset want = data::fill_gaps(direct, {.days = days, .steps = 12, .min_clear = 1});
  CHECK(with_nodata.train.values == want.values);
  CHECK(with_nodata.train.size() == 603);
  // Without the nodata value, 65535 is a reflectance: nothing is filled.
  const experiments::LoadedData raw = experiments::load_data(config("timesteps = 12\n"));
  CHECK(raw.train.values == dn);
  // A pixel CSV with empty fields and NaN: gaps as well.
  s2::write_file_atomic(dir + "/p.csv", "label,id,a,b,c,d\n0,1,0.5,,0.7,0.8\n1,2,NaN,0.25,0.25,0.25\n");
  const data::PixelDataset csv =
      data::read_pixel_csv(dir + "/p.csv", {.bands = 1, .class_names = {"x", "y"}});
  CHECK(std::isnan(csv.values[1]));
  CHECK(std::isnan(csv.values[4]));
  CHECK(data::fill_gaps(csv, {}).values ==
        std::vector<float>{0.5f, 0.6f, 0.7f, 0.8f, 0.25f, 0.25f, 0.25f, 0.25f});
}

TEST_CASE("values outside [data] valid_range are filled as gaps, in tables and in the config's checks") {
  // The shared wc-geo points hold reflectances above 1 in the 20 m bands of some Flanders dates (a
  // defect of the extraction): with valid_range = [0, 1] they are filled as NaN would be.
  const data::NpyArray x = data::read_npy(kGeo + "/x.npy");
  const std::vector<float> raw(x.values.begin(), x.values.end());  // float32 in the file
  std::vector<float> with_gaps = raw;
  int64_t defects = 0;
  for (float& v : with_gaps) {
    if (v > 1.0f) v = std::nanf(""), ++defects;
  }
  CHECK(defects > 0);
  const auto config = [&](const std::string& extra) {
    return experiments::load_config(s2::testing::write_temp(
        "range.toml",
        "[data]\nformat = \"npy\"\nroot = \"" + kGeo +
            "\"\ntrain = \"x.npy\"\ntrain_labels = \"labels.csv\"\n" +
            "classes = [\"maize\", \"sorghum\", \"grass_fodder\", \"trees\"]\ntimesteps = 12\n" + extra +
            "[split]\nkind = \"stratified\"\n"));
  };
  const experiments::LoadedData cleaned = experiments::load_data(config("valid_range = [0, 1]\n"));
  const data::PixelDataset want =
      data::fill_gaps(table(603, 12, 9, with_gaps), {.days = {}, .steps = 12, .min_clear = 1});
  CHECK(cleaned.train.values == want.values);
  CHECK(*std::max_element(cleaned.train.values.begin(), cleaned.train.values.end()) <= 1.0f);
  // A range that holds every value changes nothing.
  CHECK(experiments::load_data(config("valid_range = [0.0, 6.0]\n")).train.values == raw);
  // A range that excludes every value of a sample's band leaves nothing to fill from: dropped.
  CHECK_THROWS_WITH_AS(experiments::load_data(config("valid_range = [7, 8]\n")),
                       doctest::Contains("no sample has a band seen on 1 dates or more"), Error);
  // Rasters take the same range through their series options (data/raster_series.h).
  const data::SeriesOptions series = experiments::series_options(config("valid_range = [0, 1]\n"));
  CHECK(series.valid_range.lowest == 0.0);
  CHECK(series.valid_range.highest == 1.0);
  CHECK(std::isinf(experiments::series_options(config("")).valid_range.highest));
  CHECK_THROWS_WITH_AS(
      config("valid_range = [1, 0]\n"),
      doctest::Contains("range.toml: [data] valid_range must be [lowest, highest] with lowest "
                        "< highest, got [1, 0]"),
      Error);
  CHECK_THROWS_WITH_AS(config("valid_range = [0]\n"), doctest::Contains("valid_range must be [lowest"),
                       Error);
  CHECK_THROWS_WITH_AS(config("valid_range = [\"a\", \"b\"]\n"),
                       doctest::Contains("[data] valid_range must be an array of numbers"), Error);
}
