#pragma once
// exp and log written out with a fixed sequence of IEEE operations, so that they give the same bits on
// every x86-64 machine and C library. The C library's versions are chosen at load time from the CPU
// (glibc has FMA and non-FMA variants) and differ between releases; the training path must not use
// them (issue #11's determinism contract). Accuracy: within 2 ulp (tests/test_fixed_math.cpp checks
// it against long double).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace s2::cpu {

namespace fixed_math_detail {
// 2^n for n in [-1022, 1023], exactly, from the bits.
inline double pow2(int64_t n) {
  const uint64_t bits = static_cast<uint64_t>(n + 1023) << 52;
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}
// ln 2 split so that n * kLn2Hi is exact for |n| < 2^11 (fdlibm's constants).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kLog2e = 1.44269504088896338700e+00;
}  // namespace fixed_math_detail

// e^x in double: x = n ln2 + r with |r| <= ln2/2, e^r by its Taylor series to r^13 (truncation below
// 1e-17 relative), then scaled by 2^n in two exact steps so that results near underflow stay right.
inline double exp_f64(double x) {
  using namespace fixed_math_detail;
  if (std::isnan(x)) return x;
  if (x > 709.782712893384) return std::numeric_limits<double>::infinity();
  if (x < -745.2) return 0.0;
  const double n = std::floor(std::fma(x, kLog2e, 0.5));
  const double r = std::fma(-n, kLn2Lo, std::fma(-n, kLn2Hi, x));
  double p = 1.0 / 6227020800.0;  // 1/13!
  constexpr double kInvFactorial[] = {1.0 / 479001600.0,
                                      1.0 / 39916800.0,
                                      1.0 / 3628800.0,
                                      1.0 / 362880.0,
                                      1.0 / 40320.0,
                                      1.0 / 5040.0,
                                      1.0 / 720.0,
                                      1.0 / 120.0,
                                      1.0 / 24.0,
                                      1.0 / 6.0,
                                      0.5,
                                      1.0,
                                      1.0};
  for (const double c : kInvFactorial) p = std::fma(p, r, c);
  const auto k = static_cast<int64_t>(n);
  const int64_t half = k / 2;
  return p * pow2(half) * pow2(k - half);
}

// e^x in float, through the double version (one rounding to float at the end).
inline float exp_f32(float x) {
  return static_cast<float>(exp_f64(static_cast<double>(x)));
}

// ln x in double: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m-1)/(m+1),
// |s| <= 0.172, by its series to s^23 (truncation below 1e-18).
inline double log_f64(double x) {
  using namespace fixed_math_detail;
  if (std::isnan(x) || x < 0.0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0.0) return -std::numeric_limits<double>::infinity();
  if (std::isinf(x)) return x;
  int e = 0;
  double m = std::frexp(x, &e);  // m in [0.5, 1), exact
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double series = 1.0 / 23.0;
  for (int k = 21; k >= 1; k -= 2) series = std::fma(series, s2, 1.0 / k);
  const double log_m = 2.0 * s * series;
  const auto de = static_cast<double>(e);
  return std::fma(de, kLn2Hi, std::fma(de, kLn2Lo, log_m));
}

// cos(pi * p) for p in [0, 1] (cosine learning-rate schedules): -sin(t) with t = pi (p - 1/2) in
// [-pi/2, pi/2], by its Taylor series to t^23 (truncation below 1e-17).
inline double cos_pi_f64(double p) {
  const double t = 3.14159265358979323846 * (p - 0.5), t2 = t * t;
  double series = 1.0 / 25852016738884976640000.0;  // 1/23!
  for (int k = 21; k >= 1; k -= 2) {
    double factorial = 1.0;
    for (int i = 2; i <= k; ++i) factorial *= i;
    series = std::fma(series, -t2, 1.0 / factorial);
  }
  return -t * series;
}

}  // namespace s2::cpu
