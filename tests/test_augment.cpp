// Time-series augmentation: each transform does what it says on known series.
#include <doctest/doctest.h>

#include <cmath>

#include "data/augment.h"

using namespace s2;

namespace {
Tensor ramp(int64_t steps) {  // one sample, one band: 0, 1, 2, ...
  Tensor x = Tensor::empty({1, 1, steps, 1});
  for (int64_t t = 0; t < steps; ++t) x.data()[t] = static_cast<float>(t);
  return x;
}
}  // namespace

TEST_CASE("temporal shift moves the series and repeats the edge date") {
  Generator g(1);
  bool saw_shift = false;
  for (int trial = 0; trial < 20; ++trial) {
    Tensor x = ramp(8);
    data::augment_batch(x, {.max_shift = 2}, g);
    const float shift = -x.data()[4] + 4.0f;  // interior dates move by exactly the shift
    CHECK(std::abs(shift) <= 2.0f);
    for (int64_t t = 2; t < 6; ++t) CHECK(x.data()[t] == static_cast<float>(t) - shift);
    saw_shift = saw_shift || shift != 0.0f;
  }
  CHECK(saw_shift);
}

TEST_CASE("dropped dates are re-interpolated, so a linear series is unchanged") {
  Generator g(2);
  Tensor x = ramp(10);
  data::augment_batch(x, {.drop_dates = 0.5f}, g);
  for (int64_t t = 0; t < 10; ++t) CHECK(x.data()[t] == doctest::Approx(static_cast<float>(t)));
  Tensor bumpy = Tensor::from_vector({1, 1, 5, 1}, {0, 10, 0, 10, 0});
  Generator always(3);
  data::augment_batch(bumpy, {.drop_dates = 0.999f}, always);  // every interior date dropped
  CHECK(bumpy.to_vector() == std::vector<float>{0, 0, 0, 0, 0});
}

TEST_CASE("band noise has the requested spread") {
  Generator g(4);
  Tensor x = Tensor::zeros({100, 1, 20, 5});
  data::augment_batch(x, {.noise_std = 0.5f}, g);
  double sq = 0;
  for (int64_t i = 0; i < x.numel(); ++i) sq += x.data()[i] * x.data()[i];
  CHECK(std::sqrt(sq / static_cast<double>(x.numel())) == doctest::Approx(0.5).epsilon(0.03));
}

TEST_CASE("a band offset shifts every date of a sample's band alike, with the requested spread") {
  const int64_t n = 2000, steps = 6, bands = 5;
  Tensor x = Tensor::empty({n, 1, steps, bands});
  for (int64_t k = 0; k < x.numel(); ++k) x.data()[k] = static_cast<float>(k % 7) * 0.25f;
  const Tensor before = x.clone();
  Generator g(5);
  data::augment_batch(x, {.band_offset_std = 0.5f}, g);
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t b = 0; b < bands; ++b) {
      const auto at = [&](const Tensor& t, int64_t step) { return t.data()[(i * steps + step) * bands + b]; };
      const double offset = static_cast<double>(at(x, 0)) - static_cast<double>(at(before, 0));
      // The same offset on every date, up to the rounding of each float sum: |fl(v + o) - (v + o)| is at
      // most 2^-24 |v + o|, for date t and for date 0.
      for (int64_t t = 1; t < steps; ++t) {
        const double shift = static_cast<double>(at(x, t)) - static_cast<double>(at(before, t));
        const double bound = 0x1p-24 * (std::abs(at(x, t)) + std::abs(at(x, 0))) * (1 + 0x1p-20);
        CHECK(std::abs(shift - offset) <= bound);
      }
      sq += offset * offset;
    }
  }
  // The root mean square of m Gaussian draws has a relative standard error of 1/sqrt(2m): 5 of them.
  const double m = static_cast<double>(n * bands);
  CHECK(std::sqrt(sq / m) == doctest::Approx(0.5).epsilon(5.0 / std::sqrt(2.0 * m)));
}
