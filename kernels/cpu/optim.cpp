#include "kernels/cpu/optim.h"

#include <cmath>

#include "kernels/adam_math.h"

namespace s2::cpu {

void adam_update(int64_t n, float* param, const float* grad, float* m, float* v, const AdamStep& s) {
  const AdamScalars k = adam_scalars(s);
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    adam_element(param[i], grad[i], m[i], v[i], s, k.step_size, k.inv_sqrt_bc2);
  }
}

void sgd_update(int64_t n, float* param, const float* grad, float* velocity, const SgdStep& s) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + s.weight_decay * param[i];
    float d = g;
    if (s.momentum != 0.0f) {
      velocity[i] = s.momentum * velocity[i] + g;  // from a zero buffer: the first step's is g, as in PyTorch
      d = s.nesterov ? g + s.momentum * velocity[i] : velocity[i];
    }
    param[i] -= s.lr * d;
  }
}

}  // namespace s2::cpu
