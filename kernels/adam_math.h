#pragma once
// One Adam (or AdamW) update of one element, shared by the CPU kernel and the CUDA kernel so that
// both backends apply exactly the same formula.
#include <cmath>

#include "kernels/cpu/optim.h"

#if defined(__CUDACC__)
#define S2_HOST_DEVICE __host__ __device__
#else
#define S2_HOST_DEVICE
#endif

namespace s2 {

// The bias corrections, per step rather than per element.
struct AdamScalars {
  float step_size;     // lr / (1 - beta1^t)
  float inv_sqrt_bc2;  // 1 / sqrt(1 - beta2^t)
};
// beta^step by repeated squaring in double: the same bits everywhere, where std::pow's depend on the
// C library.
inline double integer_power(double base, int64_t n) {
  double result = 1.0;
  for (; n > 0; n >>= 1, base *= base) {
    if (n & 1) result *= base;
  }
  return result;
}
inline AdamScalars adam_scalars(const cpu::AdamStep& s) {
  const auto bc1 = static_cast<float>(1.0 - integer_power(s.beta1, s.step));
  const auto bc2 = static_cast<float>(1.0 - integer_power(s.beta2, s.step));
  return {s.lr / bc1, 1.0f / std::sqrt(bc2)};
}

S2_HOST_DEVICE inline void adam_element(float& param, float grad, float& m, float& v, const cpu::AdamStep& s,
                                        float step_size, float inv_sqrt_bc2) {
  if (s.decoupled) {
    param -= s.lr * s.weight_decay * param;
  } else {
    grad += s.weight_decay * param;
  }
  m = s.beta1 * m + (1.0f - s.beta1) * grad;
  v = s.beta2 * v + (1.0f - s.beta2) * grad * grad;
  param -= step_size * m / (sqrtf(v) * inv_sqrt_bc2 + s.eps);
}

}  // namespace s2
