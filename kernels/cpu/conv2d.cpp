#include "kernels/cpu/conv2d.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace s2::cpu {

namespace {
size_t col_floats(const Conv2dGeometry& g) {
  return g.is_pointwise() ? 0 : static_cast<size_t>(g.patch_size() * g.out_pixels());
}

// Calls fn(row, ih, iw_start) for every (patch row, output row) pair; shared by im2col and col2im.
template <typename Fn>
void for_each_patch_row(const Conv2dGeometry& g, Fn&& fn) {
  for (int64_t c = 0; c < g.c_in; ++c) {
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const int64_t row = (c * g.kernel_h + i) * g.kernel_w + j;
        for (int64_t oh = 0; oh < g.h_out; ++oh) {
          fn(row, c, oh * g.stride_h - g.pad_top + i, oh, j - g.pad_left);
        }
      }
    }
  }
}
}  // namespace

void im2col(const Conv2dGeometry& g, const float* x, float* col) {
  for_each_patch_row(g, [&](int64_t row, int64_t c, int64_t ih, int64_t oh, int64_t iw0) {
    float* out = col + row * g.out_pixels() + oh * g.w_out;
    if (ih < 0 || ih >= g.h_in) {
      std::fill_n(out, g.w_out, 0.0f);
      return;
    }
    const float* in = x + (c * g.h_in + ih) * g.w_in;
    if (g.stride_w == 1) {  // the common case: one contiguous run between zero borders
      const int64_t lo = std::clamp<int64_t>(-iw0, 0, g.w_out);
      const int64_t hi = std::clamp<int64_t>(g.w_in - iw0, lo, g.w_out);
      std::fill_n(out, lo, 0.0f);
      std::copy(in + iw0 + lo, in + iw0 + hi, out + lo);
      std::fill(out + hi, out + g.w_out, 0.0f);
      return;
    }
    for (int64_t ow = 0; ow < g.w_out; ++ow) {
      const int64_t iw = iw0 + ow * g.stride_w;
      out[ow] = (iw >= 0 && iw < g.w_in) ? in[iw] : 0.0f;
    }
  });
}

void col2im_add(const Conv2dGeometry& g, const float* col, float* x) {
  for_each_patch_row(g, [&](int64_t row, int64_t c, int64_t ih, int64_t oh, int64_t iw0) {
    if (ih < 0 || ih >= g.h_in) {
      return;
    }
    const float* in = col + row * g.out_pixels() + oh * g.w_out;
    float* out = x + (c * g.h_in + ih) * g.w_in;
    for (int64_t ow = 0; ow < g.w_out; ++ow) {
      const int64_t iw = iw0 + ow * g.stride_w;
      if (iw >= 0 && iw < g.w_in) {
        out[iw] += in[ow];
      }
    }
  });
}

size_t conv2d_forward_workspace(const Conv2dGeometry& g, int threads) {
  return col_floats(g) * static_cast<size_t>(threads);
}

void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias, float* y,
                    float* workspace) {
  const int64_t k = g.patch_size(), p = g.out_pixels();
#pragma omp parallel
  {
    float* col = workspace + col_floats(g) * static_cast<size_t>(omp_get_thread_num());
    const auto [begin, end] = thread_range(g.batch);
    for (int64_t n = begin; n < end; ++n) {
      const float* xn = x + n * g.c_in * g.in_pixels();
      float* yn = y + n * g.c_out * p;
      if (g.is_pointwise()) {
        col = const_cast<float*>(xn);  // the input already is the column matrix
      } else {
        im2col(g, xn, col);
      }
      float beta = 0.0f;
      if (bias != nullptr) {  // the bias rides in the GEMM's accumulator
        for (int64_t co = 0; co < g.c_out; ++co) {
          std::fill_n(yn + co * p, p, bias[co]);
        }
        beta = 1.0f;
      }
      gemm(false, false, g.c_out, p, k, 1.0f, w, k, col, p, beta, yn, p);
    }
  }
}

size_t conv2d_backward_input_workspace(const Conv2dGeometry& g, int threads) {
  return static_cast<size_t>(g.patch_size() * g.out_pixels()) * static_cast<size_t>(threads);
}

void conv2d_backward_input(const Conv2dGeometry& g, const float* w, const float* dy, float* dx,
                           float* workspace) {
  const int64_t k = g.patch_size(), p = g.out_pixels();
#pragma omp parallel
  {
    float* col = workspace + static_cast<size_t>(k * p * omp_get_thread_num());
    const auto [begin, end] = thread_range(g.batch);
    for (int64_t n = begin; n < end; ++n) {
      const float* dyn = dy + n * g.c_out * p;
      float* dxn = dx + n * g.c_in * g.in_pixels();
      if (g.is_pointwise()) {
        gemm(true, false, k, p, g.c_out, 1.0f, w, k, dyn, p, 0.0f, dxn, p);
      } else {
        gemm(true, false, k, p, g.c_out, 1.0f, w, k, dyn, p, 0.0f, col, p);
        std::fill_n(dxn, g.c_in * g.in_pixels(), 0.0f);
        col2im_add(g, col, dxn);
      }
    }
  }
}

size_t conv2d_backward_weight_workspace(const Conv2dGeometry& g, int threads) {
  const size_t partial = static_cast<size_t>(g.c_out * (g.patch_size() + 1));
  return (col_floats(g) + partial) * static_cast<size_t>(threads);
}

void conv2d_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw, float* dbias,
                            float* workspace) {
  const int64_t k = g.patch_size(), p = g.out_pixels();
  const int64_t partial_size = g.c_out * (k + 1);  // dw then dbias, per thread
  const int threads = omp_get_max_threads();
  float* partials = workspace + col_floats(g) * static_cast<size_t>(threads);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int team = omp_get_num_threads();  // may be fewer than requested
    float* col = workspace + col_floats(g) * static_cast<size_t>(t);
    float* my_dw = partials + partial_size * t;
    float* my_db = my_dw + g.c_out * k;
    std::fill_n(my_dw, partial_size, 0.0f);
    const auto [begin, end] = thread_range(g.batch);
    for (int64_t n = begin; n < end; ++n) {
      const float* xn = x + n * g.c_in * g.in_pixels();
      const float* dyn = dy + n * g.c_out * p;
      if (g.is_pointwise()) {
        col = const_cast<float*>(xn);
      } else {
        im2col(g, xn, col);
      }
      gemm(false, true, g.c_out, k, p, 1.0f, dyn, p, col, p, 1.0f, my_dw, k);
      for (int64_t co = 0; co < g.c_out; ++co) {
        float s = 0.0f;
        for (int64_t i = 0; i < p; ++i) {
          s += dyn[co * p + i];
        }
        my_db[co] += s;
      }
    }
#pragma omp barrier
    // Sum the per-thread partials in thread order: deterministic for a given thread count.
    const auto [lo, hi] = thread_range(partial_size);
    for (int64_t i = lo; i < hi; ++i) {
      float s = 0.0f;
      for (int u = 0; u < team; ++u) {
        s += partials[partial_size * u + i];
      }
      if (i < g.c_out * k) {
        dw[i] = s;
      } else if (dbias != nullptr) {
        dbias[i - g.c_out * k] = s;
      }
    }
  }
}

void conv2d_backward_bias(const Conv2dGeometry& g, const float* dy, float* dbias) {
  const int64_t p = g.out_pixels();
#pragma omp parallel for schedule(static)
  for (int64_t co = 0; co < g.c_out; ++co) {
    double s = 0.0;
    for (int64_t n = 0; n < g.batch; ++n) {
      const float* row = dy + (n * g.c_out + co) * p;
      for (int64_t i = 0; i < p; ++i) s += row[i];
    }
    dbias[co] = static_cast<float>(s);
  }
}

}  // namespace s2::cpu
