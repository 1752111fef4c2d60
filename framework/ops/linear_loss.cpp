#include <cmath>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/ops/cuda_ops.h"
#include "framework/ops/op_util.h"
#include "kernels/cpu/fixed_math.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loss.h"

namespace s2 {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  S2_CHECK(x.defined() && weight.defined() && x.ndim() == 2 && weight.ndim() == 2,
           "linear: input and weight must have 2 dimensions");
  const int64_t n = x.size(0), in = x.size(1), out = weight.size(0);
  S2_CHECK(weight.size(1) == in, "linear: input {} does not match weight {} (out, in)", shape_str(x.shape()),
           shape_str(weight.shape()));
  if (bias.defined()) {
    S2_CHECK(bias.shape() == Shape{out}, "linear: bias {} must be ({})", shape_str(bias.shape()), out);
  }
  if (x.device() == Device::CUDA) {
    return cuda_ops::linear(x, weight, bias);
  }
  detail::check_rank(x, 2, "linear", "input");
  detail::check_rank(weight, 2, "linear", "weight");
  Tensor y = Tensor::empty({n, out});
  for (int64_t i = 0; bias.defined() && i < n; ++i) {
    std::copy_n(bias.data(), out, y.data() + i * out);
  }
  cpu::gemm(false, true, n, out, in, x.data(), in, weight.data(), in, bias.defined(), y.data(), out);
  const Tensor xs = x.detach(), ws = weight.detach();
  const bool has_bias = bias.defined();
  attach_grad_fn(y, {x, weight, bias}, "linear", [xs, ws, has_bias, n, in, out](const Tensor& dy) {
    Tensor dx = Tensor::empty({n, in}), dw = Tensor::empty({out, in}), db;
    cpu::gemm(false, false, n, in, out, dy.data(), out, ws.data(), in, false, dx.data(), in);
    cpu::gemm(true, false, out, in, n, dy.data(), out, xs.data(), in, false, dw.data(), in);
    if (has_bias) {
      db = Tensor::zeros({out});
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < out; ++j) {
          db.data()[j] += dy.data()[i * out + j];
        }
      }
    }
    return std::vector<Tensor>{dx, dw, db};
  });
  return y;
}

Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels,
                             const CrossEntropyOptions& options) {
  S2_CHECK(logits.defined() && logits.ndim() == 2, "softmax_cross_entropy: logits must have 2 dimensions");
  const int64_t n = logits.size(0), k = logits.size(1);
  S2_CHECK(static_cast<int64_t>(labels.size()) == n, "softmax_cross_entropy: {} labels for logits {}",
           labels.size(), shape_str(logits.shape()));
  for (int32_t label : labels) {
    S2_CHECK(label >= 0 && label < k, "softmax_cross_entropy: label {} outside [0, {})", label, k);
  }
  S2_CHECK(options.class_weights.empty() || static_cast<int64_t>(options.class_weights.size()) == k,
           "softmax_cross_entropy: {} class weights for {} classes", options.class_weights.size(), k);
  S2_CHECK(options.label_smoothing >= 0.0f && options.label_smoothing < 1.0f,
           "softmax_cross_entropy: label smoothing {} must be in [0, 1)", options.label_smoothing);
  if (logits.device() == Device::CUDA) {
    return cuda_ops::softmax_cross_entropy(logits, labels, options);
  }
  detail::check_rank(logits, 2, "softmax_cross_entropy", "logits");
  cpu::CrossEntropyOptions kernel_options{
      options.class_weights.empty() ? nullptr : options.class_weights.data(), options.label_smoothing};
  Tensor probs = Tensor::empty({n, k});
  const float loss =
      cpu::softmax_cross_entropy_forward(n, k, logits.data(), labels.data(), kernel_options, probs.data());
  Tensor y = Tensor::scalar(loss);
  attach_grad_fn(y, {logits}, "softmax_cross_entropy", [probs, labels, options, n, k](const Tensor& dy) {
    cpu::CrossEntropyOptions o{options.class_weights.empty() ? nullptr : options.class_weights.data(),
                               options.label_smoothing};
    Tensor dz = Tensor::empty({n, k});
    cpu::softmax_cross_entropy_backward(n, k, probs.data(), labels.data(), o, dy.item(), dz.data());
    return std::vector<Tensor>{dz};
  });
  return y;
}

Tensor softmax(const Tensor& logits) {
  detail::check_rank(logits, 2, "softmax", "logits");
  const int64_t n = logits.size(0), k = logits.size(1);
  Tensor p = Tensor::empty({n, k});
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits.data() + i * k;
    float* pi = p.data() + i * k;
    const float zmax = *std::max_element(z, z + k);
    float denom = 0.0f;
    for (int64_t j = 0; j < k; ++j) {
      pi[j] = cpu::exp_f32(z[j] - zmax);
      denom += pi[j];
    }
    for (int64_t j = 0; j < k; ++j) {
      pi[j] /= denom;
    }
  }
  return p;
}

}  // namespace s2
