#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/fixed_math.h"

namespace s2::cpu {

void add_same_shape(const float* a, const float* b, float* out, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    out[i] = a[i] + b[i];
  }
}

void scale(const float* a, float s, float* out, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    out[i] = a[i] * s;
  }
}

void relu_forward(const float* x, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
  }
}

void relu_backward(const float* y, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
  }
}

void sigmoid_forward(const float* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    y[i] = 1.0f / (1.0f + exp_f32(-x[i]));
  }
}

void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    dx[i] = dy[i] * y[i] * (1.0f - y[i]);
  }
}

void masked_scale(const float* x, const float* mask, float scale, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    y[i] = x[i] * mask[i] * scale;
  }
}

namespace {
// One row of a broadcast: contiguous or broadcast operands get their own loops, which vectorise.
template <typename Op>
inline void broadcast_row(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n,
                          Op op) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = op(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = op(a[i * sa], b[i * sb]);
  }
}

template <typename Op>
void broadcast_loop(const Broadcast4& plan, const float* a, const float* b, float* out, Op op) {
  // Rows as long as the layouts allow: the last two dimensions merge when both operands step through
  // them as one (a plane times a per-channel scalar is one row of H x W, not H rows of W). Every element
  // still takes the same single operation, so the bits do not change.
  Broadcast4 p = plan;
  const auto merges = [&](const std::array<int64_t, 4>& st) { return st[2] == p.out[3] * st[3]; };
  if (merges(p.stride_a) && merges(p.stride_b)) {
    p.out[3] *= p.out[2];
    p.out[2] = 1;
  }
  const auto& d = p.out;
#pragma omp parallel for collapse(2) schedule(static) if (d[0] * d[1] * d[2] * d[3] > 65536)
  for (int64_t i0 = 0; i0 < d[0]; ++i0) {
    for (int64_t i1 = 0; i1 < d[1]; ++i1) {
      for (int64_t i2 = 0; i2 < d[2]; ++i2) {
        const float* ar = a + i0 * p.stride_a[0] + i1 * p.stride_a[1] + i2 * p.stride_a[2];
        const float* br = b + i0 * p.stride_b[0] + i1 * p.stride_b[1] + i2 * p.stride_b[2];
        float* o = out + ((i0 * d[1] + i1) * d[2] + i2) * d[3];
        broadcast_row(ar, p.stride_a[3], br, p.stride_b[3], o, d[3], op);
      }
    }
  }
}
}  // namespace

void binary_broadcast(BinaryOp op, const Broadcast4& plan, const float* a, const float* b, float* out) {
  if (op == BinaryOp::Add) {
    broadcast_loop(plan, a, b, out, [](float x, float y) { return x + y; });
  } else {
    broadcast_loop(plan, a, b, out, [](float x, float y) { return x * y; });
  }
}

void sum_to(const Broadcast4& p, const float* src, float* dst, int64_t dst_numel) {
  std::fill_n(dst, dst_numel, 0.0f);
  const auto& d = p.out;
  // Serial: destinations alias across broadcast dimensions, and the order stays deterministic.
  for (int64_t i0 = 0; i0 < d[0]; ++i0) {
    for (int64_t i1 = 0; i1 < d[1]; ++i1) {
      for (int64_t i2 = 0; i2 < d[2]; ++i2) {
        float* dr = dst + i0 * p.stride_a[0] + i1 * p.stride_a[1] + i2 * p.stride_a[2];
        const float* s = src + ((i0 * d[1] + i1) * d[2] + i2) * d[3];
        const int64_t sd = p.stride_a[3];
        if (sd == 0) {
          float acc = 0.0f;
          for (int64_t i3 = 0; i3 < d[3]; ++i3) {
            acc += s[i3];
          }
          dr[0] += acc;
        } else {
          for (int64_t i3 = 0; i3 < d[3]; ++i3) {
            dr[i3 * sd] += s[i3];
          }
        }
      }
    }
  }
}

}  // namespace s2::cpu
