// CBAM's two attention blocks as ops: composed from the CPU ops (so their gradients are the
// gradient-checked ones) on the CPU, fused kernels on cuda.
#include "framework/error.h"
#include "framework/ops.h"
#include "framework/ops/device_op_util.h"

namespace s2 {

// The CUDA halves: kernels from the selected device backend, backward functions on the device too.
namespace {
namespace cuda {
using namespace device_op;

Tensor channel_attention(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                         const Tensor& b2) {
  require_device({&x, &w1, &b1, &w2, &b2}, "channel_attention");
  const int v = device_kernel_versions().of(VersionedOp::ChannelAttention);
  const int64_t n = x.size(0), c = x.size(1), p = x.size(2) * x.size(3), hidden = w1.size(0);
  Tensor avg = device_empty({n, c}), mx = device_empty({n, c}), att = device_empty({n, c});
  auto argmax = device_ints(static_cast<size_t>(n * c));
  Tensor y = device_empty(x.shape());
  const ChannelMlp mlp{w1.data(), b1.data(), w2.data(), b2.data(), hidden};
  within_kernel_limits([&] {
    k().channel_attention_forward(v, n, c, p, x.data(), mlp,
                                  {avg.data(), mx.data(), argmax->get(), att.data()}, y.data());
  });
  attach_grad_fn(y, {x, w1, b1, w2, b2}, "channel_attention(cuda)",
                 [v, n, c, p, mlp, xs = x.detach(), w1s = w1.detach(), b1s = b1.detach(), w2s = w2.detach(),
                  b2s = b2.detach(), avg, mx, argmax, att](const Tensor& dy) {
                   Tensor dx = device_empty(xs.shape()), dw1 = Tensor::zeros(w1s.shape(), Device::CUDA),
                          db1 = Tensor::zeros(b1s.shape(), Device::CUDA),
                          dw2 = Tensor::zeros(w2s.shape(), Device::CUDA),
                          db2 = Tensor::zeros(b2s.shape(), Device::CUDA);
                   Tensor workspace = device_empty({channel_attention_workspace(n, c)});
                   k().channel_attention_backward(
                       v, n, c, p, xs.data(), dy.data(), mlp, {ptr(avg), ptr(mx), argmax->get(), ptr(att)},
                       dx.data(), {dw1.data(), db1.data(), dw2.data(), db2.data()}, workspace.data());
                   return std::vector<Tensor>{dx, dw1, db1, dw2, db2};
                 });
  return y;
}

Tensor spatial_attention(const Tensor& x, const Tensor& weight) {
  require_device({&x, &weight}, "spatial_attention");
  const int v = device_kernel_versions().of(VersionedOp::SpatialAttention);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), kernel = weight.size(3);
  Tensor pooled = device_empty({n, 2, h, w}), att = device_empty({n, 1, h, w});
  auto argmax = device_ints(static_cast<size_t>(n * h * w));
  Tensor y = device_empty(x.shape());
  within_kernel_limits([&] {
    k().spatial_attention_forward(v, n, c, h, w, kernel, x.data(), weight.data(),
                                  {pooled.data(), argmax->get(), att.data()}, y.data());
  });
  attach_grad_fn(
      y, {x, weight}, "spatial_attention(cuda)",
      [v, n, c, h, w, kernel, xs = x.detach(), ws = weight.detach(), pooled, argmax, att](const Tensor& dy) {
        Tensor dx = device_empty(xs.shape()), dw = Tensor::zeros(ws.shape(), Device::CUDA);
        Tensor workspace = device_empty({spatial_attention_workspace(n, h * w)});
        k().spatial_attention_backward(v, n, c, h, w, kernel, xs.data(), ws.data(), dy.data(),
                                       {ptr(pooled), argmax->get(), ptr(att)}, dx.data(), dw.data(),
                                       workspace.data());
        return std::vector<Tensor>{dx, dw};
      });
  return y;
}

}  // namespace cuda
}  // namespace

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
    return cuda::channel_attention(x, w1, z1, w2, z2);
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
    return cuda::spatial_attention(x, weight);
  }
  return mul(x, spatial_attention_map(x, weight));
}

}  // namespace s2
