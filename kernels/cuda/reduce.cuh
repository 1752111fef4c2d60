#pragma once
// Warp and block reductions. Blocks that call them have a multiple of 32 threads.
#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

constexpr unsigned kFullMask = 0xffffffffu;

// The row this thread's warp works on when every warp of the grid takes one (blockDim.x / 32 a block).
__device__ __forceinline__ int64_t warp_row() {
  return int64_t{blockIdx.x} * (blockDim.x / 32) + threadIdx.x / 32;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    v += __shfl_down_sync(kFullMask, v, offset);
  }
  return v;  // in lane 0
}

// Max and its index; ties keep the lower index, as the CPU kernels do.
__device__ __forceinline__ void warp_argmax(float& v, int& index) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float ov = __shfl_down_sync(kFullMask, v, offset);
    const int oi = __shfl_down_sync(kFullMask, index, offset);
    if (ov > v || (ov == v && oi < index)) {
      v = ov;
      index = oi;
    }
  }
}

// Sum over the block, returned to every thread. Safe to call repeatedly.
__device__ __forceinline__ float block_sum(float v) {
  S2_SHARED(float, partial, [32]);
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_sum(v);
  if (lane == 0) {
    partial[warp] = v;
  }
  __syncthreads();
  float total = 0.0f;
  for (unsigned w = 0; w < blockDim.x / 32; ++w) {
    total += partial[w];
  }
  __syncthreads();  // partial is reused by the next call
  return total;
}

}  // namespace s2::S2_CUDA_NAMESPACE
