#include <cmath>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/ops/device_op_util.h"
#include "framework/ops/op_util.h"
#include "kernels/cpu/fixed_math.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loss.h"

namespace s2 {

// The CUDA halves: kernels from the selected device backend, backward functions on the device too.
namespace {
namespace cuda {
using namespace device_op;

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  require_device({&x, &weight, &bias}, "linear");
  const int v = device_kernel_versions().of(VersionedOp::Linear);
  const int64_t n = x.size(0), in = x.size(1), out = weight.size(0);
  Tensor y = device_empty({n, out});
  k().linear_forward(v, n, in, out, x.data(), weight.data(), ptr(bias), y.data());
  attach_grad_fn(
      y, {x, weight, bias}, "linear(cuda)",
      [v, n, in, out, xs = x.detach(), ws = weight.detach(), has_bias = bias.defined()](const Tensor& dy) {
        Tensor dx = device_empty({n, in}), dw = device_empty({out, in}), db;
        if (has_bias) {
          db = device_empty({out});
        }
        k().linear_backward(v, n, in, out, xs.data(), ws.data(), dy.data(), dx.data(), dw.data(), ptr(db));
        return std::vector<Tensor>{dx, dw, db};
      });
  return y;
}

Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels,
                             const CrossEntropyOptions& options) {
  S2_CHECK(options.label_smoothing == 0.0f,
           "softmax_cross_entropy: label smoothing is not implemented on cuda");
  const int64_t n = logits.size(0), classes = logits.size(1);
  auto d_labels = device_ints(labels.size());
  k().copy_to_device(d_labels->get(), labels.data(), labels.size() * sizeof(int32_t));
  Tensor weights;
  if (!options.class_weights.empty()) {
    weights = Tensor::from_vector({classes}, options.class_weights).to(Device::CUDA);
  }
  Tensor probs = device_empty({n, classes}), loss = device_empty({});
  k().softmax_cross_entropy_forward(n, classes, logits.data(), d_labels->get(), ptr(weights), probs.data(),
                                    loss.data());
  attach_grad_fn(loss, {logits}, "softmax_cross_entropy(cuda)",
                 [n, classes, probs, d_labels, weights](const Tensor& dy) {
                   Tensor dz = device_empty({n, classes});
                   k().softmax_cross_entropy_backward(n, classes, probs.data(), d_labels->get(), ptr(weights),
                                                      dy.item(), dz.data());
                   return std::vector<Tensor>{dz};
                 });
  return loss;
}

}  // namespace cuda
}  // namespace

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
    return cuda::linear(x, weight, bias);
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
    return cuda::softmax_cross_entropy(logits, labels, options);
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
