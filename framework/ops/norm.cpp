#include <cmath>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/ops/device_op_util.h"
#include "framework/ops/op_util.h"
#include "kernels/cpu/batchnorm.h"

namespace s2 {

// The CUDA halves: kernels from the selected device backend, backward functions on the device too.
namespace {
namespace cuda {
using namespace device_op;

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
                                  running_mean.data(), running_var.data(), options.eps, fuse_relu, y.data());
    return y;
  }
  S2_CHECK(s.batch * s.pixels > 1, "batch_norm2d: training needs more than one value per channel, got {}",
           shape_str(x.shape()));
  Tensor mean = device_empty({s.channels}), invstd = device_empty({s.channels});
  k().bn_epilogue_forward_train(v, s, x.data(), ptr(residual), gamma.data(), beta.data(), options.eps,
                                options.momentum, options.unbiased_running_var, fuse_relu, y.data(),
                                mean.data(), invstd.data(), running_mean.data(), running_var.data());
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
                                            db.data());
                   return std::vector<Tensor>{dx, dg, db, dr};
                 });
  return y;
}

}  // namespace cuda
}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, const BatchNormOptions& options, bool fuse_relu,
                    const Tensor& residual) {
  S2_CHECK(x.defined() && x.ndim() == 4, "batch_norm2d: input must have 4 dimensions, got {}",
           x.defined() ? shape_str(x.shape()) : "undefined");
  const int64_t c = x.size(1);
  for (const Tensor* t :
       {&gamma, &beta, static_cast<const Tensor*>(&running_mean), static_cast<const Tensor*>(&running_var)}) {
    S2_CHECK(t->defined() && t->shape() == Shape{c},
             "batch_norm2d: input {} needs per-channel parameters of shape ({}), got {}",
             shape_str(x.shape()), c, t->defined() ? shape_str(t->shape()) : "undefined");
  }
  if (residual.defined()) {
    check_same_shape(x, residual, "batch_norm2d residual");
  }
  if (x.device() == Device::CUDA) {
    return cuda::batch_norm2d(x, gamma, beta, running_mean, running_var, training, options, fuse_relu,
                              residual);
  }
  detail::check_rank(x, 4, "batch_norm2d", "input");
  const cpu::BatchNormShape s{x.size(0), c, x.size(2) * x.size(3)};
  const float* r = residual.defined() ? residual.data() : nullptr;
  const bool has_residual = residual.defined();
  Tensor y = Tensor::empty(x.shape());
  if (!training) {
    cpu::batchnorm_forward_infer(s, x.data(), r, gamma.data(), beta.data(), running_mean.data(),
                                 running_var.data(), options.eps, fuse_relu, y.data());
    // Gradients in eval mode treat the statistics as constants: y = x * scale + shift (+ residual).
    if (needs_grad({&x, &gamma, &beta, &residual})) {
      const Tensor xs = x.detach(), gs = gamma.detach(), ys = y.detach();
      const Tensor mean_s = running_mean.clone(), var_s = running_var.clone();
      const float eps = options.eps;
      attach_grad_fn(y, {x, gamma, beta, residual}, "batch_norm2d(eval)",
                     [s, xs, gs, ys, mean_s, var_s, eps, fuse_relu, has_residual](const Tensor& dy) {
                       Tensor dx = Tensor::empty(xs.shape()), dg = Tensor::zeros({s.channels}),
                              db = Tensor::zeros({s.channels}),
                              dr = has_residual ? Tensor::empty(xs.shape()) : Tensor();
                       for (int64_t n = 0; n < s.batch; ++n) {
                         for (int64_t ch = 0; ch < s.channels; ++ch) {
                           const float invstd = 1.0f / std::sqrt(var_s.data()[ch] + eps);
                           const int64_t base = (n * s.channels + ch) * s.pixels;
                           for (int64_t p = 0; p < s.pixels; ++p) {
                             const int64_t i = base + p;
                             const float g = (!fuse_relu || ys.data()[i] > 0.0f) ? dy.data()[i] : 0.0f;
                             dx.data()[i] = g * gs.data()[ch] * invstd;
                             dg.data()[ch] += g * (xs.data()[i] - mean_s.data()[ch]) * invstd;
                             db.data()[ch] += g;
                             if (has_residual) dr.data()[i] = g;
                           }
                         }
                       }
                       return std::vector<Tensor>{dx, dg, db, dr};
                     });
    }
    return y;
  }
  S2_CHECK(s.batch * s.pixels > 1, "batch_norm2d: training needs more than one value per channel, got {}",
           shape_str(x.shape()));
  Tensor save_mean = Tensor::empty({c}), save_invstd = Tensor::empty({c});
  cpu::batchnorm_forward_train(s, x.data(), r, gamma.data(), beta.data(), options.eps, options.momentum,
                               options.unbiased_running_var, fuse_relu, y.data(), save_mean.data(),
                               save_invstd.data(), running_mean.data(), running_var.data());
  const Tensor xs = x.detach(), gs = gamma.detach();
  const Tensor ys = fuse_relu ? y.detach() : Tensor();
  attach_grad_fn(y, {x, gamma, beta, residual}, "batch_norm2d",
                 [s, xs, gs, ys, save_mean, save_invstd, has_residual](const Tensor& dy) {
                   Tensor dx = Tensor::empty(xs.shape()), dg = Tensor::empty({s.channels}),
                          db = Tensor::empty({s.channels}),
                          dr = has_residual ? Tensor::empty(xs.shape()) : Tensor();
                   cpu::batchnorm_backward(s, xs.data(), ys.defined() ? ys.data() : nullptr, dy.data(),
                                           gs.data(), save_mean.data(), save_invstd.data(), dx.data(),
                                           dr.defined() ? dr.data() : nullptr, dg.data(), db.data());
                   return std::vector<Tensor>{dx, dg, db, dr};
                 });
  return y;
}

}  // namespace s2
