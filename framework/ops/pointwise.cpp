#include <algorithm>

#include "framework/autograd.h"
#include "framework/device.h"
#include "framework/ops.h"
#include "framework/ops/op_util.h"
#include "kernels/cpu/elementwise.h"

namespace s2 {

namespace {
Tensor unary(const Tensor& x, const char* name, void (*forward)(const float*, float*, int64_t),
             void (*backward)(const float*, const float*, float*, int64_t)) {
  S2_CHECK(x.defined(), "{}: input is undefined", name);
  detail::require_cpu(x, name);
  Tensor y = Tensor::empty(x.shape());
  forward(x.data(), y.data(), x.numel());
  // Both ReLU and sigmoid differentiate from their output alone.
  attach_grad_fn(y, {x}, name, [ys = y.detach(), backward](const Tensor& dy) {
    Tensor dx = Tensor::empty(ys.shape());
    backward(ys.data(), dy.data(), dx.data(), ys.numel());
    return std::vector<Tensor>{dx};
  });
  return y;
}

// Aligns both shapes to 4-D from the right and gives each operand zero strides where broadcast.
cpu::Broadcast4 plan_broadcast(const Shape& a, const Shape& b, Shape& out_shape) {
  S2_CHECK(a.size() <= 4 && b.size() <= 4, "broadcast supports up to 4 dimensions, got {} and {}",
           shape_str(a), shape_str(b));
  const size_t rank = std::max(a.size(), b.size());
  auto dim_of = [](const Shape& s, size_t i4) {  // i4 indexes the right-aligned 4-D view
    const size_t pad = 4 - s.size();
    return i4 < pad ? int64_t{1} : s[i4 - pad];
  };
  cpu::Broadcast4 plan;
  int64_t stride_a = 1, stride_b = 1;
  for (size_t i = 4; i-- > 0;) {
    const int64_t da = dim_of(a, i), db = dim_of(b, i);
    S2_CHECK(da == db || da == 1 || db == 1, "cannot broadcast shapes {} and {}", shape_str(a), shape_str(b));
    plan.out[i] = std::max(da, db);
    plan.stride_a[i] = da == 1 ? 0 : stride_a;
    plan.stride_b[i] = db == 1 ? 0 : stride_b;
    stride_a *= da;
    stride_b *= db;
  }
  out_shape.assign(plan.out.end() - static_cast<int64_t>(rank), plan.out.end());
  return plan;
}

cpu::Broadcast4 swap_operands(cpu::Broadcast4 plan) {
  std::swap(plan.stride_a, plan.stride_b);
  return plan;
}

// The gradient of a broadcast operand: sum the output gradient over its broadcast dimensions.
Tensor reduce_to(const cpu::Broadcast4& plan_for_target, const Tensor& grad, const Shape& target) {
  if (grad.shape() == target) {
    return grad;
  }
  Tensor out = Tensor::empty(target);
  cpu::sum_to(plan_for_target, grad.data(), out.data(), out.numel());
  return out;
}

Tensor binary(cpu::BinaryOp op, const Tensor& a, const Tensor& b) {
  S2_CHECK(a.defined() && b.defined(), "elementwise op on an undefined tensor");
  detail::require_cpu(a, op == cpu::BinaryOp::Add ? "add" : "mul");
  detail::require_cpu(b, op == cpu::BinaryOp::Add ? "add" : "mul");
  Shape out_shape;
  const cpu::Broadcast4 plan = plan_broadcast(a.shape(), b.shape(), out_shape);
  Tensor y = Tensor::empty(out_shape);
  cpu::binary_broadcast(op, plan, a.data(), b.data(), y.data());
  const Tensor as = a.detach(), bs = b.detach();
  const bool is_mul = op == cpu::BinaryOp::Mul;
  attach_grad_fn(y, {a, b}, is_mul ? "mul" : "add", [plan, as, bs, is_mul](const Tensor& dy) {
    cpu::Broadcast4 dy_plan = plan;  // dy has the output's layout: full strides
    int64_t stride = 1;
    for (size_t i = 4; i-- > 0;) {
      dy_plan.stride_b[i] = stride;
      stride *= plan.out[i];
    }
    auto grad_for = [&](const Tensor& other, const std::array<int64_t, 4>& other_strides) {
      if (!is_mul) {
        return dy;
      }
      cpu::Broadcast4 p = dy_plan;
      p.stride_a = other_strides;
      Tensor g = Tensor::empty(dy.shape());
      cpu::binary_broadcast(cpu::BinaryOp::Mul, p, other.data(), dy.data(), g.data());
      return g;
    };
    const Tensor ga = reduce_to(plan, grad_for(bs, plan.stride_b), as.shape());
    const Tensor gb = reduce_to(swap_operands(plan), grad_for(as, plan.stride_a), bs.shape());
    return std::vector<Tensor>{ga.reshape(as.shape()), gb.reshape(bs.shape())};
  });
  return y;
}
}  // namespace

Tensor relu(const Tensor& x) {
  return unary(x, "relu", cpu::relu_forward, cpu::relu_backward);
}
Tensor sigmoid(const Tensor& x) {
  return unary(x, "sigmoid", cpu::sigmoid_forward, cpu::sigmoid_backward);
}
Tensor add(const Tensor& a, const Tensor& b) {
  return binary(cpu::BinaryOp::Add, a, b);
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary(cpu::BinaryOp::Mul, a, b);
}

Tensor scale(const Tensor& x, float s) {
  S2_CHECK(x.defined(), "scale: input is undefined");
  Tensor y = Tensor::empty(x.shape(), x.device());
  if (x.device() == Device::CUDA) {
    device_kernels().scale(x.numel(), s, x.data(), y.data());
  } else {
    cpu::scale(x.data(), s, y.data(), x.numel());
  }
  attach_grad_fn(y, {x}, "scale", [s](const Tensor& dy) { return std::vector<Tensor>{scale(dy, s)}; });
  return y;
}

Tensor dropout(const Tensor& x, float p, bool training, Generator& generator) {
  S2_CHECK(p >= 0.0f && p < 1.0f, "dropout: probability {} must be in [0, 1)", p);
  if (!training || p == 0.0f) {
    return x;
  }
  detail::require_cpu(x, "dropout");
  Tensor mask = Tensor::empty(x.shape());
  float* m = mask.data();
  for (int64_t i = 0; i < mask.numel(); ++i) {
    m[i] = generator.uniform() >= p ? 1.0f : 0.0f;
  }
  const float scale = 1.0f / (1.0f - p);
  Tensor y = Tensor::empty(x.shape());
  cpu::masked_scale(x.data(), mask.data(), scale, y.data(), x.numel());
  attach_grad_fn(y, {x}, "dropout", [mask, scale](const Tensor& dy) {
    Tensor dx = Tensor::empty(dy.shape());
    cpu::masked_scale(dy.data(), mask.data(), scale, dx.data(), dy.numel());
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor sum(const Tensor& x) {
  detail::require_cpu(x, "sum");
  double s = 0.0;
  const float* d = x.data();
  for (int64_t i = 0; i < x.numel(); ++i) {
    s += d[i];
  }
  Tensor y = Tensor::scalar(static_cast<float>(s));
  attach_grad_fn(y, {x}, "sum", [shape = x.shape()](const Tensor& dy) {
    return std::vector<Tensor>{Tensor::full(shape, dy.item())};
  });
  return y;
}

Tensor mean(const Tensor& x) {
  S2_CHECK(x.numel() > 0, "mean of an empty tensor {}", shape_str(x.shape()));
  return scale(sum(x), 1.0f / static_cast<float>(x.numel()));
}

}  // namespace s2
