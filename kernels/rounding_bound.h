#pragma once
// Error bounds of float32 computations, for comparing two implementations of the same op without a
// guessed tolerance (issue #11).
//
// A value computed by a chain of n rounded operations (a dot product of length n, a sum of n terms,
// or n steps of a transform) is within gamma(n) * M of the exact value, where M is the sum of the
// absolute values of the terms and gamma(n) = n u / (1 - n u), u = 2^-24 the unit roundoff of float32
// (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., Lemma 3.1 and eq. 3.5). Two
// implementations that each satisfy this differ by at most 2 gamma(n) M.
#include <cstdint>
#include <stdexcept>

namespace s2 {

constexpr double kFloat32UnitRoundoff = 0x1.0p-24;

inline double float32_gamma(int64_t n) {
  const double nu = static_cast<double>(n) * kFloat32UnitRoundoff;
  if (nu >= 0.5) throw std::invalid_argument("float32_gamma: chain too long for the bound to mean anything");
  return nu / (1.0 - nu);
}

// The bound on |a - b| for two float32 results of the same chain length and term magnitude.
inline double float32_difference_bound(int64_t chain, double magnitude) {
  return 2.0 * float32_gamma(chain) * magnitude;
}

}  // namespace s2
