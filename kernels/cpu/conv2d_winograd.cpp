#include "kernels/cpu/conv2d_winograd.h"

#include <omp.h>

#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/lanes.h"
#include "kernels/cpu/parallel.h"

namespace s2::cpu {

namespace {
// ---- The 1-D transforms of F(m, 3), m = 2 or 4 outputs from n = m + 2 points, for T = float (one
// tile) or Lanes (the same tile of kLanes samples, lanes.h). Lanes arithmetic is element-wise IEEE single
// precision, the very operations of the float version, so a sample's result has the same bits either
// way. Multiplications by powers of two are exact; every other operation is one rounding, which the
// tests' error bounds count.
// r[i][j] -> r[j][i] for 8 rows of 8 floats: samples to lanes and back. Moves data only.
inline void transpose8(Lanes (&r)[8]) {
  Lanes t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = __builtin_shufflevector(u[j], u[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    r[j + 4] = __builtin_shufflevector(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// v = B^T d. F(2,3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. F(4,3), points 0, 1, -1, 2, -2:
// B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
template <int M, typename T>
inline void input_1d(const T* d, T* v) {
  if constexpr (M == 2) {
    v[0] = d[0] - d[2];
    v[1] = d[1] + d[2];
    v[2] = d[2] - d[1];
    v[3] = d[1] - d[3];
  } else {
    const T d42 = d[4] - d[2], d31 = d[3] - d[1];
    v[0] = 4.0f * (d[0] - d[2]) + d42;
    v[1] = (d[3] + d[4]) - 4.0f * (d[1] + d[2]);
    v[2] = (d[4] - d[3]) + 4.0f * (d[1] - d[2]);
    v[3] = d42 + 2.0f * d31;
    v[4] = d42 - 2.0f * d31;
    v[5] = 4.0f * (d[1] - d[3]) + (d[5] - d[3]);
  }
}

// u = G w. F(2,3): G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]. F(4,3): G = [1/4 0 0; -1/6 -1/6 -1/6;
// -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1], dividing so that each sixth is one rounding.
template <int M, typename T>
inline void filter_1d(const T* w, T* u) {
  if constexpr (M == 2) {
    u[0] = w[0];
    u[1] = 0.5f * (w[0] + w[1] + w[2]);
    u[2] = 0.5f * (w[0] - w[1] + w[2]);
    u[3] = w[2];
  } else {
    u[0] = 0.25f * w[0];
    u[1] = -((w[0] + w[1]) + w[2]) / 6.0f;
    u[2] = -((w[0] - w[1]) + w[2]) / 6.0f;
    u[3] = ((w[0] + 2.0f * w[1]) + 4.0f * w[2]) / 24.0f;
    u[4] = ((w[0] - 2.0f * w[1]) + 4.0f * w[2]) / 24.0f;
    u[5] = w[2];
  }
}

// y = A^T m. F(2,3): A^T = [1 1 1 0; 0 1 -1 -1]. F(4,3): A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0;
// 0 1 1 4 4 0; 0 1 -1 8 -8 1].
template <int M, typename T>
inline void output_1d(const T* m, T* y) {
  if constexpr (M == 2) {
    y[0] = m[0] + m[1] + m[2];
    y[1] = m[1] - m[2] - m[3];
  } else {
    const T a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], d = m[3] - m[4];
    y[0] = (m[0] + a) + c;
    y[1] = b + 2.0f * d;
    y[2] = a + 4.0f * c;
    y[3] = (b + 8.0f * d) + m[5];
  }
}

// z = A g, the output gradient's transform (A is A^T above, transposed), and dw = G^T du, the filter
// gradient's: backward-weight's, F(2,3) only (its dU sums over every tile of the batch, and F(4,3)'s
// larger transforms would widen that long sum's error bound).
template <int M, typename T>
inline void output_grad_1d(const T* g, T* z) {
  static_assert(M == 2);
  z[0] = g[0];
  z[1] = g[0] + g[1];
  z[2] = g[0] - g[1];
  z[3] = -g[1];
}
template <int M, typename T>
inline void filter_grad_1d(const T* du, T* dw) {
  static_assert(M == 2);
  dw[0] = du[0] + 0.5f * (du[1] + du[2]);
  dw[1] = 0.5f * (du[1] - du[2]);
  dw[2] = 0.5f * (du[1] + du[2]) + du[3];
}

// out = L in R^T for an IH x IW tile: Column applies L down each column first, then Row applies R
// across each row. Kept in registers: a buffer between the passes costs a store-forwarding stall per
// tile, more than the arithmetic.
template <typename T, int IH, int IW, int OH, int OW, void Column(const T*, T*), void Row(const T*, T*)>
inline void transform_2d(const T (&in)[IH][IW], T (&out)[OH][OW]) {
  T t[OH][IW];
  for (int j = 0; j < IW; ++j) {
    T column[IH], result[OH];
    for (int i = 0; i < IH; ++i) column[i] = in[i][j];
    Column(column, result);
    for (int i = 0; i < OH; ++i) t[i][j] = result[i];
  }
  for (int i = 0; i < OH; ++i) Row(t[i], out[i]);
}

// One channel c of samples [n0, n0 + ns) of an NCHW tensor (planes of `rows` x `width`), kLanes planes
// interleaved, sample fastest: dst[((row0 + r) * dst_w + col0 + w) * kLanes + s] = plane s [r][w] for
// rows r in [r0, r1). Eight columns of the eight samples go at a time, transposed; where the width is
// not a multiple of 8, the last block overlaps the one before it (writing the same values twice).
struct NchwTensor {
  const float* data;
  int64_t channels, rows, width;
};
void interleave(const NchwTensor& t, int64_t n0, int64_t ns, int64_t c, int64_t r0, int64_t r1, float* dst,
                int64_t dst_w, int64_t row0, int64_t col0) {
  static constexpr float kZeros[kLanes] = {};
  const int64_t width = t.width;
  const float* src[kLanes] = {};
  for (int64_t s = 0; s < ns; ++s) src[s] = t.data + ((n0 + s) * t.channels + c) * t.rows * width;
  for (int64_t r = r0; r < r1; ++r) {
    float* row = dst + ((row0 + r) * dst_w + col0) * kLanes;
    if (width < kLanes) {
      for (int64_t s = 0; s < ns; ++s) {
        for (int64_t w = 0; w < width; ++w) row[w * kLanes + s] = src[s][r * width + w];
      }
      continue;
    }
    for (int64_t w0 = 0; w0 < width; w0 += kLanes) {
      const int64_t w = std::min(w0, width - kLanes);
      Lanes block[kLanes];
      for (int64_t s = 0; s < kLanes; ++s) block[s] = load_lanes(s < ns ? src[s] + r * width + w : kZeros);
      transpose8(block);
      for (int64_t j = 0; j < kLanes; ++j) store_lanes(row + (w + j) * kLanes, block[j]);
    }
  }
}

// ---- Every pass by F(MH x 2, 3x3) on kLanes samples side by side: the forward, backward-input (the
// forward of dy) and backward-weight (MH = 2). The columns of V, M and Z are (tile, sample) pairs,
// sample fastest, so that each tile's transforms are vector operations over the samples with
// contiguous loads and stores. In the forward, column order changes no bits: every element of a GEMM
// product is the same chain over k, whatever the columns around it; backward-weight sums over the
// columns in this fixed order.
constexpr int64_t kChunkColumns = 360;  // the GEMMs' width, about

template <int MH>
struct LaneTiles {
  static constexpr int NH = MH + 2, kPoints = NH * 4;

  const Conv2dGeometry& g;
  int64_t th = (g.h_out + MH - 1) / MH, tw = (g.w_out + 1) / 2, tiles = th * tw;
  int64_t tiles_per_pass = std::clamp<int64_t>(kChunkColumns / kLanes, 1, tiles);
  int64_t width = kLanes * tiles_per_pass;  // columns of V and M
  int64_t padded_h = MH * th + 2, padded_w = 2 * tw + 2;

  // The planes of V and M are padded apart by a cache line: unpadded, their distance is often a
  // multiple of 4 KiB, and the streams of a tile transform then fight over the same cache sets.
  int64_t plane(int64_t channels) const { return channels * width + 16; }

  // Per thread: V and M for one pass, and one channel of kLanes samples, zero-bordered and
  // interleaved (element (row, col) of sample s at [(row * padded_w + col) * kLanes + s]).
  int64_t per_thread_floats() const {
    return kPoints * (plane(g.c_in) + plane(g.c_out)) + padded_h * padded_w * kLanes;
  }

  template <typename T>
  static void filter(const T (&w)[3][3], T (&u)[NH][4]) {
    transform_2d<T, 3, 3, NH, 4, filter_1d<MH, T>, filter_1d<2, T>>(w, u);
  }

  // For tiles [t0, t0 + nt) of one interleaved channel (row stride buf_w): the IH x IW patch at the
  // tile's corner, transformed to NH x 4 points, point xi to dst[xi * stride + (t - t0) * kLanes].
  template <int IH, int IW, void Column(const Lanes*, Lanes*), void Row(const Lanes*, Lanes*)>
  void transform_tiles(const float* buf, int64_t buf_w, int64_t t0, int64_t nt, float* dst,
                       int64_t stride) const {
    for (int64_t t = t0; t < t0 + nt; ++t) {
      const float* corner = buf + (MH * (t / tw) * buf_w + 2 * (t % tw)) * kLanes;
      Lanes patch[IH][IW], out[NH][4];
      for (int i = 0; i < IH; ++i) {
        for (int j = 0; j < IW; ++j) patch[i][j] = load_lanes(corner + (i * buf_w + j) * kLanes);
      }
      transform_2d<Lanes, IH, IW, NH, 4, Column, Row>(patch, out);
      for (int i = 0; i < NH; ++i) {
        for (int j = 0; j < 4; ++j) store_lanes(dst + (i * 4 + j) * stride + (t - t0) * kLanes, out[i][j]);
      }
    }
  }

  // V[xi][c][(t - t0) * kLanes + s] for tiles [t0, t0 + nt) of samples [n0, n0 + ns), every channel.
  void transform_input(const float* x, int64_t n0, int64_t ns, int64_t t0, int64_t nt, float* v,
                       float* interleaved) const {
    const int64_t stride = plane(g.c_in);
    // The input rows the pass's tiles read: padded rows [MH a0, MH a1 + NH), less the border.
    const int64_t a0 = t0 / tw, a1 = (t0 + nt - 1) / tw;
    const int64_t h0 = std::max<int64_t>(MH * a0 - 1, 0), h1 = std::min<int64_t>(MH * a1 + NH - 1, g.h_in);
    for (int64_t c = 0; c < g.c_in; ++c) {
      interleave({x, g.c_in, g.h_in, g.w_in}, n0, ns, c, h0, h1, interleaved, padded_w, 1, 1);
      transform_tiles<NH, 4, input_1d<MH, Lanes>, input_1d<2, Lanes>>(interleaved, padded_w, t0, nt,
                                                                      v + c * width, stride);
    }
  }

  // y = A^T M A + bias for tiles [t0, t0 + nt) of samples [n0, n0 + ns), dropping the outputs of
  // tiles that hang over the border.
  void transform_output(const float* m, const float* bias, int64_t n0, int64_t ns, int64_t t0, int64_t nt,
                        float* y) const {
    const int64_t stride = plane(g.c_out);
    for (int64_t k = 0; k < g.c_out; ++k) {
      const float b0 = bias != nullptr ? bias[k] : 0.0f;
      const float* mk = m + k * width;
      for (int64_t t = t0; t < t0 + nt; ++t) {
        Lanes in[NH][4], out[MH][2];
        for (int i = 0; i < NH; ++i) {
          for (int j = 0; j < 4; ++j) in[i][j] = load_lanes(mk + (i * 4 + j) * stride + (t - t0) * kLanes);
        }
        transform_2d<Lanes, NH, 4, MH, 2, output_1d<MH, Lanes>, output_1d<2, Lanes>>(in, out);
        const int64_t h = MH * (t / tw), w = 2 * (t % tw);
        const int64_t rows = std::min<int64_t>(MH, g.h_out - h), cols = std::min<int64_t>(2, g.w_out - w);
        if constexpr (MH * 2 == kLanes) {
          if (rows == MH && cols == 2) {  // a whole tile: its 8 outputs to each sample, transposed
            Lanes by_sample[kLanes];
            for (int p = 0; p < kLanes; ++p) by_sample[p] = out[p / 2][p % 2] + b0;
            transpose8(by_sample);
            for (int64_t s = 0; s < ns; ++s) {
              float* yk = y + ((n0 + s) * g.c_out + k) * g.out_pixels() + h * g.w_out + w;
              for (int i = 0; i < MH; ++i) {
                yk[i * g.w_out] = by_sample[s][2 * i];
                yk[i * g.w_out + 1] = by_sample[s][2 * i + 1];
              }
            }
            continue;
          }
        }
        for (int64_t s = 0; s < ns; ++s) {
          float* yk = y + ((n0 + s) * g.c_out + k) * g.out_pixels() + h * g.w_out + w;
          for (int64_t i = 0; i < rows; ++i) {
            for (int64_t j = 0; j < cols; ++j) yk[i * g.w_out + j] = out[i][j][s] + b0;
          }
        }
      }
    }
  }

  void run(const float* x, const float* u, const float* bias, float* y, float* workspace) const {
    const auto per_thread = static_cast<size_t>(per_thread_floats());
#pragma omp parallel
    {
      float* v = workspace + per_thread * static_cast<size_t>(omp_get_thread_num());
      float* m = v + kPoints * plane(g.c_in);
      float* interleaved = m + kPoints * plane(g.c_out);
      const auto [begin, end] = thread_range(g.batch);
      for (int64_t n0 = begin; n0 < end; n0 += kLanes) {
        const int64_t ns = std::min(kLanes, end - n0);
        // The border, and the lanes of absent samples, are zeros.
        if (n0 == begin || ns < kLanes) std::fill_n(interleaved, padded_h * padded_w * kLanes, 0.0f);
        for (int64_t t0 = 0; t0 < tiles; t0 += tiles_per_pass) {
          const int64_t nt = std::min(tiles_per_pass, tiles - t0);
          transform_input(x, n0, ns, t0, nt, v, interleaved);
          // M[xi] = U[xi] (c_out x c_in) * V[xi] (c_in x columns), one GEMM per transformed point.
          for (int64_t xi = 0; xi < kPoints; ++xi) {
            gemm(false, false, g.c_out, nt * kLanes, g.c_in, u + xi * g.c_out * g.c_in, g.c_in,
                 v + xi * plane(g.c_in), width, false, m + xi * plane(g.c_out), width);
          }
          transform_output(m, bias, n0, ns, t0, nt, y);
        }
      }
    }
  }

  // ---- Backward-weight. dy's tiles, interleaved like x's (element (row, col) of sample s at
  // [(row * grad_w + col) * kLanes + s]), zero where the tiles hang over the border.
  int64_t grad_h = MH * th, grad_w = 2 * tw;

  // Per thread: V, Z, and one channel of x and of dy, each of kLanes samples, interleaved.
  int64_t weight_per_thread_floats() const {
    return per_thread_floats() + grad_h * grad_w * kLanes;
  }

  // Z[xi][k][(t - t0) * kLanes + s] = A dy A^T for tiles [t0, t0 + nt) of samples [n0, n0 + ns).
  void transform_output_grad(const float* dy, int64_t n0, int64_t ns, int64_t t0, int64_t nt, float* z,
                             float* interleaved) const {
    const int64_t stride = plane(g.c_out);
    const int64_t h0 = MH * (t0 / tw), h1 = std::min<int64_t>(MH * ((t0 + nt - 1) / tw + 1), g.h_out);
    for (int64_t k = 0; k < g.c_out; ++k) {
      interleave({dy, g.c_out, g.h_out, g.w_out}, n0, ns, k, h0, h1, interleaved, grad_w, 0, 0);
      transform_tiles<MH, 2, output_grad_1d<MH, Lanes>, output_grad_1d<2, Lanes>>(interleaved, grad_w, t0, nt,
                                                                                  z + k * width, stride);
    }
  }

  // dw = G^T dU G with dU = sum over the batch's tiles of Z (.) V. The batch's chunks of kLanes samples
  // go in at most kGroups fixed groups of consecutive chunks, set by the batch size alone; each group's
  // dU is one GEMM chain over its chunks' columns, and the groups' dU are summed in group order.
  // Threads only decide who computes which group, so any thread count gives the same bits.
  static constexpr int64_t kGroups = 4;

  size_t weight_workspace(int threads) const {
    return static_cast<size_t>(weight_per_thread_floats()) * static_cast<size_t>(threads) +
           static_cast<size_t>(kGroups * kPoints * g.c_out * g.c_in);
  }

  void backward_weight(const float* x, const float* dy, float* dw, float* workspace) const {
    const int64_t chunks = (g.batch + kLanes - 1) / kLanes, groups = std::min(kGroups, chunks);
    const int64_t kernels = g.c_out * g.c_in, du_size = kPoints * kernels;
    const auto per_thread = static_cast<size_t>(weight_per_thread_floats());
    const int threads = omp_get_max_threads();
    float* partials = workspace + per_thread * static_cast<size_t>(threads);  // dU[group][xi][k][c]
#pragma omp parallel num_threads(threads)
    {
      float* v = workspace + per_thread * static_cast<size_t>(omp_get_thread_num());
      float* z = v + kPoints * plane(g.c_in);
      float* x_lanes = z + kPoints * plane(g.c_out);
      float* dy_lanes = x_lanes + padded_h * padded_w * kLanes;
#pragma omp for schedule(static)
      for (int64_t group = 0; group < groups; ++group) {
        float* du = partials + du_size * group;
        const int64_t first_chunk = chunks * group / groups;
        for (int64_t chunk = first_chunk; chunk < chunks * (group + 1) / groups; ++chunk) {
          const int64_t n0 = chunk * kLanes, ns = std::min(kLanes, g.batch - n0);
          // Borders, overhangs and the lanes of absent samples are zeros.
          std::fill_n(x_lanes, (padded_h * padded_w + grad_h * grad_w) * kLanes, 0.0f);
          for (int64_t t0 = 0; t0 < tiles; t0 += tiles_per_pass) {
            const int64_t nt = std::min(tiles_per_pass, tiles - t0);
            transform_input(x, n0, ns, t0, nt, v, x_lanes);
            transform_output_grad(dy, n0, ns, t0, nt, z, dy_lanes);
            // dU[xi] (+)= Z[xi] (c_out x columns) * V[xi]^T (columns x c_in)
            const bool first = chunk == first_chunk && t0 == 0;
            for (int64_t xi = 0; xi < kPoints; ++xi) {
              gemm(false, true, g.c_out, g.c_in, nt * kLanes, z + xi * plane(g.c_out), width,
                   v + xi * plane(g.c_in), width, !first, du + xi * kernels, g.c_in);
            }
          }
        }
      }  // the implicit barrier: every group's dU is complete
      // Sum the groups into the first, in group order (a streaming loop over dU), then map dU back to
      // 3x3 kernels.
      for (int64_t group = 1; group < groups; ++group) {
        const float* part = partials + du_size * group;
#pragma omp for simd schedule(static)
        for (int64_t i = 0; i < du_size; ++i) partials[i] += part[i];
      }
#pragma omp for schedule(static)
      for (int64_t kc = 0; kc < kernels; ++kc) {
        float du[NH][4], out[3][3];
        for (int xi = 0; xi < kPoints; ++xi) du[xi / 4][xi % 4] = partials[xi * kernels + kc];
        transform_2d<float, NH, 4, 3, 3, filter_grad_1d<MH, float>, filter_grad_1d<2, float>>(du, out);
        for (int i = 0; i < 9; ++i) dw[kc * 9 + i] = out[i / 3][i % 3];
      }
    }
  }
};

// Runs f.template operator()<MH>() for the tile's height.
template <typename F>
decltype(auto) with_tile(WinogradTile tile, F&& f) {
  if (tile.h == 4) return f.template operator()<4>();
  return f.template operator()<2>();
}
}  // namespace

bool winograd_applies(const Conv2dGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 1 &&
         g.pad_left == 1 && g.h_out == g.h_in && g.w_out == g.w_in;
}

WinogradTile winograd_tile_f4x2(const Conv2dGeometry& g) {
  // F(4, 3) covers n rows with ceil(n / 4) * 6 transformed points, F(2, 3) with ceil(n / 2) * 4.
  const int64_t n = g.h_out;
  return {(n + 3) / 4 * 6 < (n + 1) / 2 * 4 ? 4 : 2, 2};
}

size_t winograd_filter_floats(const Conv2dGeometry& g, WinogradTile tile) {
  return static_cast<size_t>(tile.points() * g.c_out * g.c_in);
}

void winograd_transform_filter(const Conv2dGeometry& g, WinogradTile tile, const float* w,
                               bool for_backward_input, float* u) {
  // For backward-input the convolution maps c_out channels back to c_in: rows are input channels.
  const int64_t rows = for_backward_input ? g.c_in : g.c_out;
  const int64_t cols = for_backward_input ? g.c_out : g.c_in;
  const int64_t plane = rows * cols;
  // Kernel (r, c), rotated by 180 degrees for backward-input: rot180(w[c][r]).
  auto kernel_at = [&](int64_t r, int64_t c) {
    return for_backward_input ? w + (c * g.c_in + r) * 9 : w + (r * g.c_in + c) * 9;
  };
  auto element = [&](int i) { return for_backward_input ? 8 - i : i; };
  with_tile(tile, [&]<int MH>() {
    constexpr int kPoints = (MH + 2) * 4;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      float* to = u + r * cols;
      int64_t c = 0;
      for (; c + kLanes <= cols; c += kLanes) {  // kLanes kernels at a time, one per lane
        Lanes kernel[3][3], t[MH + 2][4];
        for (int64_t l = 0; l < kLanes; ++l) {
          const float* src = kernel_at(r, c + l);
          for (int i = 0; i < 9; ++i) kernel[i / 3][i % 3][l] = src[element(i)];
        }
        LaneTiles<MH>::filter(kernel, t);
        for (int xi = 0; xi < kPoints; ++xi) store_lanes(to + xi * plane + c, t[xi / 4][xi % 4]);
      }
      for (; c < cols; ++c) {
        float kernel[3][3], t[MH + 2][4];
        const float* src = kernel_at(r, c);
        for (int i = 0; i < 9; ++i) kernel[i / 3][i % 3] = src[element(i)];
        LaneTiles<MH>::filter(kernel, t);
        for (int xi = 0; xi < kPoints; ++xi) to[xi * plane + c] = t[xi / 4][xi % 4];
      }
    }
  });
}

size_t winograd_workspace(const Conv2dGeometry& g, WinogradTile tile, int threads) {
  return with_tile(tile, [&]<int MH>() {
    return static_cast<size_t>(LaneTiles<MH>{g}.per_thread_floats()) * static_cast<size_t>(threads);
  });
}

void conv2d_winograd(const Conv2dGeometry& g, WinogradTile tile, const float* x, const float* u,
                     const float* bias, float* y, float* workspace) {
  with_tile(tile, [&]<int MH>() { LaneTiles<MH>{g}.run(x, u, bias, y, workspace); });
}

size_t winograd_backward_weight_workspace(const Conv2dGeometry& g, int threads) {
  return LaneTiles<2>{g}.weight_workspace(threads);
}

void conv2d_winograd_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                     float* workspace) {
  LaneTiles<2>{g}.backward_weight(x, dy, dw, workspace);
}

}  // namespace s2::cpu
