#pragma once
// Central finite-difference check of an op's backward. The op's output is reduced to a scalar with
// fixed random weights, so every output element's gradient path is exercised.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "kernels/rounding_bound.h"

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

// h: the finite-difference step. chain: the longest chain of float32 roundings in the op's forward or
// backward for one element (kernels/rounding_bound.h), which sizes the rounding part of the bound.
struct GradcheckOptions {
  float eps = 1e-2f;
  int64_t chain = 64;
};

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks d(sum(op(inputs) * w))/d(input) against central differences for every input listed in
// `check` (all inputs when empty), within a bound derived per element rather than a fixed tolerance:
// - truncation: the central difference D(h) has error c h^2 + O(h^4), so D(h) - D(h/2) = 3/4 c h^2 and
//   |D(h/2) - f'| is about |D(h) - D(h/2)| / 3 (Richardson);
// - rounding: each float32 evaluation of the weighted sum is within gamma(chain) sum |w_k out_k| of the
//   exact one, so D(h/2) is within that over h/2 (two evaluations, divided by 2 (h/2));
// - the analytic gradient itself: within gamma(chain) |g| (plus the same absolute rounding floor).
// The element passes when |analytic - D(h/2)| is within twice the sum (twice: Richardson's estimate is
// itself first-order). Returns the largest error relative to its bound (<= 1 passes).
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
  double magnitude = 0.0;  // sum |w_k out_k|, the size of the terms of the scalar
  for (int64_t k = 0; k < probe.numel(); ++k)
    magnitude += std::fabs(double{probe.data()[k]} * weights.data()[k]);
  const double gamma = float32_gamma(o.chain);
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
      auto central = [&](float h) {
        x.data()[k] = saved + h;
        const double plus = scalar_loss();
        x.data()[k] = saved - h;
        const double minus = scalar_loss();
        x.data()[k] = saved;
        // The step actually taken in float32, not h itself.
        return (plus - minus) / (double{saved + h} - double{saved - h});
      };
      const double coarse = central(o.eps), fine = central(o.eps / 2);
      const double analytic = x.grad().data()[k];
      const double truncation = std::fabs(coarse - fine) / 3.0;
      const double rounding = gamma * magnitude / (o.eps / 2.0);
      const double bound = 2.0 * (truncation + rounding + gamma * std::fabs(analytic)) + 1e-30;
      const double ratio = std::fabs(fine - analytic) / bound;
      if (ratio > 1.0) {
        MESSAGE("input " << i << " element " << k << ": analytic " << analytic << " numeric " << fine
                         << " (bound " << bound << ")");
      }
      worst = std::max(worst, ratio);
    }
  }
  return worst;
}

}  // namespace s2::testing
