#include "kernels/cpu/conv2d_winograd.h"

#include <omp.h>

#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace s2::cpu {

namespace {
constexpr int64_t kTile = 16;            // 4x4 transformed tile
constexpr int64_t kSamplesPerChunk = 4;  // GEMM width = 8 samples x tiles per sample

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

// The 16 planes of V, M and Z are padded apart by a cache line: unpadded, their distance is often a
// multiple of 4 KiB, and the 16 streams of a tile transform then fight over the same cache sets.
int64_t plane_floats(int64_t channels, int64_t width) {
  return channels * width + 16;
}

// Per thread: V and M (or Z) for one chunk and one zero-bordered channel.
int64_t per_thread_floats(const Conv2dGeometry& g) {
  const int64_t width = kSamplesPerChunk * tiles(g);
  return kTile * (plane_floats(g.c_in, width) + plane_floats(g.c_out, width)) + padded_h(g) * padded_w(g);
}

// U = G w G^T for one 3x3 kernel, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
inline void filter_transform(const float w[9], float u[16]) {
  float t[12];  // t = G w, 4x3
  for (int j = 0; j < 3; ++j) {
    t[0 * 3 + j] = w[0 * 3 + j];
    t[1 * 3 + j] = 0.5f * (w[0 * 3 + j] + w[1 * 3 + j] + w[2 * 3 + j]);
    t[2 * 3 + j] = 0.5f * (w[0 * 3 + j] - w[1 * 3 + j] + w[2 * 3 + j]);
    t[3 * 3 + j] = w[2 * 3 + j];
  }
  for (int i = 0; i < 4; ++i) {  // u = t G^T
    u[i * 4 + 0] = t[i * 3 + 0];
    u[i * 4 + 1] = 0.5f * (t[i * 3 + 0] + t[i * 3 + 1] + t[i * 3 + 2]);
    u[i * 4 + 2] = 0.5f * (t[i * 3 + 0] - t[i * 3 + 1] + t[i * 3 + 2]);
    u[i * 4 + 3] = t[i * 3 + 2];
  }
}

// Per-tile transforms, kept in registers: a buffer between the row and column passes costs a
// store-forwarding stall per tile, more than the arithmetic.

// v = B^T d B for the 4x4 patch at rows[i][j], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
// Output planes are `plane` floats apart.
inline void input_transform_tile(const float* const rows[4], int64_t offset, float* v, int64_t plane) {
  float t[4][4];
  for (int j = 0; j < 4; ++j) {
    const float d0 = rows[0][offset + j], d1 = rows[1][offset + j], d2 = rows[2][offset + j],
                d3 = rows[3][offset + j];
    t[0][j] = d0 - d2;
    t[1][j] = d1 + d2;
    t[2][j] = d2 - d1;
    t[3][j] = d1 - d3;
  }
  for (int i = 0; i < 4; ++i) {
    v[(i * 4 + 0) * plane] = t[i][0] - t[i][2];
    v[(i * 4 + 1) * plane] = t[i][1] + t[i][2];
    v[(i * 4 + 2) * plane] = t[i][2] - t[i][1];
    v[(i * 4 + 3) * plane] = t[i][1] - t[i][3];
  }
}

// y = A^T m A for one tile read from planes `plane` floats apart, A^T = [1 1 1 0; 0 1 -1 -1].
inline void output_transform_tile(const float* m, int64_t plane, float y[2][2]) {
  float t[2][4];
  for (int j = 0; j < 4; ++j) {
    const float m0 = m[(0 * 4 + j) * plane], m1 = m[(1 * 4 + j) * plane], m2 = m[(2 * 4 + j) * plane],
                m3 = m[(3 * 4 + j) * plane];
    t[0][j] = m0 + m1 + m2;
    t[1][j] = m1 - m2 - m3;
  }
  for (int i = 0; i < 2; ++i) {
    y[i][0] = t[i][0] + t[i][1] + t[i][2];
    y[i][1] = t[i][1] - t[i][2] - t[i][3];
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
}  // namespace

bool winograd_applies(const Conv2dGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 1 &&
         g.pad_left == 1 && g.h_out == g.h_in && g.w_out == g.w_in;
}

size_t winograd_filter_floats(const Conv2dGeometry& g) {
  return static_cast<size_t>(kTile * g.c_out * g.c_in);
}

void winograd_transform_filter(const Conv2dGeometry& g, const float* w, bool for_backward_input, float* u) {
  // For backward-input the convolution maps c_out channels back to c_in: rows are input channels.
  const int64_t rows = for_backward_input ? g.c_in : g.c_out;
  const int64_t cols = for_backward_input ? g.c_out : g.c_in;
  const int64_t plane = rows * cols;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      float kernel[9];
      if (for_backward_input) {  // rot180(w[c][r])
        const float* src = w + (c * g.c_in + r) * 9;
        for (int i = 0; i < 9; ++i) kernel[i] = src[8 - i];
      } else {
        std::copy_n(w + (r * g.c_in + c) * 9, 9, kernel);
      }
      float t[kTile];
      filter_transform(kernel, t);
      for (int64_t xi = 0; xi < kTile; ++xi) u[xi * plane + r * cols + c] = t[xi];
    }
  }
}

size_t winograd_workspace(const Conv2dGeometry& g, int threads) {
  return static_cast<size_t>(per_thread_floats(g)) * static_cast<size_t>(threads);
}

namespace {
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

void conv2d_winograd(const Conv2dGeometry& g, const float* x, const float* u, const float* bias, float* y,
                     float* workspace) {
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
      for (int64_t k = 0; k < g.c_out; ++k) {
        const float b0 = bias != nullptr ? bias[k] : 0.0f;
        for (int64_t s = 0; s < ns; ++s) {
          float* yk = y + ((n0 + s) * g.c_out + k) * g.out_pixels();
          const float* mk = m + k * width + s * t_per_sample;
          for (int64_t a = 0; a < th; ++a) {
            for (int64_t b = 0; b < tw; ++b) {
              float out[2][2];
              output_transform_tile(mk + a * tw + b, plane_floats(g.c_out, width), out);
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
         static_cast<size_t>(kGroups) * winograd_filter_floats(g);
}

void conv2d_winograd_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                     float* workspace) {
  const int64_t t_per_sample = tiles(g), width = kSamplesPerChunk * t_per_sample;
  const int64_t chunks = (g.batch + kSamplesPerChunk - 1) / kSamplesPerChunk;
  const int64_t groups = std::min(kGroups, chunks);
  const auto per_thread = static_cast<size_t>(per_thread_floats(g));
  const auto du_size = static_cast<int64_t>(winograd_filter_floats(g));
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
