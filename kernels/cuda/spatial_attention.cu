// Spatial attention of CBAM: y = x * sigmoid(conv_kxk([mean_c(x), max_c(x)])) per (sample, pixel), the
// conv 2 -> 1 without bias and with Keras 'same' padding ((k - 1) / 2 before). Version 1 is naive (a
// thread per item, a kernel per step, gradients passed through the caller's workspace); version 2 fuses each
// direction into one kernel with a block per sample and the pooled maps in shared memory. Version 3 spreads
// every pass across the whole GPU: a thread per pixel of the batch for the pooling, the conv and their
// gradients, a warp per (sample, channel) row for the scaling and dx, a block per weight for dw.
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

namespace {

constexpr int64_t kMaxPixels = 2048, kMaxKernel = 15;  // shared-memory bounds of version 2
constexpr unsigned kThreads = 256;

struct MapShape {
  int64_t C, H, W, k;
  __device__ int64_t pixels() const { return H * W; }
  __device__ int64_t pad() const { return (k - 1) / 2; }
};

// The conv output at pixel p of a 2-channel map (any dev_ptr or shared array).
template <class Map, class Weights>
__device__ float conv_at(const MapShape& s, const Map& map, const Weights& w, int64_t p) {
  const int64_t y = p / s.W, x = p % s.W, P = s.pixels();
  float acc = 0.0f;
  for (int64_t ch = 0; ch < 2; ++ch) {
    for (int64_t ky = 0; ky < s.k; ++ky) {
      const int64_t iy = y + ky - s.pad();
      if (iy < 0 || iy >= s.H) {
        continue;
      }
      for (int64_t kx = 0; kx < s.k; ++kx) {
        const int64_t ix = x + kx - s.pad();
        if (ix >= 0 && ix < s.W) {
          acc += w[(ch * s.k + ky) * s.k + kx] * map[ch * P + iy * s.W + ix];
        }
      }
    }
  }
  return acc;
}

// The transposed conv: gradient at pixel p of input channel ch from the output gradient d.
template <class Grad, class Weights>
__device__ float conv_transpose_at(const MapShape& s, const Grad& d, const Weights& w, int64_t ch,
                                   int64_t p) {
  const int64_t y = p / s.W, x = p % s.W;
  float acc = 0.0f;
  for (int64_t ky = 0; ky < s.k; ++ky) {
    const int64_t oy = y - ky + s.pad();
    if (oy < 0 || oy >= s.H) {
      continue;
    }
    for (int64_t kx = 0; kx < s.k; ++kx) {
      const int64_t ox = x - kx + s.pad();
      if (ox >= 0 && ox < s.W) {
        acc += w[(ch * s.k + ky) * s.k + kx] * d[oy * s.W + ox];
      }
    }
  }
  return acc;
}

// Mean, max and first arg-max over the channels at pixel p of sample xs.
template <class Input>
__device__ void pool_channels(const MapShape& s, const Input& xs, int64_t p, float& mean, float& mx,
                              int32_t& index) {
  const int64_t P = s.pixels();
  float sum = 0.0f;
  mx = xs[p];
  index = 0;
  for (int64_t c = 0; c < s.C; ++c) {
    const float v = xs[c * P + p];
    sum += v;
    if (v > mx) {
      mx = v;
      index = static_cast<int32_t>(c);
    }
  }
  mean = sum / static_cast<float>(s.C);
}

// ---------------------------------------------------------------- version 1 (naive)
// The kernels with a thread per pixel of the batch (pooling, the conv, their gradients) serve version 3 too.

__global__ void pool_pixels_kernel(int64_t N, MapShape s, dev_ptr<const float> x, dev_ptr<float> pooled,
                                   dev_ptr<int32_t> argmax) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const int64_t P = s.pixels();
  if (i >= N * P) {
    return;
  }
  const int64_t n = i / P, p = i % P;
  float mean, mx;
  int32_t index;
  pool_channels(s, x + n * s.C * P, p, mean, mx, index);
  pooled[n * 2 * P + p] = mean;
  pooled[n * 2 * P + P + p] = mx;
  argmax[i] = index;
}

__global__ void conv_sigmoid_pixels_kernel(int64_t N, MapShape s, dev_ptr<const float> pooled,
                                           dev_ptr<const float> w, dev_ptr<float> att) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const int64_t P = s.pixels();
  if (i < N * P) {
    att[i] = sigmoid(conv_at(s, pooled + i / P * 2 * P, w, i % P));
  }
}

__global__ void scale_pixels_kernel(int64_t N, MapShape s, dev_ptr<const float> x, dev_ptr<const float> att,
                                    dev_ptr<float> y) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const int64_t P = s.pixels();
  if (i < N * s.C * P) {
    y[i] = x[i] * att[i / (s.C * P) * P + i % P];
  }
}

__global__ void logit_grad_pixels_kernel(int64_t N, MapShape s, dev_ptr<const float> x,
                                         dev_ptr<const float> dy, dev_ptr<const float> att,
                                         dev_ptr<float> d_logit) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const int64_t P = s.pixels();
  if (i >= N * P) {
    return;
  }
  const int64_t n = i / P, p = i % P;
  float g = 0.0f;
  for (int64_t c = 0; c < s.C; ++c) {
    g += dy[(n * s.C + c) * P + p] * x[(n * s.C + c) * P + p];
  }
  d_logit[i] = g * att[i] * (1.0f - att[i]);
}

__global__ void pooled_grad_pixels_kernel(int64_t N, MapShape s, dev_ptr<const float> d_logit,
                                          dev_ptr<const float> w, dev_ptr<float> d_pooled) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const int64_t P = s.pixels();
  if (i < N * 2 * P) {
    const int64_t n = i / (2 * P), ch = i / P % 2;
    d_pooled[i] = conv_transpose_at(s, d_logit + n * P, w, ch, i % P);
  }
}

__global__ void weight_grad_naive_kernel(int64_t N, MapShape s, dev_ptr<const float> d_logit,
                                         dev_ptr<const float> pooled, dev_ptr<float> dw) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const int64_t P = s.pixels();
  if (i >= 2 * s.k * s.k) {
    return;
  }
  const int64_t ch = i / (s.k * s.k), ky = i / s.k % s.k, kx = i % s.k;
  float g = 0.0f;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t p = 0; p < P; ++p) {
      const int64_t iy = p / s.W + ky - s.pad(), ix = p % s.W + kx - s.pad();
      if (iy >= 0 && iy < s.H && ix >= 0 && ix < s.W) {
        g += d_logit[n * P + p] * pooled[(n * 2 + ch) * P + iy * s.W + ix];
      }
    }
  }
  dw[i] += g;
}

__global__ void input_grad_naive_kernel(int64_t N, MapShape s, dev_ptr<const float> dy,
                                        dev_ptr<const float> att, dev_ptr<const int32_t> argmax,
                                        dev_ptr<const float> d_pooled, dev_ptr<float> dx) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const int64_t P = s.pixels();
  if (i >= N * s.C * P) {
    return;
  }
  const int64_t n = i / (s.C * P), c = i / P % s.C, p = i % P;
  dx[i] = dy[i] * att[n * P + p] + d_pooled[n * 2 * P + p] / static_cast<float>(s.C) +
          (c == argmax[n * P + p] ? d_pooled[n * 2 * P + P + p] : 0.0f);
}

// ---------------------------------------------------------------- version 2 (fused)

__global__ void __launch_bounds__(kThreads)
    spatial_attention_fused_kernel(MapShape s, dev_ptr<const float> x, dev_ptr<const float> w,
                                   dev_ptr<float> pooled, dev_ptr<int32_t> argmax, dev_ptr<float> att,
                                   dev_ptr<float> y) {
  S2_SHARED(float, s_pool, [2 * kMaxPixels]);
  S2_SHARED(float, s_att, [kMaxPixels]);
  S2_SHARED(float, s_w, [2 * kMaxKernel * kMaxKernel]);
  const int64_t n = blockIdx.x, tid = threadIdx.x, step = blockDim.x, P = s.pixels();
  const auto xs = x + n * s.C * P;
  for (int64_t i = tid; i < 2 * s.k * s.k; i += step) {
    s_w[i] = w[i];
  }
  for (int64_t p = tid; p < P; p += step) {  // threads walk pixels: coalesced across the block
    float mean, mx;
    int32_t index;
    pool_channels(s, xs, p, mean, mx, index);
    s_pool[p] = mean;
    s_pool[P + p] = mx;
    pooled[n * 2 * P + p] = mean;
    pooled[n * 2 * P + P + p] = mx;
    argmax[n * P + p] = index;
  }
  __syncthreads();
  for (int64_t p = tid; p < P; p += step) {
    s_att[p] = sigmoid(conv_at(s, s_pool, s_w, p));
    att[n * P + p] = s_att[p];
  }
  __syncthreads();
  auto ys = y + n * s.C * P;
  for (int64_t i = tid; i < s.C * P; i += step) {
    ys[i] = xs[i] * s_att[i % P];
  }
}

__global__ void __launch_bounds__(kThreads)
    spatial_attention_backward_fused_kernel(MapShape s, dev_ptr<const float> x, dev_ptr<const float> w,
                                            dev_ptr<const float> dy, dev_ptr<const float> pooled,
                                            dev_ptr<const int32_t> argmax, dev_ptr<const float> att,
                                            dev_ptr<float> dx, dev_ptr<float> dw) {
  S2_SHARED(float, s_pool, [2 * kMaxPixels]);
  S2_SHARED(float, s_dlogit, [kMaxPixels]);
  S2_SHARED(float, s_dpool, [2 * kMaxPixels]);
  S2_SHARED(float, s_w, [2 * kMaxKernel * kMaxKernel]);
  const int64_t n = blockIdx.x, tid = threadIdx.x, step = blockDim.x, P = s.pixels();
  const auto xs = x + n * s.C * P;
  const auto dys = dy + n * s.C * P;
  for (int64_t i = tid; i < 2 * s.k * s.k; i += step) {
    s_w[i] = w[i];
  }
  for (int64_t p = tid; p < P; p += step) {
    s_pool[p] = pooled[n * 2 * P + p];
    s_pool[P + p] = pooled[n * 2 * P + P + p];
    float g = 0.0f;
    for (int64_t c = 0; c < s.C; ++c) {
      g += dys[c * P + p] * xs[c * P + p];
    }
    const float a = att[n * P + p];
    s_dlogit[p] = g * a * (1.0f - a);
  }
  __syncthreads();
  for (int64_t i = tid; i < 2 * P; i += step) {
    s_dpool[i] = conv_transpose_at(s, s_dlogit, s_w, i / P, i % P);
  }
  for (int64_t widx = 0; widx < 2 * s.k * s.k; ++widx) {  // uniform loop: every thread reduces each weight
    const int64_t ch = widx / (s.k * s.k), ky = widx / s.k % s.k, kx = widx % s.k;
    float g = 0.0f;
    for (int64_t p = tid; p < P; p += step) {
      const int64_t iy = p / s.W + ky - s.pad(), ix = p % s.W + kx - s.pad();
      if (iy >= 0 && iy < s.H && ix >= 0 && ix < s.W) {
        g += s_dlogit[p] * s_pool[ch * P + iy * s.W + ix];
      }
    }
    g = block_sum(g);
    if (tid == 0) {
      atomicAdd(&dw[widx], g);
    }
  }
  __syncthreads();
  auto dxs = dx + n * s.C * P;
  for (int64_t i = tid; i < s.C * P; i += step) {
    const int64_t c = i / P, p = i % P;
    dxs[i] = dys[i] * att[n * P + p] + s_dpool[p] / static_cast<float>(s.C) +
             (c == argmax[n * P + p] ? s_dpool[P + p] : 0.0f);
  }
}

// ---------------------------------------------------------------- version 3 (whole GPU)

// A warp per (sample, channel) row: y = x * att[sample, pixel].
__global__ void scale_rows_warp_kernel(int64_t rows, int64_t C, int64_t P, dev_ptr<const float> x,
                                       dev_ptr<const float> att, dev_ptr<float> y) {
  const int64_t row = warp_row();
  if (row >= rows) {
    return;
  }
  const auto att_n = att + row / C * P;
  for (int64_t p = threadIdx.x % 32; p < P; p += 32) {
    y[row * P + p] = x[row * P + p] * att_n[p];
  }
}

// A block per conv weight (ch, ky, kx): dw += sum over the batch's pixels of d_logit * the pooled map
// under the tap, a block-wide sum with no atomics (each weight has one block).
__global__ void weight_grad_block_kernel(int64_t N, MapShape s, dev_ptr<const float> d_logit,
                                         dev_ptr<const float> pooled, dev_ptr<float> dw) {
  const int64_t widx = blockIdx.x, P = s.pixels();
  const int64_t ch = widx / (s.k * s.k), ky = widx / s.k % s.k, kx = widx % s.k;
  float g = 0.0f;
  for (int64_t i = threadIdx.x; i < N * P; i += blockDim.x) {
    const int64_t n = i / P, p = i % P;
    const int64_t iy = p / s.W + ky - s.pad(), ix = p % s.W + kx - s.pad();
    if (iy >= 0 && iy < s.H && ix >= 0 && ix < s.W) {
      g += d_logit[i] * pooled[(n * 2 + ch) * P + iy * s.W + ix];
    }
  }
  g = block_sum(g);
  if (threadIdx.x == 0) {
    dw[widx] += g;
  }
}

// A warp per (sample, channel) row: dx = dy att + d_mean / C + (the pixel's arg-max channel ? d_max : 0).
__global__ void input_grad_warp_kernel(int64_t rows, int64_t C, int64_t P, dev_ptr<const float> dy,
                                       dev_ptr<const float> att, dev_ptr<const int32_t> argmax,
                                       dev_ptr<const float> d_pooled, dev_ptr<float> dx) {
  const int64_t row = warp_row();
  if (row >= rows) {
    return;
  }
  const int64_t n = row / C;
  const auto c = static_cast<int32_t>(row % C);
  const float inv_c = 1.0f / static_cast<float>(C);
  for (int64_t p = threadIdx.x % 32; p < P; p += 32) {
    const float d_mean = d_pooled[n * 2 * P + p], d_max = d_pooled[n * 2 * P + P + p];
    dx[row * P + p] =
        dy[row * P + p] * att[n * P + p] + d_mean * inv_c + (argmax[n * P + p] == c ? d_max : 0.0f);
  }
}

void check_version_and_shape(const char* op, int version, int64_t pixels, int64_t kernel) {
  require_version(op, version, spatial_attention_versions());
  if (kernel < 1 || kernel % 2 == 0 || (version == 2 && (pixels > kMaxPixels || kernel > kMaxKernel))) {
    throw std::invalid_argument(
        std::string(op) + ": needs an odd kernel size" +
        (version == 2
             ? " up to " + std::to_string(kMaxKernel) + " and up to " + std::to_string(kMaxPixels) + " pixels"
             : std::string()) +
        ", got kernel " + std::to_string(kernel) + " and " + std::to_string(pixels) + " pixels");
  }
}

}  // namespace

std::vector<KernelVersion> spatial_attention_versions() {
  // As channel attention: naive passes through memory between kernels; fused is one block per sample.
  return {{1, "naive: a thread per item, a kernel per step", false, 0.1},
          {2, "fused: one block per sample, pooled maps in shared memory", false, 0.3},
          // The pooling and dx passes read C values per pixel of every sample at once; the maps in between
          // go through L2 (2 x 360 floats a sample).
          {3,
           "whole GPU: a thread per pixel for pooling and conv, a warp per row for scale and dx, a block "
           "per weight for dw",
           false, 0.5}};
}

void spatial_attention_forward(int version, int64_t N, int64_t C, int64_t H, int64_t W, int64_t k,
                               const float* x, const float* w, const SpatialAttentionSaved& saved, float* y) {
  check_version_and_shape("spatial_attention_forward", version, H * W, k);
  const MapShape s{C, H, W, k};
  const int64_t P = H * W;
  if (version == 3) {
    launch("spatial_pool_v3", pool_pixels_kernel, dim3(blocks_for(N * P, kThreads)), dim3(kThreads), N, s, x,
           saved.pooled, saved.argmax);
    launch("spatial_conv_sigmoid_v3", conv_sigmoid_pixels_kernel, dim3(blocks_for(N * P, kThreads)),
           dim3(kThreads), N, s, saved.pooled, w, saved.att);
    launch("spatial_scale_v3", scale_rows_warp_kernel, dim3(blocks_for(N * C, kThreads / 32)), dim3(kThreads),
           N * C, C, P, x, saved.att, y);
    return;
  }
  if (version == 2) {
    launch("spatial_attention_v2", spatial_attention_fused_kernel, dim3(static_cast<unsigned>(N)),
           dim3(kThreads), s, x, w, saved.pooled, saved.argmax, saved.att, y);
    return;
  }
  launch("spatial_pool_v1", pool_pixels_kernel, dim3(blocks_for(N * P, kThreads)), dim3(kThreads), N, s, x,
         saved.pooled, saved.argmax);
  launch("spatial_conv_sigmoid_v1", conv_sigmoid_pixels_kernel, dim3(blocks_for(N * P, kThreads)),
         dim3(kThreads), N, s, saved.pooled, w, saved.att);
  launch("spatial_scale_v1", scale_pixels_kernel, dim3(blocks_for(N * C * P, kThreads)), dim3(kThreads), N, s,
         x, saved.att, y);
}

void spatial_attention_backward(int version, int64_t N, int64_t C, int64_t H, int64_t W, int64_t k,
                                const float* x, const float* w, const float* dy,
                                const SpatialAttentionSaved& saved, float* dx, float* dw, float* workspace) {
  check_version_and_shape("spatial_attention_backward", version, H * W, k);
  const MapShape s{C, H, W, k};
  const int64_t P = H * W;
  if (version == 2) {
    launch("spatial_attention_backward_v2", spatial_attention_backward_fused_kernel,
           dim3(static_cast<unsigned>(N)), dim3(kThreads), s, x, w, dy, saved.pooled, saved.argmax, saved.att,
           dx, dw);
    return;
  }
  // Versions 1 and 3: the gradient at the conv's output per pixel, then at the pooled maps, through the
  // workspace; then the weight and input gradients, each version its own way.
  float* d_logit = workspace;         // [N, P]
  float* d_pooled = d_logit + N * P;  // [N, 2, P]
  const std::string v = "_v" + std::to_string(version);
  launch(("spatial_logit_grad" + v).c_str(), logit_grad_pixels_kernel, dim3(blocks_for(N * P, kThreads)),
         dim3(kThreads), N, s, x, dy, saved.att, d_logit);
  launch(("spatial_pooled_grad" + v).c_str(), pooled_grad_pixels_kernel,
         dim3(blocks_for(N * 2 * P, kThreads)), dim3(kThreads), N, s, d_logit, w, d_pooled);
  if (version == 3) {
    launch("spatial_weight_grad_v3", weight_grad_block_kernel, dim3(static_cast<unsigned>(2 * k * k)),
           dim3(kThreads), N, s, d_logit, saved.pooled, dw);
    launch("spatial_input_grad_v3", input_grad_warp_kernel, dim3(blocks_for(N * C, kThreads / 32)),
           dim3(kThreads), N * C, C, P, dy, saved.att, saved.argmax, d_pooled, dx);
    return;
  }
  launch("spatial_weight_grad_v1", weight_grad_naive_kernel, dim3(blocks_for(2 * k * k, kThreads)),
         dim3(kThreads), N, s, d_logit, saved.pooled, dw);
  launch("spatial_input_grad_v1", input_grad_naive_kernel, dim3(blocks_for(N * C * P, kThreads)),
         dim3(kThreads), N, s, dy, saved.att, saved.argmax, d_pooled, dx);
}

}  // namespace s2::S2_CUDA_NAMESPACE
