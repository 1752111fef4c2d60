// The rest of a training step on the device: global average pooling (the head), softmax
// cross-entropy and the Adam update, so that no step falls back to the host.
#include <cmath>

#include "kernels/adam_math.h"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

namespace {

constexpr unsigned kThreads = 256;

// A warp per row.
__global__ void avg_pool_rows_kernel(int64_t rows, int64_t pixels, dev_ptr<const float> x, dev_ptr<float> y) {
  const int64_t row = int64_t{blockIdx.x} * (blockDim.x / 32) + threadIdx.x / 32;
  const int64_t lane = threadIdx.x % 32;
  if (row >= rows) {
    return;
  }
  float s = 0.0f;
  for (int64_t p = lane; p < pixels; p += 32) {
    s += x[row * pixels + p];
  }
  s = warp_sum(s);
  if (lane == 0) {
    y[row] = s / static_cast<float>(pixels);
  }
}

__global__ void avg_pool_backward_kernel(int64_t rows, int64_t pixels, dev_ptr<const float> dy,
                                         dev_ptr<float> dx) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < rows * pixels) {
    dx[i] = dy[i / pixels] / static_cast<float>(pixels);
  }
}

__device__ __forceinline__ float class_weight(dev_ptr<const float> weights, int32_t label) {
  return weights ? weights[label] : 1.0f;
}

// One block: a warp per sample computes the softmax and its loss; the block sums the weighted losses.
__global__ void softmax_cross_entropy_kernel(int64_t batch, int64_t classes, dev_ptr<const float> logits,
                                             dev_ptr<const int32_t> labels, dev_ptr<const float> weights,
                                             dev_ptr<float> probs, dev_ptr<float> loss) {
  const int64_t lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  float weighted_loss = 0.0f, weight_total = 0.0f;
  for (int64_t i = warp; i < batch; i += warps) {
    const auto z = logits + i * classes;
    float zmax = -INFINITY;
    for (int64_t k = lane; k < classes; k += 32) {
      zmax = fmaxf(zmax, z[k]);
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
      zmax = fmaxf(zmax, __shfl_xor_sync(kFullMask, zmax, offset));
    }
    float denom = 0.0f;
    for (int64_t k = lane; k < classes; k += 32) {
      denom += expf(z[k] - zmax);
    }
    denom = __shfl_sync(kFullMask, warp_sum(denom), 0);
    const float log_denom = logf(denom);
    for (int64_t k = lane; k < classes; k += 32) {
      probs[i * classes + k] = expf(z[k] - zmax - log_denom);
    }
    if (lane == 0) {
      const int32_t y = labels[i];
      const float w = class_weight(weights, y);
      weighted_loss += w * (log_denom - (z[y] - zmax));
      weight_total += w;
    }
  }
  weighted_loss = block_sum(weighted_loss);
  weight_total = block_sum(weight_total);
  if (threadIdx.x == 0) {
    loss[0] = weighted_loss / weight_total;
  }
}

// One block: the weight total, then dlogits = grad * w[y] / total * (p - onehot).
__global__ void softmax_cross_entropy_backward_kernel(int64_t batch, int64_t classes,
                                                      dev_ptr<const float> probs,
                                                      dev_ptr<const int32_t> labels,
                                                      dev_ptr<const float> weights, float grad_loss,
                                                      dev_ptr<float> dlogits) {
  float total = 0.0f;
  for (int64_t i = threadIdx.x; i < batch; i += blockDim.x) {
    total += class_weight(weights, labels[i]);
  }
  total = block_sum(total);
  for (int64_t j = threadIdx.x; j < batch * classes; j += blockDim.x) {
    const int64_t i = j / classes, k = j % classes;
    const int32_t y = labels[i];
    dlogits[j] = grad_loss * class_weight(weights, y) / total * (probs[j] - (k == y ? 1.0f : 0.0f));
  }
}

__global__ void adam_kernel(int64_t n, dev_ptr<float> param, dev_ptr<const float> grad, dev_ptr<float> m,
                            dev_ptr<float> v, cpu::AdamStep s, float step_size, float inv_sqrt_bc2) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i >= n) {
    return;
  }
  float p = param[i], mi = m[i], vi = v[i];  // in registers, then stored once
  adam_element(p, grad[i], mi, vi, s, step_size, inv_sqrt_bc2);
  param[i] = p;
  m[i] = mi;
  v[i] = vi;
}

}  // namespace

void global_avg_pool_forward(int64_t rows, int64_t pixels, const float* x, float* y) {
  launch("global_avg_pool", avg_pool_rows_kernel, dim3(blocks_for(rows, kThreads / 32)), dim3(kThreads), rows,
         pixels, x, y);
}

void global_avg_pool_backward(int64_t rows, int64_t pixels, const float* dy, float* dx) {
  launch("global_avg_pool_backward", avg_pool_backward_kernel, dim3(blocks_for(rows * pixels, kThreads)),
         dim3(kThreads), rows, pixels, dy, dx);
}

void softmax_cross_entropy_forward(int64_t batch, int64_t classes, const float* logits, const int32_t* labels,
                                   const float* class_weights, float* probs, float* loss) {
  launch("softmax_cross_entropy", softmax_cross_entropy_kernel, dim3(1), dim3(kThreads), batch, classes,
         logits, labels, class_weights, probs, loss);
}

void softmax_cross_entropy_backward(int64_t batch, int64_t classes, const float* probs, const int32_t* labels,
                                    const float* class_weights, float grad_loss, float* dlogits) {
  launch("softmax_cross_entropy_backward", softmax_cross_entropy_backward_kernel, dim3(1), dim3(kThreads),
         batch, classes, probs, labels, class_weights, grad_loss, dlogits);
}

void adam_update(int64_t n, float* param, const float* grad, float* m, float* v, const cpu::AdamStep& step) {
  const AdamScalars k = adam_scalars(step);
  launch("adam", adam_kernel, dim3(blocks_for(n, kThreads)), dim3(kThreads), n, param, grad, m, v, step,
         k.step_size, k.inv_sqrt_bc2);
}

}  // namespace s2::S2_CUDA_NAMESPACE
