#include "framework/init.h"

#include <cmath>

#include "framework/error.h"

namespace s2::init {

namespace {
std::pair<double, double> fans(const Tensor& w) {
  S2_CHECK(w.ndim() >= 2, "initialiser needs a weight with at least 2 dimensions, got {}",
           shape_str(w.shape()));
  const double receptive = static_cast<double>(w.numel() / (w.size(0) * w.size(1)));
  return {static_cast<double>(w.size(1)) * receptive, static_cast<double>(w.size(0)) * receptive};
}
}  // namespace

void he_normal(Tensor& weight, Generator& generator) {
  // 0.8796 is the std of a unit normal truncated at +-2, so the result has the intended std.
  const double stddev = std::sqrt(2.0 / fans(weight).first) / 0.87962566103423978;
  float* d = weight.data();
  for (int64_t i = 0; i < weight.numel(); ++i) {
    float z = generator.normal();
    while (std::fabs(z) > 2.0f) {
      z = generator.normal();
    }
    d[i] = static_cast<float>(z * stddev);
  }
}

void glorot_uniform(Tensor& weight, Generator& generator) {
  const auto [fan_in, fan_out] = fans(weight);
  const double limit = std::sqrt(6.0 / (fan_in + fan_out));
  float* d = weight.data();
  for (int64_t i = 0; i < weight.numel(); ++i) {
    d[i] = static_cast<float>((2.0 * generator.uniform() - 1.0) * limit);
  }
}

void torch_default(Tensor& weight, Tensor* bias, Generator& generator) {
  const double limit = 1.0 / std::sqrt(fans(weight).first);
  auto fill = [&](Tensor& t) {
    float* d = t.data();
    for (int64_t i = 0; i < t.numel(); ++i) {
      d[i] = static_cast<float>((2.0 * generator.uniform() - 1.0) * limit);
    }
  };
  fill(weight);
  if (bias != nullptr) fill(*bias);
}

void zeros(Tensor& t) {
  t.fill_(0.0f);
}

}  // namespace s2::init
