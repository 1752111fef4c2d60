#include <cstring>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/ops/op_util.h"
#include "kernels/cpu/pooling.h"

namespace s2 {

Tensor global_avg_pool2d(const Tensor& x) {
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
  auto argmax = detail::index_buffer(rows);
  cpu::global_max_pool_forward(rows, pixels, x.data(), y.data(), argmax->data());
  attach_grad_fn(y, {x}, "global_max_pool2d",
                 [rows, pixels, argmax, shape = x.shape()](const Tensor& dy) {
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
  auto argmax = detail::index_buffer(n * pixels);
  cpu::channel_max_forward(n, c, pixels, x.data(), y.data(), argmax->data());
  attach_grad_fn(y, {x}, "channel_max", [n, c, pixels, argmax, shape = x.shape()](const Tensor& dy) {
    Tensor dx = Tensor::empty(shape);
    cpu::channel_max_backward(n, c, pixels, dy.data(), argmax->data(), dx.data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor concat_channels(const std::vector<Tensor>& parts) {
  S2_CHECK(!parts.empty(), "concat_channels: no inputs");
  const Shape& first = parts.front().shape();
  int64_t channels = 0;
  for (const Tensor& p : parts) {
    detail::check_rank(p, 4, "concat_channels", "input");
    S2_CHECK(p.size(0) == first[0] && p.size(2) == first[2] && p.size(3) == first[3],
             "concat_channels: shapes {} and {} differ outside the channel dimension",
             shape_str(first), shape_str(p.shape()));
    channels += p.size(1);
  }
  const int64_t n = first[0], pixels = first[2] * first[3];
  Tensor y = Tensor::empty({n, channels, first[2], first[3]});
  // Copies each part's channel block per sample; `forward` picks the direction of the copy.
  auto copy_blocks = [n, pixels, channels](const std::vector<Tensor>& ps, float* whole, bool forward) {
    int64_t offset = 0;
    for (const Tensor& p : ps) {
      const int64_t block = p.size(1) * pixels;
      for (int64_t i = 0; i < n; ++i) {
        float* w = whole + (i * channels + offset) * pixels;
        float* part = const_cast<float*>(p.data()) + i * block;
        std::memcpy(forward ? w : part, forward ? part : w, static_cast<size_t>(block) * sizeof(float));
      }
      offset += p.size(1);
    }
  };
  copy_blocks(parts, y.data(), true);
  std::vector<Shape> shapes;
  for (const Tensor& p : parts) {
    shapes.push_back(p.shape());
  }
  attach_grad_fn(y, parts, "concat_channels", [shapes, copy_blocks](const Tensor& dy) {
    std::vector<Tensor> grads;
    for (const Shape& s : shapes) {
      grads.push_back(Tensor::empty(s));
    }
    copy_blocks(grads, const_cast<float*>(dy.data()), false);
    return grads;
  });
  return y;
}

}  // namespace s2
