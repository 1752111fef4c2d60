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

// Calls fn(row, c, ih, oh, iw_start) for every (patch row, output row) pair of patch rows
// [row0, row1); shared by im2col and col2im.
template <typename Fn>
void for_each_patch_row(const Conv2dGeometry& g, int64_t row0, int64_t row1, Fn&& fn) {
  const int64_t taps = g.kernel_h * g.kernel_w;
  for (int64_t row = row0; row < row1; ++row) {
    const int64_t c = row / taps, i = row % taps / g.kernel_w, j = row % g.kernel_w;
    for (int64_t oh = 0; oh < g.h_out; ++oh) {
      fn(row, c, oh * g.stride_h - g.pad_top + i, oh, j - g.pad_left);
    }
  }
}

// Patch rows a thread unfolds at a time for the weight gradient.
constexpr int64_t kRowsPerBlock = 256;
}  // namespace

void im2col_rows(const Conv2dGeometry& g, const float* x, int64_t row0, int64_t row1, float* col) {
  for_each_patch_row(g, row0, row1, [&](int64_t row, int64_t c, int64_t ih, int64_t oh, int64_t iw0) {
    float* out = col + (row - row0) * g.out_pixels() + oh * g.w_out;
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

void im2col(const Conv2dGeometry& g, const float* x, float* col) {
  im2col_rows(g, x, 0, g.patch_size(), col);
}

void col2im_add(const Conv2dGeometry& g, const float* col, float* x) {
  for_each_patch_row(g, 0, g.patch_size(), [&](int64_t row, int64_t c, int64_t ih, int64_t oh, int64_t iw0) {
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
      if (bias != nullptr) {  // the bias rides in the GEMM's accumulator
        for (int64_t co = 0; co < g.c_out; ++co) {
          std::fill_n(yn + co * p, p, bias[co]);
        }
      }
      gemm(false, false, g.c_out, p, k, w, k, col, p, bias != nullptr, yn, p);
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
        gemm(true, false, k, p, g.c_out, w, k, dyn, p, false, dxn, p);
      } else {
        gemm(true, false, k, p, g.c_out, w, k, dyn, p, false, col, p);
        std::fill_n(dxn, g.c_in * g.in_pixels(), 0.0f);
        col2im_add(g, col, dxn);
      }
    }
  }
}

size_t conv2d_backward_weight_workspace(const Conv2dGeometry& g, int threads) {
  const int64_t rows = g.is_pointwise() ? 0 : std::min(g.patch_size(), kRowsPerBlock);
  return static_cast<size_t>(rows * g.out_pixels()) * static_cast<size_t>(threads);
}

// Threads split the columns of dW (patch rows), never the batch: each element of dW is one GEMM chain
// over the samples in order and their pixels in order, whatever the thread count.
void conv2d_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw, float* dbias,
                            float* workspace) {
  const int64_t k = g.patch_size(), p = g.out_pixels();
  const int threads = omp_get_max_threads();
  const int64_t block = std::min(k, kRowsPerBlock);
#pragma omp parallel num_threads(threads)
  {
    float* col = workspace + static_cast<size_t>(block * p * omp_get_thread_num());
    const auto [begin, end] = thread_range(k);
    for (int64_t n = 0; n < g.batch; ++n) {
      const float* xn = x + n * g.c_in * g.in_pixels();
      const float* dyn = dy + n * g.c_out * p;
      for (int64_t r0 = begin; r0 < end; r0 += block) {
        const int64_t r1 = std::min(end, r0 + block);
        const float* rows = xn + r0 * p;  // pointwise: the input rows are the patch rows
        if (!g.is_pointwise()) {
          im2col_rows(g, xn, r0, r1, col);
          rows = col;
        }
        gemm(false, true, g.c_out, r1 - r0, p, dyn, p, rows, p, n > 0, dw + r0, k);
      }
    }
  }
  if (dbias != nullptr) conv2d_backward_bias(g, dy, dbias);
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
