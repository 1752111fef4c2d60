// Ops that move data without arithmetic: transposes and concatenation.
#include <cstring>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/ops/op_util.h"

namespace s2 {

namespace {
void transpose_batched(int64_t n, int64_t a, int64_t b, const float* src, float* dst) {
#pragma omp parallel for schedule(static) if (n * a * b > 65536)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < a; ++r) {
      for (int64_t c = 0; c < b; ++c) dst[(i * b + c) * a + r] = src[(i * a + r) * b + c];
    }
  }
}
}  // namespace

Tensor transpose_last2(const Tensor& x) {
  detail::check_rank(x, 3, "transpose_last2", "input");
  const int64_t n = x.size(0), a = x.size(1), b = x.size(2);
  Tensor y = Tensor::empty({n, b, a});
  transpose_batched(n, a, b, x.data(), y.data());
  attach_grad_fn(y, {x}, "transpose_last2", [n, a, b](const Tensor& dy) {
    Tensor dx = Tensor::empty({n, a, b});
    transpose_batched(n, b, a, dy.data(), dx.data());
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
             "concat_channels: shapes {} and {} differ outside the channel dimension", shape_str(first),
             shape_str(p.shape()));
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
