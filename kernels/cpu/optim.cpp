#include "kernels/cpu/optim.h"

#include <cmath>

namespace s2::cpu {

void adam_update(int64_t n, float* param, const float* grad, float* m, float* v, const AdamStep& s) {
  const float bc1 = 1.0f - std::pow(s.beta1, static_cast<float>(s.step));
  const float bc2 = 1.0f - std::pow(s.beta2, static_cast<float>(s.step));
  const float step_size = s.lr / bc1;
  const float inv_sqrt_bc2 = 1.0f / std::sqrt(bc2);
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (s.decoupled) {
      param[i] -= s.lr * s.weight_decay * param[i];
    } else {
      g += s.weight_decay * param[i];
    }
    m[i] = s.beta1 * m[i] + (1.0f - s.beta1) * g;
    v[i] = s.beta2 * v[i] + (1.0f - s.beta2) * g * g;
    param[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + s.eps);
  }
}

void sgd_update(int64_t n, float* param, const float* grad, float* velocity, const SgdStep& s) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + s.weight_decay * param[i];
    float d = g;
    if (s.momentum != 0.0f) {
      velocity[i] = s.first ? g : s.momentum * velocity[i] + g;
      d = s.nesterov ? g + s.momentum * velocity[i] : velocity[i];
    }
    param[i] -= s.lr * d;
  }
}

}  // namespace s2::cpu
