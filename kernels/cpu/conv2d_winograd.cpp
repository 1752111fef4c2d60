#include "kernels/cpu/conv2d_winograd.h"

#include <omp.h>

#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace s2::cpu {

namespace {
constexpr int64_t kTile = 16;          // 4x4 transformed tile
constexpr int64_t kSamplesPerChunk = 4;  // GEMM width = 8 samples x tiles per sample

int64_t tiles_h(const Conv2dGeometry& g) { return (g.h_out + 1) / 2; }
int64_t tiles_w(const Conv2dGeometry& g) { return (g.w_out + 1) / 2; }
int64_t tiles(const Conv2dGeometry& g) { return tiles_h(g) * tiles_w(g); }
int64_t padded_w(const Conv2dGeometry& g) { return 2 * tiles_w(g) + 2; }
int64_t padded_h(const Conv2dGeometry& g) { return 2 * tiles_h(g) + 2; }

// Per thread: V and M for one chunk, one zero-bordered input channel, and the row-transform scratch
// (4 padded rows for the input transform, or 8 + 4 tile-wide rows for the output transform).
int64_t per_thread_floats(const Conv2dGeometry& g) {
  const int64_t scratch = std::max(4 * padded_w(g), 12 * tiles_w(g));
  return kTile * (g.c_in + g.c_out) * kSamplesPerChunk * tiles(g) + padded_h(g) * padded_w(g) + scratch;
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

// V[xi][col + b] = (B^T d B)[xi] for the tiles b of one tile row, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0;
// 0 1 0 -1]. `rows` are the 4 zero-padded input rows of the tile row; planes are `plane` floats apart.
// Rows first, across the whole width, then columns per tile: both loops vectorise.
void input_transform_row(const float* const rows[4], int64_t tiles, int64_t padded_width, float* t, float* v,
                         int64_t plane) {
  float* t0 = t;
  float* t1 = t + padded_width;
  float* t2 = t + 2 * padded_width;
  float* t3 = t + 3 * padded_width;
  for (int64_t x = 0; x < padded_width; ++x) {
    t0[x] = rows[0][x] - rows[2][x];
    t1[x] = rows[1][x] + rows[2][x];
    t2[x] = rows[2][x] - rows[1][x];
    t3[x] = rows[1][x] - rows[3][x];
  }
  for (int64_t i = 0; i < 4; ++i) {
    const float* ti = t + i * padded_width;
    float* v0 = v + (i * 4) * plane;
    float* v1 = v0 + plane;
    float* v2 = v1 + plane;
    float* v3 = v2 + plane;
    for (int64_t b = 0; b < tiles; ++b) {
      const float x0 = ti[2 * b], x1 = ti[2 * b + 1], x2 = ti[2 * b + 2], x3 = ti[2 * b + 3];
      v0[b] = x0 - x2;
      v1[b] = x1 + x2;
      v2[b] = x2 - x1;
      v3[b] = x1 - x3;
    }
  }
}

// The 2 x (2 * tiles) outputs of one tile row from M (planes `plane` floats apart), A^T = [1 1 1 0;
// 0 1 -1 -1]: s = m A per row i, then y = A^T s. `out` holds 2 rows of 2 * tiles values.
void output_transform_row(const float* m, int64_t plane, int64_t tiles, float* s, float* out) {
  for (int64_t i = 0; i < 4; ++i) {
    const float* m0 = m + (i * 4) * plane;
    const float* m1 = m0 + plane;
    const float* m2 = m1 + plane;
    const float* m3 = m2 + plane;
    float* s0 = s + (2 * i) * tiles;
    float* s1 = s0 + tiles;
    for (int64_t b = 0; b < tiles; ++b) {
      s0[b] = m0[b] + m1[b] + m2[b];
      s1[b] = m1[b] - m2[b] - m3[b];
    }
  }
  for (int64_t j = 0; j < 2; ++j) {  // j: output column within the tile
    const float* r0 = s + (0 + j) * tiles;
    const float* r1 = s + (2 + j) * tiles;
    const float* r2 = s + (4 + j) * tiles;
    const float* r3 = s + (6 + j) * tiles;
    for (int64_t b = 0; b < tiles; ++b) {
      out[2 * b + j] = r0[b] + r1[b] + r2[b];
      out[2 * tiles + 2 * b + j] = r1[b] - r2[b] - r3[b];
    }
  }
}
}  // namespace

bool winograd_applies(const Conv2dGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 1 &&
         g.pad_left == 1 && g.h_out == g.h_in && g.w_out == g.w_in;
}

size_t winograd_filter_floats(const Conv2dGeometry& g) { return static_cast<size_t>(kTile * g.c_out * g.c_in); }

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
// Transforms samples [n0, n0 + ns) of x into V[xi][c][sample * tiles + tile] (row stride `width`).
void transform_input_chunk(const Conv2dGeometry& g, const float* x, int64_t n0, int64_t ns, int64_t width,
                           float* v, float* padded, float* scratch) {
  const int64_t th = tiles_h(g), tw = tiles_w(g), pw = padded_w(g);
  for (int64_t c = 0; c < g.c_in; ++c) {
    for (int64_t s = 0; s < ns; ++s) {
      const float* xc = x + ((n0 + s) * g.c_in + c) * g.in_pixels();
      for (int64_t h = 0; h < g.h_in; ++h) std::copy_n(xc + h * g.w_in, g.w_in, padded + (h + 1) * pw + 1);
      for (int64_t a = 0; a < th; ++a) {
        const float* rows[4];
        for (int64_t i = 0; i < 4; ++i) rows[i] = padded + (2 * a + i) * pw;
        input_transform_row(rows, tw, pw, scratch, v + c * width + s * th * tw + a * tw, g.c_in * width);
      }
    }
  }
}

// Gradient of the output transform: Z = A dy A^T per 2x2 tile of dy (zero beyond the border), A = [1 0;
// 1 1; 1 -1; 0 -1], written as Z[xi][k][sample * tiles + tile].
void transform_output_grad_chunk(const Conv2dGeometry& g, const float* dy, int64_t n0, int64_t ns, int64_t width,
                                 float* z, float* padded, float* scratch) {
  const int64_t th = tiles_h(g), tw = tiles_w(g), pw = 2 * tw, plane = g.c_out * width;
  for (int64_t k = 0; k < g.c_out; ++k) {
    for (int64_t s = 0; s < ns; ++s) {
      const float* dk = dy + ((n0 + s) * g.c_out + k) * g.out_pixels();
      for (int64_t h = 0; h < g.h_out; ++h) std::copy_n(dk + h * g.w_out, g.w_out, padded + h * pw);
      for (int64_t a = 0; a < th; ++a) {
        const float* r0 = padded + (2 * a) * pw;
        const float* r1 = r0 + pw;
        float* t[4] = {scratch, scratch + pw, scratch + 2 * pw, scratch + 3 * pw};
        for (int64_t x = 0; x < pw; ++x) {  // t = A dy, row by row
          t[0][x] = r0[x];
          t[1][x] = r0[x] + r1[x];
          t[2][x] = r0[x] - r1[x];
          t[3][x] = -r1[x];
        }
        for (int64_t i = 0; i < 4; ++i) {  // Z = t A^T, tile by tile
          float* z0 = z + (i * 4) * plane + k * width + s * th * tw + a * tw;
          float* z1 = z0 + plane;
          float* z2 = z1 + plane;
          float* z3 = z2 + plane;
          for (int64_t b = 0; b < tw; ++b) {
            const float p = t[i][2 * b], q = t[i][2 * b + 1];
            z0[b] = p;
            z1[b] = p + q;
            z2[b] = p - q;
            z3[b] = -q;
          }
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
  const int64_t ph = padded_h(g), pw = padded_w(g);
  const auto per_thread = static_cast<size_t>(per_thread_floats(g));
#pragma omp parallel
  {
    float* v = workspace + per_thread * static_cast<size_t>(omp_get_thread_num());
    float* m = v + kTile * g.c_in * width;
    float* padded = m + kTile * g.c_out * width;  // one channel with a zero border
    float* scratch = padded + ph * pw;
    std::fill_n(padded, ph * pw, 0.0f);
    const auto [begin, end] = thread_range(g.batch);
    for (int64_t n0 = begin; n0 < end; n0 += kSamplesPerChunk) {
      const int64_t ns = std::min(kSamplesPerChunk, end - n0);
      const int64_t cols = ns * t_per_sample;
      transform_input_chunk(g, x, n0, ns, width, v, padded, scratch);
      // M[xi] = U[xi] (c_out x c_in) * V[xi] (c_in x cols), one GEMM per transformed position.
      for (int64_t xi = 0; xi < kTile; ++xi) {
        gemm(false, false, g.c_out, cols, g.c_in, 1.0f, u + xi * g.c_out * g.c_in, g.c_in,
             v + xi * g.c_in * width, width, 0.0f, m + xi * g.c_out * width, width);
      }
      // Output transform, dropping the outputs of tiles that hang over the border.
      float* out = scratch + 8 * tw;
      for (int64_t k = 0; k < g.c_out; ++k) {
        const float b0 = bias != nullptr ? bias[k] : 0.0f;
        for (int64_t s = 0; s < ns; ++s) {
          float* yk = y + ((n0 + s) * g.c_out + k) * g.out_pixels();
          for (int64_t a = 0; a < th; ++a) {
            output_transform_row(m + k * width + s * t_per_sample + a * tw, g.c_out * width, tw, scratch, out);
            for (int64_t i = 0; i < 2 && 2 * a + i < g.h_out; ++i) {
              float* dst = yk + (2 * a + i) * g.w_out;
              const float* src = out + i * 2 * tw;
              for (int64_t j = 0; j < g.w_out; ++j) dst[j] = src[j] + b0;
            }
          }
        }
      }
    }
  }
}

size_t winograd_backward_weight_workspace(const Conv2dGeometry& g, int threads) {
  return (static_cast<size_t>(per_thread_floats(g)) + winograd_filter_floats(g)) * static_cast<size_t>(threads);
}

void conv2d_winograd_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                     float* workspace) {
  const int64_t t_per_sample = tiles(g), width = kSamplesPerChunk * t_per_sample;
  const int64_t ph = padded_h(g), pw = padded_w(g);
  const auto per_thread = static_cast<size_t>(per_thread_floats(g));
  const auto du_size = static_cast<int64_t>(winograd_filter_floats(g));
  const int threads = omp_get_max_threads();
  float* partials = workspace + per_thread * static_cast<size_t>(threads);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), team = omp_get_num_threads();
    float* v = workspace + per_thread * static_cast<size_t>(t);
    float* z = v + kTile * g.c_in * width;
    float* padded = z + kTile * g.c_out * width;
    float* scratch = padded + ph * pw;
    float* du = partials + du_size * t;  // dU[xi][k][c], this thread's share of the batch
    std::fill_n(du, du_size, 0.0f);
    const auto [begin, end] = thread_range(g.batch);
    for (int64_t n0 = begin; n0 < end; n0 += kSamplesPerChunk) {
      const int64_t ns = std::min(kSamplesPerChunk, end - n0);
      std::fill_n(padded, ph * pw, 0.0f);
      transform_input_chunk(g, x, n0, ns, width, v, padded, scratch);
      std::fill_n(padded, ph * pw, 0.0f);
      transform_output_grad_chunk(g, dy, n0, ns, width, z, padded, scratch);
      // dU[xi] += Z[xi] (c_out x cols) * V[xi]^T (cols x c_in)
      for (int64_t xi = 0; xi < kTile; ++xi) {
        gemm(false, true, g.c_out, g.c_in, ns * t_per_sample, 1.0f, z + xi * g.c_out * width, width,
             v + xi * g.c_in * width, width, 1.0f, du + xi * g.c_out * g.c_in, g.c_in);
      }
    }
#pragma omp barrier
    // Sum the partials in thread order (deterministic), then map dU back to 3x3 kernels.
    const auto [lo, hi] = thread_range(g.c_out * g.c_in);
    for (int64_t kc = lo; kc < hi; ++kc) {
      float sum[kTile];
      for (int64_t xi = 0; xi < kTile; ++xi) {
        float acc = 0.0f;
        for (int u = 0; u < team; ++u) acc += partials[du_size * u + xi * g.c_out * g.c_in + kc];
        sum[xi] = acc;
      }
      filter_grad_transform(sum, dw + kc * 9);
    }
  }
}

}  // namespace s2::cpu
