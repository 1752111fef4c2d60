#include "kernels/cpu/conv2d_winograd.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace s2::cpu {

namespace {
// ---- The 1-D transforms of F(m, 3), m = 2 or 4 outputs from n = m + 2 points, for T = float (one
// tile) or Lanes (the same tile of kLanes samples). Lanes arithmetic is element-wise IEEE single
// precision, the very operations of the float version, so a sample's result has the same bits either
// way. Multiplications by powers of two are exact; every other operation is one rounding, which the
// tests' error bounds count.
using Lanes = float __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;

// Whole-vector loads and stores at any float address. (memcpy would be expanded as two 16-byte
// moves, and reading such a vector back whole stalls on store forwarding.)
using UnalignedLanes = float __attribute__((vector_size(32), aligned(4), may_alias));
inline Lanes load_lanes(const float* p) {
  return *reinterpret_cast<const UnalignedLanes*>(p);
}
inline void store_lanes(float* p, Lanes v) {
  *reinterpret_cast<UnalignedLanes*>(p) = v;
}

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

// ---- Forward (and backward-input) by F(MH x 2, 3x3), on kLanes samples side by side. V's and M's columns
// are (tile, sample) pairs, sample fastest, so that each tile's transforms are vector operations over the
// samples with contiguous loads and stores. Column order changes no bits: every element of a GEMM product is
// the same chain over k, whatever the columns around it.
constexpr int64_t kChunkColumns = 360;  // the GEMMs' width, about

template <int MH>
struct ForwardTiles {
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

  static void filter(const float (&w)[3][3], float (&u)[NH][4]) {
    transform_2d<float, 3, 3, NH, 4, filter_1d<MH, float>, filter_1d<2, float>>(w, u);
  }

  // V[xi][c][(t - t0) * kLanes + s] for tiles [t0, t0 + nt) of samples [n0, n0 + ns), every channel.
  void transform_input(const float* x, int64_t n0, int64_t ns, int64_t t0, int64_t nt, float* v,
                       float* interleaved) const {
    const int64_t stride = plane(g.c_in);
    // The input rows the pass's tiles read: padded rows [MH a0, MH a1 + NH), less the border.
    const int64_t a0 = t0 / tw, a1 = (t0 + nt - 1) / tw;
    const int64_t h0 = std::max<int64_t>(MH * a0 - 1, 0), h1 = std::min<int64_t>(MH * a1 + NH - 1, g.h_in);
    static constexpr float kZeros[kLanes] = {};
    for (int64_t c = 0; c < g.c_in; ++c) {
      const float* xc[kLanes];
      for (int64_t s = 0; s < kLanes; ++s)
        xc[s] = s < ns ? x + ((n0 + s) * g.c_in + c) * g.in_pixels() : nullptr;
      for (int64_t h = h0; h < h1; ++h) {
        float* row = interleaved + ((h + 1) * padded_w + 1) * kLanes;
        if (g.w_in < kLanes) {
          for (int64_t s = 0; s < ns; ++s) {
            for (int64_t w = 0; w < g.w_in; ++w) row[w * kLanes + s] = xc[s][h * g.w_in + w];
          }
          continue;
        }
        // Eight columns of the eight samples at a time, transposed; the last block overlaps the one
        // before it where the width is not a multiple of 8 (writing the same values twice).
        for (int64_t w0 = 0; w0 < g.w_in; w0 += kLanes) {
          const int64_t w = std::min(w0, g.w_in - kLanes);
          Lanes block[kLanes];
          for (int64_t s = 0; s < kLanes; ++s) {
            block[s] = load_lanes(s < ns ? xc[s] + h * g.w_in + w : kZeros);
          }
          transpose8(block);
          for (int64_t j = 0; j < kLanes; ++j) store_lanes(row + (w + j) * kLanes, block[j]);
        }
      }
      float* vc = v + c * width;
      for (int64_t t = t0; t < t0 + nt; ++t) {
        const float* corner = interleaved + (MH * (t / tw) * padded_w + 2 * (t % tw)) * kLanes;
        Lanes d[NH][4], out[NH][4];
        for (int i = 0; i < NH; ++i) {
          for (int j = 0; j < 4; ++j) d[i][j] = load_lanes(corner + (i * padded_w + j) * kLanes);
        }
        transform_2d<Lanes, NH, 4, NH, 4, input_1d<MH, Lanes>, input_1d<2, Lanes>>(d, out);
        for (int i = 0; i < NH; ++i) {
          for (int j = 0; j < 4; ++j) {
            store_lanes(vc + (i * 4 + j) * stride + (t - t0) * kLanes, out[i][j]);
          }
        }
      }
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
              for (int i = 0; i < MH; ++i)
                std::memcpy(yk + i * g.w_out, &by_sample[s][2 * i], 2 * sizeof(float));
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
};

// ---- F(2x2, 3x3) for the forward and for backward-weight: 4 samples per chunk, one sample's tiles
// after another.
constexpr int64_t kTile = 16;
constexpr int64_t kSamplesPerChunk = 4;

int64_t tiles_h(const Conv2dGeometry& g) {
  return (g.h_out + 1) / 2;
}
int64_t tiles_w(const Conv2dGeometry& g) {
  return (g.w_out + 1) / 2;
}
int64_t tiles(const Conv2dGeometry& g) {
  return tiles_h(g) * tiles_w(g);
}
int64_t padded_w(const Conv2dGeometry& g) {
  return 2 * tiles_w(g) + 2;
}
int64_t padded_h(const Conv2dGeometry& g) {
  return 2 * tiles_h(g) + 2;
}

// The 16 planes of V, M and Z are padded apart by a cache line, as in ForwardTiles.
int64_t plane_floats(int64_t channels, int64_t width) {
  return channels * width + 16;
}

// Per thread: V and M (or Z) for one chunk and one zero-bordered channel.
int64_t per_thread_floats(const Conv2dGeometry& g) {
  const int64_t width = kSamplesPerChunk * tiles(g);
  return kTile * (plane_floats(g.c_in, width) + plane_floats(g.c_out, width)) + padded_h(g) * padded_w(g);
}

// v = B^T d B for the 4x4 patch at rows[i][j]; output planes are `plane` floats apart.
inline void input_transform_tile(const float* const rows[4], int64_t offset, float* v, int64_t plane) {
  float d[4][4], out[4][4];
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) d[i][j] = rows[i][offset + j];
  }
  transform_2d<float, 4, 4, 4, 4, input_1d<2, float>, input_1d<2, float>>(d, out);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) v[(i * 4 + j) * plane] = out[i][j];
  }
}

// z = A g A^T for one 2x2 tile g of the output gradient, A = [1 0; 1 1; 1 -1; 0 -1].
inline void output_grad_transform_tile(const float g[2][2], float* z, int64_t plane) {
  float t[4][2];
  for (int j = 0; j < 2; ++j) {
    t[0][j] = g[0][j];
    t[1][j] = g[0][j] + g[1][j];
    t[2][j] = g[0][j] - g[1][j];
    t[3][j] = -g[1][j];
  }
  for (int i = 0; i < 4; ++i) {
    z[(i * 4 + 0) * plane] = t[i][0];
    z[(i * 4 + 1) * plane] = t[i][0] + t[i][1];
    z[(i * 4 + 2) * plane] = t[i][0] - t[i][1];
    z[(i * 4 + 3) * plane] = -t[i][1];
  }
}
// Transforms channels [c0, c1) of samples [n0, n0 + ns) of x into V[xi][c][sample * tiles + tile]
// (row stride `width`).
void transform_input_chunk(const Conv2dGeometry& g, const float* x, int64_t n0, int64_t ns, int64_t width,
                           float* v, float* padded, int64_t c0, int64_t c1) {
  const int64_t th = tiles_h(g), tw = tiles_w(g), pw = padded_w(g), plane = plane_floats(g.c_in, width);
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t s = 0; s < ns; ++s) {
      const float* xc = x + ((n0 + s) * g.c_in + c) * g.in_pixels();
      for (int64_t h = 0; h < g.h_in; ++h) std::copy_n(xc + h * g.w_in, g.w_in, padded + (h + 1) * pw + 1);
      float* vc = v + c * width + s * th * tw;
      for (int64_t a = 0; a < th; ++a) {
        const float* rows[4];
        for (int64_t i = 0; i < 4; ++i) rows[i] = padded + (2 * a + i) * pw;
        for (int64_t b = 0; b < tw; ++b) input_transform_tile(rows, 2 * b, vc + a * tw + b, plane);
      }
    }
  }
}

// Z[xi][k][sample * tiles + tile] = A dy A^T per 2x2 tile of dy (zero beyond the border), for output
// channels [k0, k1).
void transform_output_grad_chunk(const Conv2dGeometry& g, const float* dy, int64_t n0, int64_t ns,
                                 int64_t width, float* z, int64_t k0, int64_t k1) {
  const int64_t th = tiles_h(g), tw = tiles_w(g), plane = plane_floats(g.c_out, width);
  for (int64_t k = k0; k < k1; ++k) {
    for (int64_t s = 0; s < ns; ++s) {
      const float* dk = dy + ((n0 + s) * g.c_out + k) * g.out_pixels();
      float* zk = z + k * width + s * th * tw;
      for (int64_t a = 0; a < th; ++a) {
        for (int64_t b = 0; b < tw; ++b) {
          float tile[2][2];
          for (int64_t i = 0; i < 2; ++i) {
            for (int64_t j = 0; j < 2; ++j) {
              const int64_t h = 2 * a + i, w = 2 * b + j;
              tile[i][j] = (h < g.h_out && w < g.w_out) ? dk[h * g.w_out + w] : 0.0f;
            }
          }
          output_grad_transform_tile(tile, zk + a * tw + b, plane);
        }
      }
    }
  }
}

// dw = G^T dU G for one 4x4 dU, G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1].
inline void filter_grad_transform(const float du[16], float dw[9]) {
  float t[12];  // t = G^T dU, 3x4
  for (int j = 0; j < 4; ++j) {
    t[0 * 4 + j] = du[0 * 4 + j] + 0.5f * (du[1 * 4 + j] + du[2 * 4 + j]);
    t[1 * 4 + j] = 0.5f * (du[1 * 4 + j] - du[2 * 4 + j]);
    t[2 * 4 + j] = 0.5f * (du[1 * 4 + j] + du[2 * 4 + j]) + du[3 * 4 + j];
  }
  for (int i = 0; i < 3; ++i) {  // dw = t G
    dw[i * 3 + 0] = t[i * 4 + 0] + 0.5f * (t[i * 4 + 1] + t[i * 4 + 2]);
    dw[i * 3 + 1] = 0.5f * (t[i * 4 + 1] - t[i * 4 + 2]);
    dw[i * 3 + 2] = 0.5f * (t[i * 4 + 1] + t[i * 4 + 2]) + t[i * 4 + 3];
  }
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
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      float kernel[3][3];
      const float* src = for_backward_input ? w + (c * g.c_in + r) * 9 : w + (r * g.c_in + c) * 9;
      for (int i = 0; i < 9; ++i) kernel[i / 3][i % 3] = for_backward_input ? src[8 - i] : src[i];  // rot180
      float* to = u + r * cols + c;
      if (tile.h == 4) {
        float t[6][4];
        ForwardTiles<4>::filter(kernel, t);
        for (int xi = 0; xi < 24; ++xi) to[xi * plane] = t[xi / 4][xi % 4];
      } else {
        float t[4][4];
        transform_2d<float, 3, 3, 4, 4, filter_1d<2, float>, filter_1d<2, float>>(kernel, t);
        for (int xi = 0; xi < 16; ++xi) to[xi * plane] = t[xi / 4][xi % 4];
      }
    }
  }
}

size_t winograd_workspace(const Conv2dGeometry& g, WinogradTile tile, int threads) {
  const int64_t per_thread = tile.h == 4 ? ForwardTiles<4>{g}.per_thread_floats() : per_thread_floats(g);
  return static_cast<size_t>(per_thread) * static_cast<size_t>(threads);
}

void conv2d_winograd(const Conv2dGeometry& g, WinogradTile tile, const float* x, const float* u,
                     const float* bias, float* y, float* workspace) {
  if (tile.h == 4) {
    ForwardTiles<4>{g}.run(x, u, bias, y, workspace);
    return;
  }
  const int64_t th = tiles_h(g), tw = tiles_w(g), t_per_sample = th * tw;
  const int64_t width = kSamplesPerChunk * t_per_sample;  // columns of V and M
  const auto per_thread = static_cast<size_t>(per_thread_floats(g));
#pragma omp parallel
  {
    float* v = workspace + per_thread * static_cast<size_t>(omp_get_thread_num());
    float* m = v + kTile * plane_floats(g.c_in, width);
    float* padded = m + kTile * plane_floats(g.c_out, width);  // one channel with a zero border
    std::fill_n(padded, padded_h(g) * padded_w(g), 0.0f);
    const auto [begin, end] = thread_range(g.batch);
    for (int64_t n0 = begin; n0 < end; n0 += kSamplesPerChunk) {
      const int64_t ns = std::min(kSamplesPerChunk, end - n0);
      transform_input_chunk(g, x, n0, ns, width, v, padded, 0, g.c_in);
      // M[xi] = U[xi] (c_out x c_in) * V[xi] (c_in x cols), one GEMM per transformed position.
      for (int64_t xi = 0; xi < kTile; ++xi) {
        gemm(false, false, g.c_out, ns * t_per_sample, g.c_in, u + xi * g.c_out * g.c_in, g.c_in,
             v + xi * plane_floats(g.c_in, width), width, false, m + xi * plane_floats(g.c_out, width),
             width);
      }
      // Output transform, dropping the outputs of tiles that hang over the border.
      const int64_t plane = plane_floats(g.c_out, width);
      for (int64_t k = 0; k < g.c_out; ++k) {
        const float b0 = bias != nullptr ? bias[k] : 0.0f;
        for (int64_t s = 0; s < ns; ++s) {
          float* yk = y + ((n0 + s) * g.c_out + k) * g.out_pixels();
          const float* mk = m + k * width + s * t_per_sample;
          for (int64_t a = 0; a < th; ++a) {
            for (int64_t b = 0; b < tw; ++b) {
              float in[4][4], out[2][2];
              for (int xi = 0; xi < 16; ++xi) in[xi / 4][xi % 4] = mk[a * tw + b + xi * plane];
              transform_2d<float, 4, 4, 2, 2, output_1d<2, float>, output_1d<2, float>>(in, out);
              for (int64_t i = 0; i < 2 && 2 * a + i < g.h_out; ++i) {
                for (int64_t j = 0; j < 2 && 2 * b + j < g.w_out; ++j) {
                  yk[(2 * a + i) * g.w_out + 2 * b + j] = out[i][j] + b0;
                }
              }
            }
          }
        }
      }
    }
  }
}

// The batch's chunks go in at most kGroups fixed groups of consecutive chunks, set by the batch size
// alone; each group's dU is one GEMM chain over its chunks, and the groups' dU are summed in group
// order. Threads only decide who computes which group, so any thread count gives the same bits.
constexpr int64_t kGroups = 4;

size_t winograd_backward_weight_workspace(const Conv2dGeometry& g, int threads) {
  return static_cast<size_t>(per_thread_floats(g)) * static_cast<size_t>(threads) +
         static_cast<size_t>(kGroups * kTile * g.c_out * g.c_in);
}

void conv2d_winograd_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                     float* workspace) {
  // F(2x2, 3x3) whatever the forward tile: dU sums over every tile of the batch, and F(4, 3)'s larger
  // transforms would widen that long sum's error bound.
  const int64_t t_per_sample = tiles(g), width = kSamplesPerChunk * t_per_sample;
  const int64_t chunks = (g.batch + kSamplesPerChunk - 1) / kSamplesPerChunk;
  const int64_t groups = std::min(kGroups, chunks);
  const auto per_thread = static_cast<size_t>(per_thread_floats(g));
  const int64_t du_size = kTile * g.c_out * g.c_in;
  const int threads = omp_get_max_threads();
  float* partials = workspace + per_thread * static_cast<size_t>(threads);  // dU[group][xi][k][c]
#pragma omp parallel num_threads(threads)
  {
    float* v = workspace + per_thread * static_cast<size_t>(omp_get_thread_num());
    float* z = v + kTile * plane_floats(g.c_in, width);
    float* padded = z + kTile * plane_floats(g.c_out, width);
    std::fill_n(padded, padded_h(g) * padded_w(g), 0.0f);
#pragma omp for schedule(static)
    for (int64_t group = 0; group < groups; ++group) {
      float* du = partials + du_size * group;
      // Chunks [chunks * group / groups, chunks * (group + 1) / groups), in order.
      for (int64_t chunk = chunks * group / groups; chunk < chunks * (group + 1) / groups; ++chunk) {
        const int64_t n0 = chunk * kSamplesPerChunk, ns = std::min(kSamplesPerChunk, g.batch - n0);
        const bool first = chunk == chunks * group / groups;
        transform_input_chunk(g, x, n0, ns, width, v, padded, 0, g.c_in);
        transform_output_grad_chunk(g, dy, n0, ns, width, z, 0, g.c_out);
        // dU[xi] (+)= Z[xi] (c_out x cols) * V[xi]^T (cols x c_in)
        for (int64_t xi = 0; xi < kTile; ++xi) {
          gemm(false, true, g.c_out, g.c_in, ns * t_per_sample, z + xi * plane_floats(g.c_out, width), width,
               v + xi * plane_floats(g.c_in, width), width, !first, du + xi * g.c_out * g.c_in, g.c_in);
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
    for (int64_t kc = 0; kc < g.c_out * g.c_in; ++kc) {
      float sum[kTile];
      for (int64_t xi = 0; xi < kTile; ++xi) sum[xi] = partials[xi * g.c_out * g.c_in + kc];
      filter_grad_transform(sum, dw + kc * 9);
    }
  }
}

}  // namespace s2::cpu
