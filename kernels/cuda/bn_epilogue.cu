// The residual block's epilogue: y = relu?(BN(x) + residual?), BN over (N, H, W) per channel.
// Version 1 runs BN, the add and the ReLU as separate kernels (each a pass over memory); version 2
// fuses them into the normalising pass (and the ReLU mask and residual gradient into backward).
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

namespace {

constexpr unsigned kThreads = 256;

struct Layout {
  int64_t N, C, P;
  __device__ int64_t index(int64_t c, int64_t i) const {
    return (i / P * C + c) * P + i % P;
  }  // i over (n, p)
};

// One block per channel: batch mean and 1/std (two passes, for accuracy), and the running update.
__global__ void bn_stats_kernel(Layout l, dev_ptr<const float> x, float eps, float momentum, bool unbiased,
                                dev_ptr<float> save_mean, dev_ptr<float> save_invstd,
                                dev_ptr<float> running_mean, dev_ptr<float> running_var) {
  const int64_t c = blockIdx.x, count = l.N * l.P;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) {
    s += x[l.index(c, i)];
  }
  const float mean = block_sum(s) / static_cast<float>(count);
  float sq = 0.0f;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) {
    const float d = x[l.index(c, i)] - mean;
    sq += d * d;
  }
  const float m2 = block_sum(sq);
  if (threadIdx.x == 0) {
    const float var = m2 / static_cast<float>(count);
    save_mean[c] = mean;
    save_invstd[c] = rsqrtf(var + eps);
    const float unbiased_var = unbiased && count > 1 ? m2 / static_cast<float>(count - 1) : var;
    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased_var;
  }
}

// y = (x - mean) * invstd * gamma + beta (+ residual) (then ReLU). With `variance`, spread holds
// the variance (inference with running statistics), otherwise 1/std.
__global__ void bn_apply_kernel(Layout l, dev_ptr<const float> x, dev_ptr<const float> residual,
                                dev_ptr<const float> gamma, dev_ptr<const float> beta,
                                dev_ptr<const float> mean, dev_ptr<const float> spread, bool variance,
                                float eps, bool relu, dev_ptr<float> y) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i >= l.N * l.C * l.P) {
    return;
  }
  const int64_t c = i / l.P % l.C;
  const float invstd = variance ? rsqrtf(spread[c] + eps) : spread[c];
  float v = (x[i] - mean[c]) * invstd * gamma[c] + beta[c];
  if (residual) {
    v += residual[i];
  }
  y[i] = relu && v < 0.0f ? 0.0f : v;
}

__global__ void relu_kernel(int64_t n, dev_ptr<float> y) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < n && y[i] < 0.0f) {
    y[i] = 0.0f;
  }
}

// dz = dy masked by the ReLU of the output (v1's separate ReLU backward).
__global__ void relu_backward_kernel(int64_t n, dev_ptr<const float> y, dev_ptr<const float> dy,
                                     dev_ptr<float> dz) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < n) {
    dz[i] = y[i] > 0.0f ? dy[i] : 0.0f;
  }
}

__device__ __forceinline__ float masked_grad(dev_ptr<const float> y, dev_ptr<const float> dy, bool relu,
                                             int64_t i) {
  return relu && !(y[i] > 0.0f) ? 0.0f : dy[i];
}

// One block per channel: dbeta = sum dz, dgamma = sum dz * xhat.
__global__ void bn_backward_reduce_kernel(Layout l, dev_ptr<const float> x, dev_ptr<const float> y,
                                          dev_ptr<const float> dy, bool relu, dev_ptr<const float> save_mean,
                                          dev_ptr<const float> save_invstd, dev_ptr<float> dgamma,
                                          dev_ptr<float> dbeta) {
  const int64_t c = blockIdx.x, count = l.N * l.P;
  const float mean = save_mean[c], invstd = save_invstd[c];
  float sum_dz = 0.0f, sum_dz_xhat = 0.0f;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) {
    const int64_t j = l.index(c, i);
    const float dz = masked_grad(y, dy, relu, j);
    sum_dz += dz;
    sum_dz_xhat += dz * (x[j] - mean) * invstd;
  }
  sum_dz = block_sum(sum_dz);
  sum_dz_xhat = block_sum(sum_dz_xhat);
  if (threadIdx.x == 0) {
    dbeta[c] = sum_dz;
    dgamma[c] = sum_dz_xhat;
  }
}

// dx = gamma * invstd / count * (count * dz - sum dz - xhat * sum dz xhat); dresidual = dz.
__global__ void bn_backward_apply_kernel(Layout l, dev_ptr<const float> x, dev_ptr<const float> y,
                                         dev_ptr<const float> dy, bool relu, dev_ptr<const float> gamma,
                                         dev_ptr<const float> save_mean, dev_ptr<const float> save_invstd,
                                         dev_ptr<const float> dgamma, dev_ptr<const float> dbeta,
                                         dev_ptr<float> dx, dev_ptr<float> dresidual) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i >= l.N * l.C * l.P) {
    return;
  }
  const int64_t c = i / l.P % l.C;
  const auto count = static_cast<float>(l.N * l.P);
  const float dz = masked_grad(y, dy, relu, i);
  const float xhat = (x[i] - save_mean[c]) * save_invstd[c];
  dx[i] = gamma[c] * save_invstd[c] / count * (count * dz - dbeta[c] - xhat * dgamma[c]);
  if (dresidual) {
    dresidual[i] = dz;
  }
}

}  // namespace

std::vector<KernelVersion> bn_epilogue_versions() {
  // Memory-bound: the unfused version makes three passes where the fused one makes one.
  return {{1, "unfused: BN, add and ReLU as separate passes", false, 0.3},
          {2, "fused: BN + add + ReLU in one pass", false, 0.6}};
}

void bn_epilogue_forward_train(int version, const cpu::BatchNormShape& s, const float* x,
                               const float* residual, const float* gamma, const float* beta, float eps,
                               float momentum, bool unbiased_running_var, bool relu, float* y,
                               float* save_mean, float* save_invstd, float* running_mean,
                               float* running_var) {
  require_version("bn_epilogue_forward_train", version, bn_epilogue_versions());
  const Layout l{s.batch, s.channels, s.pixels};
  const int64_t n = s.batch * s.channels * s.pixels;
  launch("bn_stats", bn_stats_kernel, dim3(static_cast<unsigned>(s.channels)), dim3(kThreads), l, x, eps,
         momentum, unbiased_running_var, save_mean, save_invstd, running_mean, running_var);
  const bool fused = version == 2;
  launch(fused ? "bn_add_relu_v2" : "bn_apply_v1", bn_apply_kernel, dim3(blocks_for(n, kThreads)),
         dim3(kThreads), l, x, fused ? residual : nullptr, gamma, beta, save_mean, save_invstd, false, eps,
         fused && relu, y);
  if (!fused && residual != nullptr) {
    add(n, residual, y, y);  // version 1: the residual in its own pass (elementwise.cu)
  }
  if (!fused && relu) {
    launch("relu_v1", relu_kernel, dim3(blocks_for(n, kThreads)), dim3(kThreads), n, y);
  }
}

void bn_epilogue_forward_infer(int version, const cpu::BatchNormShape& s, const float* x,
                               const float* residual, const float* gamma, const float* beta,
                               const float* running_mean, const float* running_var, float eps, bool relu,
                               float* y) {
  require_version("bn_epilogue_forward_infer", version, bn_epilogue_versions());
  const Layout l{s.batch, s.channels, s.pixels};
  const int64_t n = s.batch * s.channels * s.pixels;
  const bool fused = version == 2;
  launch(fused ? "bn_infer_add_relu_v2" : "bn_infer_v1", bn_apply_kernel, dim3(blocks_for(n, kThreads)),
         dim3(kThreads), l, x, fused ? residual : nullptr, gamma, beta, running_mean, running_var, true, eps,
         fused && relu, y);
  if (!fused && residual != nullptr) {
    add(n, residual, y, y);  // version 1: the residual in its own pass (elementwise.cu)
  }
  if (!fused && relu) {
    launch("relu_v1", relu_kernel, dim3(blocks_for(n, kThreads)), dim3(kThreads), n, y);
  }
}

void bn_epilogue_backward(int version, const cpu::BatchNormShape& s, const float* x, const float* y,
                          const float* dy, const float* gamma, const float* save_mean,
                          const float* save_invstd, bool relu, float* dx, float* dresidual, float* dgamma,
                          float* dbeta) {
  require_version("bn_epilogue_backward", version, bn_epilogue_versions());
  const Layout l{s.batch, s.channels, s.pixels};
  const int64_t n = s.batch * s.channels * s.pixels;
  const float* grad = dy;
  bool mask = relu;
  std::unique_ptr<DeviceBuffer<float>> masked;
  if (version == 1 && relu) {  // a separate ReLU-backward pass writes dz
    float* dz = dresidual;
    if (dz == nullptr) {
      masked = std::make_unique<DeviceBuffer<float>>(static_cast<size_t>(n));
      dz = masked->get();
    }
    launch("relu_backward_v1", relu_backward_kernel, dim3(blocks_for(n, kThreads)), dim3(kThreads), n, y, dy,
           dz);
    grad = dz;
    mask = false;
  }
  launch(version == 2 ? "bn_backward_reduce_v2" : "bn_backward_reduce_v1", bn_backward_reduce_kernel,
         dim3(static_cast<unsigned>(s.channels)), dim3(kThreads), l, x, y, grad, mask, save_mean, save_invstd,
         dgamma, dbeta);
  // v1 already wrote dresidual when it masked; without ReLU, dz = dy and the apply pass copies it.
  float* residual_out = version == 1 && relu ? nullptr : dresidual;
  launch(version == 2 ? "bn_backward_apply_v2" : "bn_backward_apply_v1", bn_backward_apply_kernel,
         dim3(blocks_for(n, kThreads)), dim3(kThreads), l, x, y, grad, mask, gamma, save_mean, save_invstd,
         dgamma, dbeta, dx, residual_out);
  synchronize();  // before a temporary is freed
}

}  // namespace s2::S2_CUDA_NAMESPACE
