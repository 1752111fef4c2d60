// CBAM's two attention blocks as ops: composed from the CPU ops (so their gradients are the
// gradient-checked ones) on the CPU, fused kernels on cuda.
#include "framework/error.h"
#include "framework/ops.h"
#include "framework/ops/cuda_ops.h"

namespace s2 {

Tensor channel_attention_weights(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                                 const Tensor& b2) {
  const int64_t n = x.size(0), c = x.size(1);
  auto mlp = [&](const Tensor& pooled) {
    return linear(relu(linear(pooled.reshape({n, c}), w1, b1)), w2, b2);
  };
  return sigmoid(add(mlp(global_avg_pool2d(x)), mlp(global_max_pool2d(x))));
}

Tensor channel_attention(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                         const Tensor& b2) {
  S2_CHECK(x.defined() && x.ndim() == 4, "channel_attention: input must be (N, C, H, W)");
  const int64_t n = x.size(0), c = x.size(1);
  S2_CHECK(w1.ndim() == 2 && w1.size(1) == c && w2.ndim() == 2 && w2.size(0) == c && w2.size(1) == w1.size(0),
           "channel_attention: weights {} and {} do not fit {} channels", shape_str(w1.shape()),
           shape_str(w2.shape()), c);
  if (x.device() == Device::CUDA) {
    // The fused kernel reads biases; an MLP without them is one with constant zero biases.
    const Tensor z1 = b1.defined() ? b1 : Tensor::zeros({w1.size(0)}, Device::CUDA);
    const Tensor z2 = b2.defined() ? b2 : Tensor::zeros({w2.size(0)}, Device::CUDA);
    return cuda_ops::channel_attention(x, w1, z1, w2, z2);
  }
  return mul(x, channel_attention_weights(x, w1, b1, w2, b2).reshape({n, c, 1, 1}));
}

Tensor spatial_attention_map(const Tensor& x, const Tensor& weight) {
  return sigmoid(conv2d(concat_channels({channel_mean(x), channel_max(x)}), weight, Tensor()));
}

Tensor spatial_attention(const Tensor& x, const Tensor& weight) {
  S2_CHECK(x.defined() && x.ndim() == 4, "spatial_attention: input must be (N, C, H, W)");
  S2_CHECK(
      weight.ndim() == 4 && weight.size(0) == 1 && weight.size(1) == 2 && weight.size(2) == weight.size(3),
      "spatial_attention: weight must be (1, 2, k, k), got {}", shape_str(weight.shape()));
  if (x.device() == Device::CUDA) {
    return cuda_ops::spatial_attention(x, weight);
  }
  return mul(x, spatial_attention_map(x, weight));
}

}  // namespace s2
