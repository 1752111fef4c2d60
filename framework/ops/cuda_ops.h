#pragma once
// The CUDA implementations behind the op definitions in framework/ops.h: each op checks the device of
// its inputs and calls these for Device::CUDA. They enqueue kernels from the selected device backend
// (framework/device.h) and attach backward functions that run on the device too.
#include <cstdint>
#include <vector>

#include "framework/ops.h"

namespace s2::cuda_ops {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g);
Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, const BatchNormOptions& options, bool fuse_relu,
                    const Tensor& residual);
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);
Tensor global_avg_pool2d(const Tensor& x);
Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels,
                             const CrossEntropyOptions& options);
Tensor channel_attention(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                         const Tensor& b2);
Tensor spatial_attention(const Tensor& x, const Tensor& weight);

}  // namespace s2::cuda_ops
