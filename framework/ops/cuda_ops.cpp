#include "framework/ops/cuda_ops.h"

#include <memory>

#include "framework/allocator.h"
#include "framework/autograd.h"
#include "framework/device.h"
#include "framework/error.h"

namespace s2::cuda_ops {

namespace {

const DeviceKernels& k() {
  return device_kernels();
}

void require_device(std::initializer_list<const Tensor*> tensors, const char* op) {
  for (const Tensor* t : tensors) {
    S2_CHECK(!t->defined() || t->device() == Device::CUDA,
             "{}: inputs are on different devices ({} and cuda)", op, device_name(t->device()));
  }
}

float* ptr(const Tensor& t) {
  return t.defined() ? const_cast<float*>(t.data()) : nullptr;
}

Tensor device_empty(const Shape& shape) {
  return Tensor::empty(shape, Device::CUDA);
}

// int32 device memory (labels, arg-max indices), freed when the last backward holding it is gone.
// Index buffers (attention arg-max, labels) from the device caching allocator, like tensors: a GPU
// step then allocates nothing after warm-up.
class DeviceInts {
 public:
  explicit DeviceInts(size_t count)
      : bytes_(count * sizeof(int32_t)),
        data_(static_cast<int32_t*>(CachingAllocator::device().allocate(bytes_))) {}
  ~DeviceInts() { CachingAllocator::device().release(data_, bytes_); }
  DeviceInts(const DeviceInts&) = delete;
  DeviceInts& operator=(const DeviceInts&) = delete;
  int32_t* get() const { return data_; }

 private:
  size_t bytes_;
  int32_t* data_;
};

std::shared_ptr<DeviceInts> device_ints(size_t count) {
  return std::make_shared<DeviceInts>(count);
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g) {
  require_device({&x, &weight, &bias}, "conv2d");
  const int v = device_kernel_versions().of(VersionedOp::Conv2d);
  Tensor y = device_empty({g.batch, g.c_out, g.h_out, g.w_out});
  k().conv2d_forward(v, g, x.data(), weight.data(), ptr(bias), y.data(), nullptr);
  attach_grad_fn(y, {x, weight, bias}, "conv2d(cuda)",
                 [g, v, xs = x.detach(), ws = weight.detach(), has_bias = bias.defined(),
                  need_dx = x.requires_grad()](const Tensor& dy) {
                   Tensor dx, dw = device_empty(ws.shape()), db;
                   if (need_dx) {
                     dx = device_empty(xs.shape());
                     k().conv2d_backward_input(v, g, ws.data(), dy.data(), dx.data(), nullptr);
                   }
                   if (has_bias) {
                     db = device_empty({g.c_out});
                   }
                   k().conv2d_backward_weight(v, g, xs.data(), dy.data(), dw.data(), ptr(db), nullptr);
                   return std::vector<Tensor>{dx, dw, db};
                 });
  return y;
}

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, const BatchNormOptions& options, bool fuse_relu,
                    const Tensor& residual) {
  require_device({&x, &gamma, &beta, &running_mean, &running_var, &residual}, "batch_norm2d");
  const int v = device_kernel_versions().of(VersionedOp::BnEpilogue);
  const cpu::BatchNormShape s{x.size(0), x.size(1), x.size(2) * x.size(3)};
  Tensor y = device_empty(x.shape());
  if (!training) {
    S2_CHECK(!needs_grad({&x, &gamma, &beta, &residual}),
             "batch_norm2d: gradients through evaluation-mode batch norm are not implemented on cuda");
    k().bn_epilogue_forward_infer(v, s, x.data(), ptr(residual), gamma.data(), beta.data(),
                                  running_mean.data(), running_var.data(), options.eps, fuse_relu, y.data(),
                                  nullptr);
    return y;
  }
  S2_CHECK(s.batch * s.pixels > 1, "batch_norm2d: training needs more than one value per channel, got {}",
           shape_str(x.shape()));
  Tensor mean = device_empty({s.channels}), invstd = device_empty({s.channels});
  k().bn_epilogue_forward_train(v, s, x.data(), ptr(residual), gamma.data(), beta.data(), options.eps,
                                options.momentum, options.unbiased_running_var, fuse_relu, y.data(),
                                mean.data(), invstd.data(), running_mean.data(), running_var.data(), nullptr);
  attach_grad_fn(y, {x, gamma, beta, residual}, "batch_norm2d(cuda)",
                 [s, v, fuse_relu, xs = x.detach(), gs = gamma.detach(), ys = y.detach(), mean, invstd,
                  has_residual = residual.defined()](const Tensor& dy) {
                   Tensor dx = device_empty(xs.shape()), dg = device_empty({s.channels}),
                          db = device_empty({s.channels}), dr;
                   if (has_residual) {
                     dr = device_empty(xs.shape());
                   }
                   k().bn_epilogue_backward(v, s, xs.data(), ys.data(), dy.data(), gs.data(), mean.data(),
                                            invstd.data(), fuse_relu, dx.data(), ptr(dr), dg.data(),
                                            db.data(), nullptr);
                   return std::vector<Tensor>{dx, dg, db, dr};
                 });
  return y;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  require_device({&x, &weight, &bias}, "linear");
  const int v = device_kernel_versions().of(VersionedOp::Linear);
  const int64_t n = x.size(0), in = x.size(1), out = weight.size(0);
  Tensor y = device_empty({n, out});
  k().linear_forward(v, n, in, out, x.data(), weight.data(), ptr(bias), y.data(), nullptr);
  attach_grad_fn(
      y, {x, weight, bias}, "linear(cuda)",
      [v, n, in, out, xs = x.detach(), ws = weight.detach(), has_bias = bias.defined()](const Tensor& dy) {
        Tensor dx = device_empty({n, in}), dw = device_empty({out, in}), db;
        if (has_bias) {
          db = device_empty({out});
        }
        k().linear_backward(v, n, in, out, xs.data(), ws.data(), dy.data(), dx.data(), dw.data(), ptr(db),
                            nullptr);
        return std::vector<Tensor>{dx, dw, db};
      });
  return y;
}

Tensor global_avg_pool2d(const Tensor& x) {
  const int64_t rows = x.size(0) * x.size(1), pixels = x.size(2) * x.size(3);
  Tensor y = device_empty({x.size(0), x.size(1), 1, 1});
  k().global_avg_pool_forward(rows, pixels, x.data(), y.data(), nullptr);
  attach_grad_fn(y, {x}, "global_avg_pool2d(cuda)", [rows, pixels, shape = x.shape()](const Tensor& dy) {
    Tensor dx = device_empty(shape);
    k().global_avg_pool_backward(rows, pixels, dy.data(), dx.data(), nullptr);
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels,
                             const CrossEntropyOptions& options) {
  S2_CHECK(options.label_smoothing == 0.0f,
           "softmax_cross_entropy: label smoothing is not implemented on cuda");
  const int64_t n = logits.size(0), classes = logits.size(1);
  auto d_labels = device_ints(labels.size());
  k().copy_to_device(d_labels->get(), labels.data(), labels.size() * sizeof(int32_t), nullptr);
  Tensor weights;
  if (!options.class_weights.empty()) {
    weights = Tensor::from_vector({classes}, options.class_weights).to(Device::CUDA);
  }
  Tensor probs = device_empty({n, classes}), loss = device_empty({});
  k().softmax_cross_entropy_forward(n, classes, logits.data(), d_labels->get(), ptr(weights), probs.data(),
                                    loss.data(), nullptr);
  attach_grad_fn(loss, {logits}, "softmax_cross_entropy(cuda)",
                 [n, classes, probs, d_labels, weights](const Tensor& dy) {
                   Tensor dz = device_empty({n, classes});
                   k().softmax_cross_entropy_backward(n, classes, probs.data(), d_labels->get(), ptr(weights),
                                                      dy.item(), dz.data(), nullptr);
                   return std::vector<Tensor>{dz};
                 });
  return loss;
}

Tensor channel_attention(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                         const Tensor& b2) {
  require_device({&x, &w1, &b1, &w2, &b2}, "channel_attention");
  const int v = device_kernel_versions().of(VersionedOp::ChannelAttention);
  const int64_t n = x.size(0), c = x.size(1), p = x.size(2) * x.size(3), hidden = w1.size(0);
  Tensor avg = device_empty({n, c}), mx = device_empty({n, c}), att = device_empty({n, c});
  auto argmax = device_ints(static_cast<size_t>(n * c));
  Tensor y = device_empty(x.shape());
  const ChannelMlp mlp{w1.data(), b1.data(), w2.data(), b2.data(), hidden};
  k().channel_attention_forward(v, n, c, p, x.data(), mlp, {avg.data(), mx.data(), argmax->get(), att.data()},
                                y.data(), nullptr);
  attach_grad_fn(y, {x, w1, b1, w2, b2}, "channel_attention(cuda)",
                 [v, n, c, p, mlp, xs = x.detach(), w1s = w1.detach(), b1s = b1.detach(), w2s = w2.detach(),
                  b2s = b2.detach(), avg, mx, argmax, att](const Tensor& dy) {
                   Tensor dx = device_empty(xs.shape()), dw1 = Tensor::zeros(w1s.shape(), Device::CUDA),
                          db1 = Tensor::zeros(b1s.shape(), Device::CUDA),
                          dw2 = Tensor::zeros(w2s.shape(), Device::CUDA),
                          db2 = Tensor::zeros(b2s.shape(), Device::CUDA);
                   k().channel_attention_backward(v, n, c, p, xs.data(), dy.data(), mlp,
                                                  {ptr(avg), ptr(mx), argmax->get(), ptr(att)}, dx.data(),
                                                  {dw1.data(), db1.data(), dw2.data(), db2.data()}, nullptr);
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
  k().spatial_attention_forward(v, n, c, h, w, kernel, x.data(), weight.data(),
                                {pooled.data(), argmax->get(), att.data()}, y.data(), nullptr);
  attach_grad_fn(
      y, {x, weight}, "spatial_attention(cuda)",
      [v, n, c, h, w, kernel, xs = x.detach(), ws = weight.detach(), pooled, argmax, att](const Tensor& dy) {
        Tensor dx = device_empty(xs.shape()), dw = Tensor::zeros(ws.shape(), Device::CUDA);
        k().spatial_attention_backward(v, n, c, h, w, kernel, xs.data(), ws.data(), dy.data(),
                                       {ptr(pooled), argmax->get(), ptr(att)}, dx.data(), dw.data(), nullptr);
        return std::vector<Tensor>{dx, dw};
      });
  return y;
}

}  // namespace s2::cuda_ops
