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
inline AdamScalars adam_scalars(const cpu::AdamStep& s) {
  const float bc1 = 1.0f - std::pow(s.beta1, static_cast<float>(s.step));
  const float bc2 = 1.0f - std::pow(s.beta2, static_cast<float>(s.step));
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
