#include "kernels/cpu/pooling.h"

#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/ops/device_op_util.h"
#include "framework/ops/op_util.h"

namespace s2 {

// The CUDA halves: kernels from the selected device backend, backward functions on the device too.
namespace {
namespace cuda {
using namespace device_op;

Tensor global_avg_pool2d(const Tensor& x) {
  const int64_t rows = x.size(0) * x.size(1), pixels = x.size(2) * x.size(3);
  Tensor y = device_empty({x.size(0), x.size(1), 1, 1});
  k().global_avg_pool_forward(rows, pixels, x.data(), y.data());
  attach_grad_fn(y, {x}, "global_avg_pool2d(cuda)", [rows, pixels, shape = x.shape()](const Tensor& dy) {
    Tensor dx = device_empty(shape);
    k().global_avg_pool_backward(rows, pixels, dy.data(), dx.data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace cuda
}  // namespace

Tensor global_avg_pool2d(const Tensor& x) {
  if (x.defined() && x.device() == Device::CUDA && x.ndim() == 4) {
    return cuda::global_avg_pool2d(x);
  }
  detail::check_rank(x, 4, "global_avg_pool2d", "input");
  const int64_t rows = x.size(0) * x.size(1), pixels = x.size(2) * x.size(3);
  Tensor y = Tensor::empty({x.size(0), x.size(1), 1, 1});
  cpu::global_avg_pool_forward(rows, pixels, x.data(), y.data());
  attach_grad_fn(y, {x}, "global_avg_pool2d", [rows, pixels, shape = x.shape()](const Tensor& dy) {
    Tensor dx = Tensor::empty(shape);
    cpu::global_avg_pool_backward(rows, pixels, dy.data(), dx.data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor global_max_pool2d(const Tensor& x) {
  detail::check_rank(x, 4, "global_max_pool2d", "input");
  const int64_t rows = x.size(0) * x.size(1), pixels = x.size(2) * x.size(3);
  Tensor y = Tensor::empty({x.size(0), x.size(1), 1, 1});
  if (!needs_grad({&x})) {  // inference: the maximum alone, no arg-max to record
    cpu::global_max_pool_forward(rows, pixels, x.data(), y.data(), nullptr);
    return y;
  }
  auto argmax = detail::index_buffer(rows);
  cpu::global_max_pool_forward(rows, pixels, x.data(), y.data(), argmax->data());
  attach_grad_fn(y, {x}, "global_max_pool2d", [rows, pixels, argmax, shape = x.shape()](const Tensor& dy) {
    Tensor dx = Tensor::empty(shape);
    cpu::global_max_pool_backward(rows, pixels, dy.data(), argmax->data(), dx.data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor channel_mean(const Tensor& x) {
  detail::check_rank(x, 4, "channel_mean", "input");
  const int64_t n = x.size(0), c = x.size(1), pixels = x.size(2) * x.size(3);
  Tensor y = Tensor::empty({n, 1, x.size(2), x.size(3)});
  cpu::channel_mean_forward(n, c, pixels, x.data(), y.data());
  attach_grad_fn(y, {x}, "channel_mean", [n, c, pixels, shape = x.shape()](const Tensor& dy) {
    Tensor dx = Tensor::empty(shape);
    cpu::channel_mean_backward(n, c, pixels, dy.data(), dx.data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor channel_max(const Tensor& x) {
  detail::check_rank(x, 4, "channel_max", "input");
  const int64_t n = x.size(0), c = x.size(1), pixels = x.size(2) * x.size(3);
  Tensor y = Tensor::empty({n, 1, x.size(2), x.size(3)});
  if (!needs_grad({&x})) {
    cpu::channel_max_forward(n, c, pixels, x.data(), y.data(), nullptr);
    return y;
  }
  auto argmax = detail::index_buffer(n * pixels);
  cpu::channel_max_forward(n, c, pixels, x.data(), y.data(), argmax->data());
  attach_grad_fn(y, {x}, "channel_max", [n, c, pixels, argmax, shape = x.shape()](const Tensor& dy) {
    Tensor dx = Tensor::empty(shape);
    cpu::channel_max_backward(n, c, pixels, dy.data(), argmax->data(), dx.data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace s2
