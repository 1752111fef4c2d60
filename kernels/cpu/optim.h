#pragma once
// Parameter update kernels.
#include <cstdint>

namespace s2::cpu {

struct AdamStep {
  float lr, beta1, beta2, eps, weight_decay;
  bool decoupled;  // AdamW: decay the weights directly instead of adding to the gradient
  int64_t step;    // 1-based, for bias correction
};
void adam_update(int64_t n, float* param, const float* grad, float* m, float* v, const AdamStep& s);

struct SgdStep {
  float lr, momentum, weight_decay;
  bool nesterov;
};
void sgd_update(int64_t n, float* param, const float* grad, float* velocity, const SgdStep& s);

}  // namespace s2::cpu
