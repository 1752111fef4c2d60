#pragma once
// Differentiable ops. Each op checks its inputs, runs a kernel for the tensors' device, and records
// how to differentiate itself when an input needs a gradient.
#include <cstdint>
#include <vector>

#include "framework/random.h"
#include "framework/tensor.h"
#include "kernels/conv2d_geometry.h"

namespace s2 {

enum class Padding { Same, Valid };

// How the CPU computes a convolution (kernels/cpu/conv2d_winograd.h for the Winograd tiles):
// - Auto: WinogradF4x2 for 3x3 stride-1 'same' convs with enough channels to amortise the transforms,
//   im2col + GEMM otherwise;
// - Winograd: F(2x2, 3x3) throughout, the smallest error bound;
// - WinogradF4x2: F(4x2, 3x3) for the forward and backward-input where the height suits it (F(2x2)
//   elsewhere), F(2x2) for backward-weight.
enum class ConvAlgorithm { Auto, Im2colGemm, Winograd, WinogradF4x2 };

struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  Padding padding = Padding::Same;  // 'same' pads as Keras does: extra padding goes bottom/right
  ConvAlgorithm algorithm = ConvAlgorithm::Auto;
};
Conv2dGeometry conv2d_geometry(const Shape& x, const Shape& weight, const Conv2dOptions& options);
// x: (N, Cin, H, W), weight: (Cout, Cin, kh, kw), bias: (Cout) or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options = {});

struct BatchNormOptions {
  // Fraction of the batch statistic mixed into the running one (PyTorch's convention; Keras's
  // momentum m corresponds to 1 - m here). The defaults are Keras's, as the paper used Keras.
  float momentum = 0.01f;
  float eps = 1e-3f;
  bool unbiased_running_var = false;  // PyTorch uses the unbiased variance for the running estimate
};
// x: (N, C, H, W). In training, batch statistics normalise and running statistics are updated in
// place. fuse_relu applies ReLU in the same pass.
// With a residual (same shape as x), returns relu?(BN(x) + residual): the residual block's epilogue,
// one fused kernel on cuda.
Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, const BatchNormOptions& options = {},
                    bool fuse_relu = false, const Tensor& residual = Tensor());

Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
// Elementwise with NumPy broadcasting, up to 4 dimensions.
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
// x * s for a constant s, on the CPU or the device (a shard's share of the loss, a mean of shards).
Tensor scale(const Tensor& x, float s);
inline Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
inline Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}

// (N, C, H, W) -> (N, C, 1, 1)
Tensor global_avg_pool2d(const Tensor& x);
Tensor global_max_pool2d(const Tensor& x);
// (N, C, H, W) -> (N, 1, H, W)
Tensor channel_mean(const Tensor& x);
Tensor channel_max(const Tensor& x);
// (N, A, B) -> (N, B, A)
Tensor transpose_last2(const Tensor& x);
// Concatenates (N, Ci, H, W) tensors along channels.
Tensor concat_channels(const std::vector<Tensor>& parts);

// The attention factors alone, composed from the CPU ops: channel weights (N, C) and the spatial map
// (N, 1, H, W). The fused CUDA kernels are checked against these.
Tensor channel_attention_weights(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                                 const Tensor& b2);
Tensor spatial_attention_map(const Tensor& x, const Tensor& weight);
// CBAM's channel attention on x (N, C, H, W): x * sigmoid(MLP(avgpool(x)) + MLP(maxpool(x))) with the
// shared MLP relu(p w1^T + b1) w2^T + b2, w1 (C/r, C), w2 (C, C/r). Fused kernels on cuda.
Tensor channel_attention(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                         const Tensor& b2);
// CBAM's spatial attention: x * sigmoid(conv(concat(mean_c(x), max_c(x)), weight)), weight (1, 2, k, k)
// with 'same' padding and no bias. One fused kernel on cuda.
Tensor spatial_attention(const Tensor& x, const Tensor& weight);

// x: (N, in), weight: (out, in), bias: (out) or undefined -> (N, out)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

struct CrossEntropyOptions {
  std::vector<float> class_weights;  // empty = unweighted
  float label_smoothing = 0.0f;
};
// Mean softmax cross-entropy of logits (N, K) against labels in [0, K).
Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels,
                             const CrossEntropyOptions& options = {});
// Row-wise softmax of (N, K) logits (no gradient; for prediction).
Tensor softmax(const Tensor& logits);

// Inverted dropout: zeroes with probability p and scales the rest by 1 / (1 - p) in training.
Tensor dropout(const Tensor& x, float p, bool training, Generator& generator = global_generator());

// Full reductions to a scalar.
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);

}  // namespace s2
