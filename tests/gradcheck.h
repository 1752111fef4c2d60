#pragma once
// Central finite-difference check of an op's backward. The op's output is reduced to a scalar with
// fixed random weights, so every output element's gradient path is exercised.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "framework/autograd.h"
#include "framework/ops.h"

namespace s2::testing {

inline Tensor random_tensor(const Shape& shape, Generator& g, float scale = 1.0f) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    t.data()[i] = g.normal() * scale;
  }
  return t;
}

// Values spread apart and away from zero, so max and ReLU kinks stay outside +-eps.
inline Tensor distinct_tensor(const Shape& shape, Generator& g) {
  Tensor t = Tensor::empty(shape);
  const int64_t n = t.numel();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    order[static_cast<size_t>(i)] = i;
  }
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[static_cast<size_t>(i)], order[g.below(static_cast<uint64_t>(i + 1))]);
  }
  for (int64_t i = 0; i < n; ++i) {
    t.data()[i] = (static_cast<float>(order[static_cast<size_t>(i)]) - static_cast<float>(n) / 2.0f + 0.5f) *
                  (2.0f / static_cast<float>(n));
  }
  return t;
}

struct GradcheckOptions {
  float eps = 1e-2f;
  float atol = 2e-3f;
  float rtol = 2e-2f;
};

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks d(sum(op(inputs) * w))/d(input) against central differences for every input listed in
// `check` (all inputs when empty). Returns the largest error relative to the tolerance (<= 1 passes).
inline double gradcheck(const OpFn& op, std::vector<Tensor> inputs, GradcheckOptions o = {},
                        std::vector<size_t> check = {}) {
  if (check.empty()) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      check.push_back(i);
    }
  }
  for (size_t i : check) {
    inputs[i].set_requires_grad(true);
    inputs[i].zero_grad();
  }
  Generator g(1234);
  const Tensor probe = op(inputs);
  const Tensor weights = random_tensor(probe.shape(), g);
  auto scalar_loss = [&] {
    NoGradGuard no_grad;
    const Tensor out = op(inputs);
    double s = 0.0;
    for (int64_t k = 0; k < out.numel(); ++k) {
      s += static_cast<double>(out.data()[k]) * weights.data()[k];
    }
    return s;
  };
  sum(mul(op(inputs), weights)).backward();
  double worst = 0.0;
  for (size_t i : check) {
    Tensor x = inputs[i];
    REQUIRE_MESSAGE(x.grad().defined(), "input " << i << " got no gradient");
    for (int64_t k = 0; k < x.numel(); ++k) {
      const float saved = x.data()[k];
      x.data()[k] = saved + o.eps;
      const double plus = scalar_loss();
      x.data()[k] = saved - o.eps;
      const double minus = scalar_loss();
      x.data()[k] = saved;
      const double numeric = (plus - minus) / (2.0 * o.eps);
      const double analytic = x.grad().data()[k];
      const double ratio = std::fabs(numeric - analytic) / (o.atol + o.rtol * std::fabs(numeric));
      if (ratio > 1.0) {
        MESSAGE("input " << i << " element " << k << ": analytic " << analytic << " numeric " << numeric);
      }
      worst = std::max(worst, ratio);
    }
  }
  return worst;
}

}  // namespace s2::testing
