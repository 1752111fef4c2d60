#pragma once
// Scalar device functions shared by the kernel files.
#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

__device__ __forceinline__ float sigmoid(float v) {
  return 1.0f / (1.0f + expf(-v));
}

}  // namespace s2::S2_CUDA_NAMESPACE
