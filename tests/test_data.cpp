// Readers and preprocessing: the pixel CSV layout and its bad inputs, resampling, normalisation.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "data/npy.h"
#include "data/splits.h"
#include "data/temporal.h"
#include "data/victoria_csv.h"
#include "framework/atomic_file.h"
#include "framework/error.h"
#include "kernels/rounding_bound.h"
#include "tests/npy_bytes.h"
#include "tests/temp_files.h"

using namespace s2;

using s2::testing::write_temp;

TEST_CASE("the Victoria CSV reads as 400 samples of 73 dates x 10 bands, 50 per class") {
  const auto d = data::read_pixel_csv(S2_SHARED_DATA "/victoria-2017/train.csv");
  CHECK(d.size() == 400);
  CHECK(d.timesteps == 73);
  CHECK(d.bands == 10);
  CHECK(d.class_counts() == std::vector<int64_t>(8, 50));
  CHECK(d.values.size() == 400u * 730u);
}

TEST_CASE("pixel CSV bad inputs name the file, line and column") {
  const std::string header = "lc_id,objectid,b0,b1,b2,b3\n";
  const auto inf = write_temp("inf.csv", header + "0,1,1,2,3,4\n1,2,5,inf,7,8\n");
  CHECK_THROWS_WITH_AS(data::read_pixel_csv(inf, {.bands = 2}),
                       doctest::Contains("inf.csv:3: column 4: value inf is infinite"), Error);
  // NaN and empty fields are gaps (data/gap_filling), not errors.
  const auto nan = write_temp("nan.csv", header + "0,1,1,2,3,4\n1,2,5,nan,7,8\n");
  CHECK(std::isnan(data::read_pixel_csv(nan, {.bands = 2}).values[5]));
  const auto text = write_temp("text.csv", header + "0,1,1,2,x,4\n");
  CHECK_THROWS_WITH_AS(data::read_pixel_csv(text, {.bands = 2}), doctest::Contains("'x' is not a number"),
                       Error);
  const auto short_row = write_temp("short.csv", header + "0,1,1,2,3\n");
  CHECK_THROWS_WITH_AS(data::read_pixel_csv(short_row, {.bands = 2}),
                       doctest::Contains("short.csv:2: 5 columns"), Error);
  const auto missing = write_temp("missing.csv", header + "0,1,1,,3,4\n");
  CHECK(std::isnan(data::read_pixel_csv(missing, {.bands = 2}).values[1]));
  CHECK_THROWS_WITH_AS(data::read_pixel_csv(nan, {.bands = 3}), doctest::Contains("whole number of dates"),
                       Error);
  const auto unknown = write_temp("unknown.csv", header + "5,1,1,2,3,4\n");
  CHECK_THROWS_WITH_AS(data::read_pixel_csv(unknown, {.bands = 2, .class_names = {"a", "b"}}),
                       doctest::Contains("unknown label 5"), Error);
  CHECK_THROWS_WITH_AS(data::read_pixel_csv("/no/such.csv"), doctest::Contains("/no/such.csv"), Error);
  const auto empty = write_temp("empty.csv", header);
  CHECK_THROWS_WITH_AS(data::read_pixel_csv(empty, {.bands = 2}), doctest::Contains("no samples"), Error);
}

TEST_CASE("regular resampling interpolates linearly and keeps the end points") {
  data::PixelDataset d;
  d.timesteps = 3, d.bands = 1, d.values = {0, 10, 40}, d.labels = {0}, d.groups = {0}, d.class_names = {"a"};
  const auto r = data::resample_regular(d, 5);
  CHECK(r.values == std::vector<float>{0, 5, 10, 25, 40});
}

TEST_CASE("band normalisation uses the statistics it was fitted on") {
  data::PixelDataset d;
  d.timesteps = 2, d.bands = 2, d.values = {1, 10, 3, 30}, d.labels = {0}, d.groups = {0},
  d.class_names = {"a"};
  const auto n = data::BandNormaliser::fit(d);
  CHECK(n.mean == std::vector<float>{2, 20});
  CHECK(n.stddev == std::vector<float>{1, 10});
  n.apply(d);
  CHECK(d.values == std::vector<float>{-1, -1, 1, 1});
  const auto back = data::BandNormaliser::from_state(n.state(), "x");
  CHECK(back.mean == n.mean);
}

TEST_CASE("grouped split keeps every group on one side and stratifies") {
  const auto d = data::read_pixel_csv(S2_SHARED_DATA "/victoria-2017/train.csv");
  const auto s = data::grouped_split(d.groups, d.labels, 0.25, 3);
  CHECK(s.train.size() + s.held_out.size() == 400u);
  std::set<int64_t> train_groups;
  for (int64_t i : s.train) train_groups.insert(d.groups[static_cast<size_t>(i)]);
  for (int64_t i : s.held_out) CHECK(train_groups.count(d.groups[static_cast<size_t>(i)]) == 0);
  std::vector<int64_t> held_per_class(8, 0);
  for (int64_t i : s.held_out) ++held_per_class[static_cast<size_t>(d.labels[static_cast<size_t>(i)])];
  for (int64_t c : held_per_class) CHECK(c > 0);
  CHECK(data::grouped_split(d.groups, d.labels, 0.25, 3).held_out == s.held_out);  // deterministic
}

using s2::testing::npy_bytes;

TEST_CASE("npy arrays: values (N, T, B) with labels from .npy or .csv, and their bad inputs") {
  const auto x =
      write_temp("x.npy", npy_bytes<float>("<f4", "(3, 2, 2)", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  const auto y = write_temp("y.npy", npy_bytes<int64_t>("<i8", "(3,)", {1, 0, 1}));
  const auto d = data::read_npy_dataset(x, y, {"a", "b"});
  CHECK(d.size() == 3);
  CHECK(d.timesteps == 2);
  CHECK(d.bands == 2);
  CHECK(d.values[5] == 6.0f);
  CHECK(d.labels == std::vector<int32_t>{1, 0, 1});
  CHECK(d.groups == std::vector<int64_t>{0, 1, 2});
  const auto y_csv = write_temp("y.csv", "label\n1\n1\n0\n");
  const auto g_csv = write_temp("g.csv", "7\n7\n9\n");
  const auto e = data::read_npy_dataset(x, y_csv, {"a", "b"}, g_csv);
  CHECK(e.labels == std::vector<int32_t>{1, 1, 0});
  CHECK(e.groups == std::vector<int64_t>{7, 7, 9});
  const auto u16 = write_temp("u16.npy", npy_bytes<uint16_t>("<u2", "(1, 1, 2)", {7, 65535}));
  CHECK(data::read_npy(u16).values == std::vector<double>{7, 65535});

  const auto negative = write_temp("neg.npy", npy_bytes<float>("<f4", "(-1, 2, 2)", {1, 2, 3, 4}));
  CHECK_THROWS_WITH_AS(
      data::read_npy(negative),
      doctest::Contains("shape (-1, 2, 2) has the dimension '-1', not a non-negative integer"), Error);
  const auto huge = write_temp("huge.npy", npy_bytes<float>("<f4", "(99999999999999999999, 2)", {1, 2}));
  CHECK_THROWS_WITH_AS(data::read_npy(huge), doctest::Contains("not a non-negative integer"), Error);
  const auto truncated = write_temp("trunc.npy", npy_bytes<float>("<f4", "(3, 2, 2)", {1, 2, 3}));
  CHECK_THROWS_WITH_AS(data::read_npy(truncated), doctest::Contains("truncated or padded"), Error);
  const auto nan = write_temp("nan.npy", npy_bytes<float>("<f4", "(1, 1, 2)", {1, std::nanf("")}));
  const auto inf = write_temp("inf.npy", npy_bytes<float>("<f4", "(1, 1, 2)", {1, INFINITY}));
  const auto y1 = write_temp("y1.npy", npy_bytes<int64_t>("<i8", "(1,)", {0}));
  CHECK(std::isnan(data::read_npy_dataset(nan, y1, {"a", "b"}).values[1]));  // a gap
  CHECK_THROWS_WITH_AS(data::read_npy_dataset(inf, y1, {"a", "b"}),
                       doctest::Contains("is infinite in float32"), Error);
  const auto bad_label = write_temp("y9.npy", npy_bytes<int64_t>("<i8", "(3,)", {0, 9, 1}));
  CHECK_THROWS_WITH_AS(data::read_npy_dataset(x, bad_label, {"a", "b"}),
                       doctest::Contains("unknown label 9 of sample 1"), Error);
  const auto flat = write_temp("flat.npy", npy_bytes<float>("<f4", "(4,)", {1, 2, 3, 4}));
  CHECK_THROWS_WITH_AS(data::read_npy_dataset(flat, y, {"a", "b"}),
                       doctest::Contains("must have shape (N, T, B)"), Error);
  CHECK_THROWS_WITH_AS(data::read_npy(y_csv), doctest::Contains("is not a .npy file"), Error);
  CHECK_THROWS_WITH_AS(data::read_npy_dataset(x, write_temp("short.csv", "1\n0\n"), {"a", "b"}),
                       doctest::Contains("has 2 labels for 3 samples"), Error);
}

TEST_CASE("write_npy writes what read_npy (and NumPy) reads back, for 0 to 3 dimensions") {
  const std::vector<std::pair<std::vector<int64_t>, std::vector<float>>> arrays = {
      {{}, {2.5f}},
      {{3}, {1.0f, -2.0f, 1e-30f}},
      {{2, 3}, {1, 2, 3, 4, 5, 6}},
      {{2, 1, 2}, {0.5f, -0.0f, 7.0f, 8.0f}}};
  for (const auto& [shape, values] : arrays) {
    const std::string path = s2::testing::write_temp("array.npy", "");
    data::write_npy(path, shape, values);
    const data::NpyArray back = data::read_npy(path);
    CHECK(back.shape == shape);
    REQUIRE(back.values.size() == values.size());
    for (size_t i = 0; i < values.size(); ++i) CHECK(back.values[i] == values[i]);
    CHECK(std::filesystem::file_size(path) % 64 == (values.size() * 4) % 64);  // the header pads to 64 bytes
  }
  CHECK_THROWS_WITH_AS(data::write_npy(s2::testing::write_temp("bad.npy", ""), {2, 2}, {1.0f}),
                       doctest::Contains("shape holds 4 values, got 1"), Error);
}

TEST_CASE("regular resampling at weights of 1/3 and 2/3, band by band") {
  // 5 dates -> 4: positions 0, 4/3, 8/3 and 4. Two bands, the second the first times -1.
  data::PixelDataset d;
  d.timesteps = 5, d.bands = 2, d.labels = {0}, d.groups = {0}, d.class_names = {"a"};
  d.values = {0, 0, 30, -30, 60, -60, 120, -120, 240, -240};
  const auto r = data::resample_regular(d, 4);
  // (1 - w) a + w b in float32, w itself rounded: within gamma(3) of terms summing to at most 240.
  const double expected[] = {0, 40, 100, 240};
  for (int t = 0; t < 4; ++t) {
    CAPTURE(t);
    CHECK(std::abs(r.values[static_cast<size_t>(2 * t)] - expected[t]) <= float32_gamma(3) * 240.0);
    CHECK(r.values[static_cast<size_t>(2 * t + 1)] == -r.values[static_cast<size_t>(2 * t)]);
  }
}

TEST_CASE(
    "gap filling: weights of 1/4 and 3/4, the nearest clear observation before the first and after the "
    "last") {
  // Days 0..40; only days 10 (value 2) and 30 (value 4) are clear.
  const std::vector<int32_t> days{0, 10, 20, 30, 40};
  const std::vector<float> values{1, 2, 3, 4, 5};
  const std::vector<uint8_t> clear{0, 1, 0, 1, 0};
  const std::vector<int32_t> targets{0, 10, 15, 25, 30, 40};
  std::vector<float> out(targets.size(), -1.0f);
  CHECK(data::interpolate_series(days, values.data(), 1, clear.data(), 1, targets, out.data(), 1) == 2);
  // 2 + 0.25 * 2 and 2 + 0.75 * 2 are exact in float32.
  CHECK(out == std::vector<float>{2, 2, 2.5f, 3.5f, 4, 4});
  // No clear observation: the output is left as it was.
  const std::vector<uint8_t> cloudy(5, 0);
  std::vector<float> untouched(targets.size(), -1.0f);
  CHECK(data::interpolate_series(days, values.data(), 1, cloudy.data(), 1, targets, untouched.data(), 1) ==
        0);
  CHECK(untouched == std::vector<float>(targets.size(), -1.0f));
}

TEST_CASE("day_text and day_yyyymmdd invert parse_day, across a leap day and the epoch") {
  for (const std::string date : {"1970-01-01", "2019-07-13", "2020-02-29", "2020-03-01", "1969-12-31"}) {
    CAPTURE(date);
    const int32_t day = data::parse_day(date, "test");
    CHECK(data::day_text(day) == date);
    CHECK(std::to_string(data::day_yyyymmdd(day)) ==
          date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2));
  }
  CHECK(data::parse_day("2020-03-01", "test") - data::parse_day("2020-02-28", "test") == 2);
}
