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
