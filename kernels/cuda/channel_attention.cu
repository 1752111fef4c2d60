// Channel attention of CBAM: y = x * sigmoid(MLP(avgpool(x)) + MLP(maxpool(x))) per (sample, channel),
// with the shared MLP C -> hidden -> C (ReLU, biases). Version 1 is naive (a thread per item, one
// kernel per step, temporaries for backward); version 2 is fused: one kernel pools (a warp per row)
// and one block per sample runs the MLP, sigmoid and scale, and one block per sample does backward.
// Version 3 spreads the passes over the tensor across the whole GPU (a warp per row, every row of the
// batch at once) and keeps one block per sample only for the MLP, a warp per row of each layer.
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

namespace {

constexpr int64_t kMaxChannels = 1024, kMaxHidden = 256;  // shared-memory bounds of version 2
constexpr unsigned kThreads = 256;

__device__ __forceinline__ float relu(float v) {
  return v > 0.0f ? v : 0.0f;
}

// Hidden pre-activation j of the MLP for a pooled vector v of C values.
__device__ __forceinline__ float hidden_pre(dev_ptr<const float> w1, dev_ptr<const float> b1, int64_t C,
                                            int64_t j, dev_ptr<const float> v) {
  float h = b1[j];
  for (int64_t c = 0; c < C; ++c) {
    h += w1[j * C + c] * v[c];
  }
  return h;
}

// ---------------------------------------------------------------- version 1 (naive)

__global__ void pool_rows_naive_kernel(int64_t rows, int64_t P, dev_ptr<const float> x, dev_ptr<float> avg,
                                       dev_ptr<float> mx, dev_ptr<int32_t> argmax) {
  const int64_t r = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (r >= rows) {
    return;
  }
  float s = 0.0f, m = x[r * P];
  int32_t mi = 0;
  for (int64_t p = 0; p < P; ++p) {
    const float v = x[r * P + p];
    s += v;
    if (v > m) {
      m = v;
      mi = static_cast<int32_t>(p);
    }
  }
  avg[r] = s / static_cast<float>(P);
  mx[r] = m;
  argmax[r] = mi;
}

__global__ void attention_naive_kernel(int64_t N, int64_t C, int64_t H, dev_ptr<const float> w1,
                                       dev_ptr<const float> b1, dev_ptr<const float> w2,
                                       dev_ptr<const float> b2, dev_ptr<const float> avg,
                                       dev_ptr<const float> mx, dev_ptr<float> att) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i >= N * C) {
    return;
  }
  const int64_t n = i / C, c = i % C;
  float o = 2.0f * b2[c];
  for (int64_t j = 0; j < H; ++j) {
    o += w2[c * H + j] *
         (relu(hidden_pre(w1, b1, C, j, avg + n * C)) + relu(hidden_pre(w1, b1, C, j, mx + n * C)));
  }
  att[i] = sigmoid(o);
}

__global__ void scale_rows_kernel(int64_t total, int64_t P, dev_ptr<const float> x,
                                  dev_ptr<const float> scale, dev_ptr<float> y) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < total) {
    y[i] = x[i] * scale[i / P];
  }
}

// d_o[n, c]: gradient at the MLP output (before the sigmoid).
__global__ void output_grad_naive_kernel(int64_t rows, int64_t P, dev_ptr<const float> x,
                                         dev_ptr<const float> dy, dev_ptr<const float> att,
                                         dev_ptr<float> d_out) {
  const int64_t r = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (r >= rows) {
    return;
  }
  float s = 0.0f;
  for (int64_t p = 0; p < P; ++p) {
    s += dy[r * P + p] * x[r * P + p];
  }
  d_out[r] = s * att[r] * (1.0f - att[r]);
}

// Per (n, j): the hidden pre-activations of both paths and their gradients (layout [n][path][j]).
__global__ void hidden_grad_naive_kernel(int64_t N, int64_t C, int64_t H, dev_ptr<const float> w1,
                                         dev_ptr<const float> b1, dev_ptr<const float> w2,
                                         dev_ptr<const float> avg, dev_ptr<const float> mx,
                                         dev_ptr<const float> d_out, dev_ptr<float> pre,
                                         dev_ptr<float> d_hidden) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i >= N * H) {
    return;
  }
  const int64_t n = i / H, j = i % H;
  const float pa = hidden_pre(w1, b1, C, j, avg + n * C), pm = hidden_pre(w1, b1, C, j, mx + n * C);
  float g = 0.0f;
  for (int64_t c = 0; c < C; ++c) {
    g += w2[c * H + j] * d_out[n * C + c];
  }
  pre[(n * 2) * H + j] = pa;
  pre[(n * 2 + 1) * H + j] = pm;
  d_hidden[(n * 2) * H + j] = pa > 0.0f ? g : 0.0f;
  d_hidden[(n * 2 + 1) * H + j] = pm > 0.0f ? g : 0.0f;
}

// One thread per parameter of the MLP, summing over the batch.
__global__ void mlp_param_grad_naive_kernel(int64_t N, int64_t C, int64_t H, dev_ptr<const float> avg,
                                            dev_ptr<const float> mx, dev_ptr<const float> d_out,
                                            dev_ptr<const float> pre, dev_ptr<const float> d_hidden,
                                            dev_ptr<float> gw1, dev_ptr<float> gb1, dev_ptr<float> gw2,
                                            dev_ptr<float> gb2) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const int64_t w_count = C * H;
  float s = 0.0f;
  if (i < w_count) {  // w2[c, j]
    const int64_t c = i / H, j = i % H;
    for (int64_t n = 0; n < N; ++n) {
      s += d_out[n * C + c] * (relu(pre[n * 2 * H + j]) + relu(pre[(n * 2 + 1) * H + j]));
    }
    gw2[i] += s;
  } else if (i < 2 * w_count) {  // w1[j, c]
    const int64_t j = (i - w_count) / C, c = (i - w_count) % C;
    for (int64_t n = 0; n < N; ++n) {
      s += d_hidden[n * 2 * H + j] * avg[n * C + c] + d_hidden[(n * 2 + 1) * H + j] * mx[n * C + c];
    }
    gw1[i - w_count] += s;
  } else if (i < 2 * w_count + C) {  // b2[c]
    const int64_t c = i - 2 * w_count;
    for (int64_t n = 0; n < N; ++n) {
      s += 2.0f * d_out[n * C + c];
    }
    gb2[c] += s;
  } else if (i < 2 * w_count + C + H) {  // b1[j]
    const int64_t j = i - 2 * w_count - C;
    for (int64_t n = 0; n < N; ++n) {
      s += d_hidden[n * 2 * H + j] + d_hidden[(n * 2 + 1) * H + j];
    }
    gb1[j] += s;
  }
}

__global__ void input_grad_naive_kernel(int64_t N, int64_t C, int64_t P, int64_t H, dev_ptr<const float> w1,
                                        dev_ptr<const float> dy, dev_ptr<const float> att,
                                        dev_ptr<const int32_t> argmax, dev_ptr<const float> d_hidden,
                                        dev_ptr<float> dx) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i >= N * C * P) {
    return;
  }
  const int64_t r = i / P, p = i % P, n = r / C, c = r % C;
  float d_avg = 0.0f, d_max = 0.0f;
  for (int64_t j = 0; j < H; ++j) {
    d_avg += w1[j * C + c] * d_hidden[n * 2 * H + j];
    d_max += w1[j * C + c] * d_hidden[(n * 2 + 1) * H + j];
  }
  dx[i] = dy[i] * att[r] + d_avg / static_cast<float>(P) + (p == argmax[r] ? d_max : 0.0f);
}

// ---------------------------------------------------------------- version 2 (fused)

// One warp per (sample, channel) row: sum, max and first arg-max over the pixels.
__global__ void channel_pool_kernel(int64_t rows, int64_t P, dev_ptr<const float> x, dev_ptr<float> avg,
                                    dev_ptr<float> mx, dev_ptr<int32_t> argmax) {
  const int64_t row = warp_row();
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) {
    return;  // the whole warp leaves together
  }
  float s = 0.0f, m = -INFINITY;
  int index = static_cast<int>(P);
  for (int64_t p = lane; p < P; p += 32) {
    const float v = x[row * P + p];
    s += v;
    if (v > m) {
      m = v;
      index = static_cast<int>(p);
    }
  }
  s = warp_sum(s);
  warp_argmax(m, index);
  if (lane == 0) {
    avg[row] = s / static_cast<float>(P);
    mx[row] = m;
    argmax[row] = index;
  }
}

// Block-wide: loads sample n's pooled vectors into shared memory and computes the MLP's hidden
// pre-activations for both (the fused forward and backward both start here).
__device__ __forceinline__ void pooled_and_hidden(int64_t n, int64_t C, int64_t H, dev_ptr<const float> w1,
                                                  dev_ptr<const float> b1, dev_ptr<const float> avg,
                                                  dev_ptr<const float> mx, smem_ptr<float> s_avg,
                                                  smem_ptr<float> s_max, smem_ptr<float> pre_avg,
                                                  smem_ptr<float> pre_max) {
  const int64_t tid = threadIdx.x, step = blockDim.x;
  for (int64_t c = tid; c < C; c += step) {
    s_avg[c] = avg[n * C + c];
    s_max[c] = mx[n * C + c];
  }
  __syncthreads();
  for (int64_t j = tid; j < H; j += step) {
    float ha = b1[j], hm = b1[j];
    for (int64_t c = 0; c < C; ++c) {
      ha += w1[j * C + c] * s_avg[c];
      hm += w1[j * C + c] * s_max[c];
    }
    pre_avg[j] = ha;
    pre_max[j] = hm;
  }
}

// One block per sample: the MLP on both pooled vectors, the sigmoid, and the scaling of x.
__global__ void __launch_bounds__(kThreads)
    channel_mlp_scale_kernel(int64_t C, int64_t P, int64_t H, dev_ptr<const float> x, dev_ptr<const float> w1,
                             dev_ptr<const float> b1, dev_ptr<const float> w2, dev_ptr<const float> b2,
                             dev_ptr<const float> avg, dev_ptr<const float> mx, dev_ptr<float> att,
                             dev_ptr<float> y) {
  S2_SHARED(float, s_avg, [kMaxChannels]);
  S2_SHARED(float, s_max, [kMaxChannels]);
  S2_SHARED(float, s_att, [kMaxChannels]);
  S2_SHARED(float, pre_avg, [kMaxHidden]);
  S2_SHARED(float, pre_max, [kMaxHidden]);
  const int64_t n = blockIdx.x, tid = threadIdx.x, step = blockDim.x;
  pooled_and_hidden(n, C, H, w1, b1, avg, mx, s_avg, s_max, pre_avg, pre_max);
  __syncthreads();
  for (int64_t c = tid; c < C; c += step) {
    float o = 2.0f * b2[c];
    for (int64_t j = 0; j < H; ++j) {  // W2 is linear: W2 h_avg + W2 h_max = W2 (h_avg + h_max)
      o += w2[c * H + j] * (relu(pre_avg[j]) + relu(pre_max[j]));
    }
    s_att[c] = sigmoid(o);
    att[n * C + c] = s_att[c];
  }
  __syncthreads();
  const auto xs = x + n * C * P;
  auto ys = y + n * C * P;
  for (int64_t i = tid; i < C * P; i += step) {
    ys[i] = xs[i] * s_att[i / P];
  }
}

// One block per sample: the whole backward, with the parameter gradients added atomically.
__global__ void __launch_bounds__(kThreads) channel_attention_backward_kernel(
    int64_t C, int64_t P, int64_t H, dev_ptr<const float> x, dev_ptr<const float> dy, dev_ptr<const float> w1,
    dev_ptr<const float> b1, dev_ptr<const float> w2, dev_ptr<const float> avg, dev_ptr<const float> mx,
    dev_ptr<const int32_t> argmax, dev_ptr<const float> att, dev_ptr<float> dx, dev_ptr<float> gw1,
    dev_ptr<float> gb1, dev_ptr<float> gw2, dev_ptr<float> gb2) {
  S2_SHARED(float, s_avg, [kMaxChannels]);
  S2_SHARED(float, s_max, [kMaxChannels]);
  S2_SHARED(float, s_dout, [kMaxChannels]);
  S2_SHARED(float, s_davg, [kMaxChannels]);
  S2_SHARED(float, s_dmax, [kMaxChannels]);
  S2_SHARED(float, pre_avg, [kMaxHidden]);
  S2_SHARED(float, pre_max, [kMaxHidden]);
  S2_SHARED(float, d_avg_h, [kMaxHidden]);
  S2_SHARED(float, d_max_h, [kMaxHidden]);
  const int64_t n = blockIdx.x, tid = threadIdx.x, step = blockDim.x;
  const int64_t lane = tid % 32, warp = tid / 32, warps = step / 32;
  const auto xs = x + n * C * P;
  const auto dys = dy + n * C * P;
  pooled_and_hidden(n, C, H, w1, b1, avg, mx, s_avg, s_max, pre_avg, pre_max);
  for (int64_t c = warp; c < C; c += warps) {  // a warp per channel row
    float s = 0.0f;
    for (int64_t p = lane; p < P; p += 32) {
      s += dys[c * P + p] * xs[c * P + p];
    }
    s = warp_sum(s);
    if (lane == 0) {
      const float a = att[n * C + c];
      s_dout[c] = s * a * (1.0f - a);
    }
  }
  __syncthreads();
  for (int64_t i = tid; i < C * H; i += step) {
    const int64_t c = i / H, j = i % H;
    atomicAdd(&gw2[i], s_dout[c] * (relu(pre_avg[j]) + relu(pre_max[j])));
  }
  for (int64_t c = tid; c < C; c += step) {
    atomicAdd(&gb2[c], 2.0f * s_dout[c]);
  }
  for (int64_t j = tid; j < H; j += step) {
    float g = 0.0f;
    for (int64_t c = 0; c < C; ++c) {
      g += w2[c * H + j] * s_dout[c];
    }
    d_avg_h[j] = pre_avg[j] > 0.0f ? g : 0.0f;
    d_max_h[j] = pre_max[j] > 0.0f ? g : 0.0f;
    atomicAdd(&gb1[j], d_avg_h[j] + d_max_h[j]);
  }
  __syncthreads();
  for (int64_t i = tid; i < H * C; i += step) {
    const int64_t j = i / C, c = i % C;
    atomicAdd(&gw1[i], d_avg_h[j] * s_avg[c] + d_max_h[j] * s_max[c]);
  }
  for (int64_t c = tid; c < C; c += step) {
    float da = 0.0f, dm = 0.0f;
    for (int64_t j = 0; j < H; ++j) {
      da += w1[j * C + c] * d_avg_h[j];
      dm += w1[j * C + c] * d_max_h[j];
    }
    s_davg[c] = da / static_cast<float>(P);
    s_dmax[c] = dm;
  }
  __syncthreads();
  auto dxs = dx + n * C * P;
  for (int64_t i = tid; i < C * P; i += step) {
    const int64_t c = i / P, p = i % P;
    dxs[i] = dys[i] * att[n * C + c] + s_davg[c] + (p == argmax[n * C + c] ? s_dmax[c] : 0.0f);
  }
}

// ---------------------------------------------------------------- version 3 (whole GPU)

// A warp per (sample, channel) row of the batch, blockDim.x / 32 rows per block: y = x * att[row].
__global__ void scale_rows_warp_kernel(int64_t rows, int64_t P, dev_ptr<const float> x,
                                       dev_ptr<const float> att, dev_ptr<float> y) {
  const int64_t row = warp_row();
  if (row >= rows) {
    return;
  }
  const float a = att[row];
  for (int64_t p = threadIdx.x % 32; p < P; p += 32) {
    y[row * P + p] = x[row * P + p] * a;
  }
}

// One block per sample, a warp per row of each layer: hidden unit j is a warp's dot product over the C
// channels, output c a warp's over the hidden units. Writes att = sigmoid(MLP(avg) + MLP(max)).
__global__ void __launch_bounds__(kThreads)
    channel_mlp_warp_kernel(int64_t C, int64_t H, dev_ptr<const float> w1, dev_ptr<const float> b1,
                            dev_ptr<const float> w2, dev_ptr<const float> b2, dev_ptr<const float> avg,
                            dev_ptr<const float> mx, dev_ptr<float> att) {
  S2_SHARED(float, hidden_sum, [kMaxHidden]);  // relu(h_avg) + relu(h_max)
  const int64_t n = blockIdx.x, lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int64_t j = warp; j < H; j += warps) {
    float ha = 0.0f, hm = 0.0f;
    for (int64_t c = lane; c < C; c += 32) {
      const float w = w1[j * C + c];
      ha += w * avg[n * C + c];
      hm += w * mx[n * C + c];
    }
    ha = warp_sum(ha);
    hm = warp_sum(hm);
    if (lane == 0) {
      hidden_sum[j] = relu(ha + b1[j]) + relu(hm + b1[j]);
    }
  }
  __syncthreads();
  for (int64_t c = warp; c < C; c += warps) {
    float o = 0.0f;
    for (int64_t j = lane; j < H; j += 32) {  // W2 is linear: W2 h_avg + W2 h_max = W2 (h_avg + h_max)
      o += w2[c * H + j] * hidden_sum[j];
    }
    o = warp_sum(o);
    if (lane == 0) {
      att[n * C + c] = sigmoid(o + 2.0f * b2[c]);
    }
  }
}

// A warp per row: d_out[row] = (dy . x over the row's pixels) att (1 - att), the gradient at the MLP's
// output.
__global__ void output_grad_warp_kernel(int64_t rows, int64_t P, dev_ptr<const float> x,
                                        dev_ptr<const float> dy, dev_ptr<const float> att,
                                        dev_ptr<float> d_out) {
  const int64_t row = warp_row();
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) {
    return;
  }
  float s = 0.0f;
  for (int64_t p = lane; p < P; p += 32) {
    s += dy[row * P + p] * x[row * P + p];
  }
  s = warp_sum(s);
  if (lane == 0) {
    const float a = att[row];
    d_out[row] = s * a * (1.0f - a);
  }
}

// One block per sample, a warp per row: the MLP's backward from d_out. Adds the parameter gradients
// (atomically, across samples) and writes the pooled vectors' gradients d_pool [N, 2, C]: the average's
// already divided by the pixel count, then the maximum's.
__global__ void __launch_bounds__(kThreads)
    channel_mlp_backward_warp_kernel(int64_t C, int64_t P, int64_t H, dev_ptr<const float> w1,
                                     dev_ptr<const float> b1, dev_ptr<const float> w2,
                                     dev_ptr<const float> avg, dev_ptr<const float> mx,
                                     dev_ptr<const float> d_out, dev_ptr<float> gw1, dev_ptr<float> gb1,
                                     dev_ptr<float> gw2, dev_ptr<float> gb2, dev_ptr<float> d_pool) {
  S2_SHARED(float, relu_sum, [kMaxHidden]);  // relu(h_avg) + relu(h_max)
  S2_SHARED(float, dh_avg, [kMaxHidden]);
  S2_SHARED(float, dh_max, [kMaxHidden]);
  const int64_t n = blockIdx.x, tid = threadIdx.x, step = blockDim.x;
  const int64_t lane = tid % 32, warp = tid / 32, warps = step / 32;
  const auto avg_n = avg + n * C;
  const auto max_n = mx + n * C;
  const auto d_out_n = d_out + n * C;
  for (int64_t j = warp; j < H; j += warps) {
    float ha = 0.0f, hm = 0.0f, g = 0.0f;
    for (int64_t c = lane; c < C; c += 32) {
      const float w = w1[j * C + c];
      ha += w * avg_n[c];
      hm += w * max_n[c];
      g += w2[c * H + j] * d_out_n[c];
    }
    ha = warp_sum(ha);
    hm = warp_sum(hm);
    g = warp_sum(g);
    if (lane == 0) {
      ha += b1[j];
      hm += b1[j];
      relu_sum[j] = relu(ha) + relu(hm);
      dh_avg[j] = ha > 0.0f ? g : 0.0f;
      dh_max[j] = hm > 0.0f ? g : 0.0f;
      atomicAdd(&gb1[j], dh_avg[j] + dh_max[j]);
    }
  }
  __syncthreads();
  for (int64_t i = tid; i < C * H; i += step) {
    atomicAdd(&gw2[i], d_out_n[i / H] * relu_sum[i % H]);
  }
  for (int64_t c = tid; c < C; c += step) {
    atomicAdd(&gb2[c], 2.0f * d_out_n[c]);
  }
  for (int64_t i = tid; i < H * C; i += step) {
    const int64_t j = i / C, c = i % C;
    atomicAdd(&gw1[i], dh_avg[j] * avg_n[c] + dh_max[j] * max_n[c]);
  }
  for (int64_t c = warp; c < C; c += warps) {
    float da = 0.0f, dm = 0.0f;
    for (int64_t j = lane; j < H; j += 32) {
      const float w = w1[j * C + c];
      da += w * dh_avg[j];
      dm += w * dh_max[j];
    }
    da = warp_sum(da);
    dm = warp_sum(dm);
    if (lane == 0) {
      d_pool[(n * 2) * C + c] = da / static_cast<float>(P);
      d_pool[(n * 2 + 1) * C + c] = dm;
    }
  }
}

// A warp per row: dx = dy att + d_avg / P + (the row's arg-max pixel ? d_max : 0).
__global__ void input_grad_warp_kernel(int64_t rows, int64_t C, int64_t P, dev_ptr<const float> dy,
                                       dev_ptr<const float> att, dev_ptr<const int32_t> argmax,
                                       dev_ptr<const float> d_pool, dev_ptr<float> dx) {
  const int64_t row = warp_row();
  if (row >= rows) {
    return;
  }
  const int64_t n = row / C, c = row % C;
  const float a = att[row], d_avg = d_pool[(n * 2) * C + c], d_max = d_pool[(n * 2 + 1) * C + c];
  const int32_t peak = argmax[row];
  for (int64_t p = threadIdx.x % 32; p < P; p += 32) {
    dx[row * P + p] = dy[row * P + p] * a + d_avg + (p == peak ? d_max : 0.0f);
  }
}

void check_version_and_shape(const char* op, int version, int64_t channels, int64_t hidden) {
  require_version(op, version, channel_attention_versions());
  if (version == 3 && hidden > kMaxHidden) {
    throw std::invalid_argument(std::string(op) + " version 3 supports up to " + std::to_string(kMaxHidden) +
                                " hidden units, got " + std::to_string(hidden));
  }
  if (version == 2 && (channels > kMaxChannels || hidden > kMaxHidden)) {
    throw std::invalid_argument(std::string(op) + " version 2 supports up to " +
                                std::to_string(kMaxChannels) + " channels and " + std::to_string(kMaxHidden) +
                                " hidden units, got " + std::to_string(channels) + " and " +
                                std::to_string(hidden));
  }
}

}  // namespace

std::vector<KernelVersion> channel_attention_versions() {
  // Memory-bound. Naive: a thread walks a whole row (uncoalesced) and temporaries go through memory;
  // fused: coalesced, but one block per sample leaves SMs idle (64 blocks on 132 SMs at batch 64).
  return {{1, "naive: a thread per item, a kernel per step", false, 0.1},
          {2, "fused: warp-per-row pooling + one block per sample for MLP, sigmoid and scale", false, 0.3},
          // Every pass over the tensor spreads over N x C / 8 blocks; the per-sample MLP blocks are small.
          {3, "whole GPU: a warp per row for pooling, scaling and gradients; a warp per row of the MLP",
           false, 0.5}};
}

void channel_attention_forward(int version, int64_t N, int64_t C, int64_t P, const float* x,
                               const ChannelMlp& mlp, const ChannelAttentionSaved& saved, float* y) {
  check_version_and_shape("channel_attention_forward", version, C, mlp.hidden);
  const int64_t rows = N * C;
  if (version == 1) {
    launch("channel_pool_v1", pool_rows_naive_kernel, dim3(blocks_for(rows, kThreads)), dim3(kThreads), rows,
           P, x, saved.avg, saved.max, saved.argmax);
    launch("channel_attention_mlp_v1", attention_naive_kernel, dim3(blocks_for(rows, kThreads)),
           dim3(kThreads), N, C, mlp.hidden, mlp.w1, mlp.b1, mlp.w2, mlp.b2, saved.avg, saved.max, saved.att);
    launch("channel_scale_v1", scale_rows_kernel, dim3(blocks_for(rows * P, kThreads)), dim3(kThreads),
           rows * P, P, x, saved.att, y);
    return;
  }
  const dim3 row_blocks(blocks_for(rows, kThreads / 32));
  if (version == 3) {
    launch("channel_pool_v3", channel_pool_kernel, row_blocks, dim3(kThreads), rows, P, x, saved.avg,
           saved.max, saved.argmax);
    launch("channel_mlp_v3", channel_mlp_warp_kernel, dim3(static_cast<unsigned>(N)), dim3(kThreads), C,
           mlp.hidden, mlp.w1, mlp.b1, mlp.w2, mlp.b2, saved.avg, saved.max, saved.att);
    launch("channel_scale_v3", scale_rows_warp_kernel, row_blocks, dim3(kThreads), rows, P, x, saved.att, y);
    return;
  }
  launch("channel_pool_v2", channel_pool_kernel, row_blocks, dim3(kThreads), rows, P, x, saved.avg, saved.max,
         saved.argmax);
  launch("channel_mlp_scale_v2", channel_mlp_scale_kernel, dim3(static_cast<unsigned>(N)), dim3(kThreads), C,
         P, mlp.hidden, x, mlp.w1, mlp.b1, mlp.w2, mlp.b2, saved.avg, saved.max, saved.att, y);
}

void channel_attention_backward(int version, int64_t N, int64_t C, int64_t P, const float* x, const float* dy,
                                const ChannelMlp& mlp, const ChannelAttentionSaved& saved, float* dx,
                                const ChannelMlpGrads& grads, float* workspace) {
  check_version_and_shape("channel_attention_backward", version, C, mlp.hidden);
  const int64_t H = mlp.hidden, rows = N * C;
  if (version == 3) {
    float* d_out = workspace;      // [N, C]
    float* d_pool = d_out + rows;  // [N, 2, C]
    const dim3 row_blocks(blocks_for(rows, kThreads / 32));
    launch("channel_output_grad_v3", output_grad_warp_kernel, row_blocks, dim3(kThreads), rows, P, x, dy,
           saved.att, d_out);
    launch("channel_mlp_backward_v3", channel_mlp_backward_warp_kernel, dim3(static_cast<unsigned>(N)),
           dim3(kThreads), C, P, H, mlp.w1, mlp.b1, mlp.w2, saved.avg, saved.max, d_out, grads.w1, grads.b1,
           grads.w2, grads.b2, d_pool);
    launch("channel_input_grad_v3", input_grad_warp_kernel, row_blocks, dim3(kThreads), rows, C, P, dy,
           saved.att, saved.argmax, d_pool, dx);
    return;
  }
  if (version == 2) {
    launch("channel_attention_backward_v2", channel_attention_backward_kernel, dim3(static_cast<unsigned>(N)),
           dim3(kThreads), C, P, H, x, dy, mlp.w1, mlp.b1, mlp.w2, saved.avg, saved.max, saved.argmax,
           saved.att, dx, grads.w1, grads.b1, grads.w2, grads.b2);
    return;
  }
  DeviceBuffer<float> d_out(static_cast<size_t>(rows)), pre(static_cast<size_t>(N * 2 * H)),
      d_hidden(static_cast<size_t>(N * 2 * H));
  launch("channel_output_grad_v1", output_grad_naive_kernel, dim3(blocks_for(rows, kThreads)), dim3(kThreads),
         rows, P, x, dy, saved.att, d_out.get());
  launch("channel_hidden_grad_v1", hidden_grad_naive_kernel, dim3(blocks_for(N * H, kThreads)),
         dim3(kThreads), N, C, H, mlp.w1, mlp.b1, mlp.w2, saved.avg, saved.max, d_out.get(), pre.get(),
         d_hidden.get());
  const int64_t params = 2 * C * H + C + H;
  launch("channel_mlp_param_grad_v1", mlp_param_grad_naive_kernel, dim3(blocks_for(params, kThreads)),
         dim3(kThreads), N, C, H, saved.avg, saved.max, d_out.get(), pre.get(), d_hidden.get(), grads.w1,
         grads.b1, grads.w2, grads.b2);
  launch("channel_input_grad_v1", input_grad_naive_kernel, dim3(blocks_for(rows * P, kThreads)),
         dim3(kThreads), N, C, P, H, mlp.w1, dy, saved.att, saved.argmax, d_hidden.get(), dx);
  synchronize();  // the temporaries are freed on return
}

}  // namespace s2::S2_CUDA_NAMESPACE
