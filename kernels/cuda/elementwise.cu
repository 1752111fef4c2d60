// Elementwise helpers the framework needs for tensors on the device: fill, sum of two buffers
// (gradient accumulation), scaling by a constant (a shard's share of the loss) and device-to-device
// copies.
#include <cstring>

#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

namespace {

constexpr unsigned kThreads = 256;

__global__ void fill_kernel(int64_t n, float value, dev_ptr<float> y) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < n) {
    y[i] = value;
  }
}

__global__ void add_kernel(int64_t n, dev_ptr<const float> a, dev_ptr<const float> b, dev_ptr<float> out) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < n) {
    out[i] = a[i] + b[i];
  }
}

__global__ void scale_kernel(int64_t n, float s, dev_ptr<const float> a, dev_ptr<float> out) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < n) {
    out[i] = a[i] * s;
  }
}

}  // namespace

void fill(int64_t n, float value, float* y) {
  if (n > 0) {
    launch("fill", fill_kernel, dim3(blocks_for(n, kThreads)), dim3(kThreads), n, value, y);
  }
}

void add(int64_t n, const float* a, const float* b, float* out) {
  if (n > 0) {
    launch("add", add_kernel, dim3(blocks_for(n, kThreads)), dim3(kThreads), n, a, b, out);
  }
}

void scale(int64_t n, float s, const float* a, float* out) {
  if (n > 0) {
    launch("scale", scale_kernel, dim3(blocks_for(n, kThreads)), dim3(kThreads), n, s, a, out);
  }
}

}  // namespace s2::S2_CUDA_NAMESPACE
