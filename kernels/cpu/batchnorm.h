#pragma once
// Batch normalisation over (N, H, W) per channel, with the residual unit's epilogue fused in: an
// optional residual added after the scale and shift, then an optional ReLU, in one pass over memory.
// The operations and their order are those of BN, add and ReLU as separate ops, so the bits are too.
#include <cstdint>

namespace s2::cpu {

struct BatchNormShape {
  int64_t batch, channels, pixels;  // pixels = H * W
};

// Training: normalises with batch statistics, saves mean and 1/std for backward, and updates the
// running statistics as running = (1 - momentum) * running + momentum * batch.
// residual may be null (none).
void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* residual,
                             const float* gamma, const float* beta, float eps, float momentum,
                             bool unbiased_running_var, bool relu, float* y, float* save_mean,
                             float* save_invstd, float* running_mean, float* running_var);

// Inference: one fused scale-and-shift (plus ReLU) pass with the running statistics.
void batchnorm_forward_infer(const BatchNormShape& s, const float* x, const float* residual,
                             const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, float eps, bool relu, float* y);

// Backward of the training forward. With relu, y is the forward output and masks dy; that masked
// gradient is also the residual's, written to dresidual unless it is null.
void batchnorm_backward(const BatchNormShape& s, const float* x, const float* y, const float* dy,
                        const float* gamma, const float* save_mean, const float* save_invstd, float* dx,
                        float* dresidual, float* dgamma, float* dbeta);

}  // namespace s2::cpu
