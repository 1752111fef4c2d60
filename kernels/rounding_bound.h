#pragma once
// Error bounds of float32 computations, for comparing two implementations of the same op without a
// guessed tolerance (issue #11).
//
// A value computed by a chain of n rounded operations (a dot product of length n, a sum of n terms,
// or n steps of a transform) is within gamma(n) * M of the exact value, where M is the sum of the
// absolute values of the terms and gamma(n) = n u / (1 - n u), u = 2^-24 the unit roundoff of float32
// (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., Lemma 3.1 and eq. 3.5). Two
// implementations that each satisfy this differ by at most 2 gamma(n) M.
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace s2 {

constexpr double kFloat32UnitRoundoff = 0x1.0p-24;
constexpr double kTf32UnitRoundoff = 0x1.0p-11;  // 10 explicit mantissa bits
constexpr double kBf16UnitRoundoff = 0x1.0p-8;   // 7 explicit mantissa bits

inline double float32_gamma(int64_t n) {
  const double nu = static_cast<double>(n) * kFloat32UnitRoundoff;
  if (nu >= 0.5) throw std::invalid_argument("float32_gamma: chain too long for the bound to mean anything");
  return nu / (1.0 - nu);
}

// The probabilistic counterpart (Higham and Mary, "A new approach to probabilistic rounding error
// analysis", SIAM J. Sci. Comput. 2019, theorem 2.4): with rounding errors independent and of mean zero,
// a chain of n float32 roundings is within lambda sqrt(n) u (to first order) of exact with probability at
// least 1 - 2 n exp(-lambda^2 / 2 (1 - u)^2). For comparisons that the worst-case gamma(n), loose by
// sqrt(n), would let slip, with lambda chosen so that the failure probability is negligible.
inline double float32_probabilistic_gamma(int64_t n, double lambda) {
  const double nd = static_cast<double>(n), u = kFloat32UnitRoundoff;
  return std::expm1(lambda * std::sqrt(nd) * u + nd * u * u / (1.0 - u));
}

// The bound on |a - b| for two float32 results of the same chain length and term magnitude.
inline double float32_difference_bound(int64_t chain, double magnitude) {
  return 2.0 * float32_gamma(chain) * magnitude;
}

// Tensor-core kernels (TF32 or BF16 inputs, FP32 accumulation) against a float32 reference. Each input is
// rounded to nearest with unit roundoff `input_u` (TF32 2^-11, BF16 2^-8), so a product of two is within
// (2 input_u + input_u^2) of exact, and the products are exact in FP32. The tensor cores' additions are
// not documented to round to nearest: they may truncate (Fasi et al., "Numerical behavior of NVIDIA
// tensor cores", PeerJ CS 2021), an error of up to 2u each, so their chain is bounded by gamma(n) at
// twice the roundoff, 2 gamma(n) to first order, and the reference's by gamma(n):
//   |a - b| <= (2 input_u + input_u^2) M + 3 gamma(n) M.
inline double reduced_precision_difference_bound(int64_t chain, double magnitude, double input_u) {
  return (2.0 * input_u + input_u * input_u) * magnitude + 3.0 * float32_gamma(chain) * magnitude;
}

}  // namespace s2
