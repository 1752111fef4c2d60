#pragma once
// Host-side helpers shared by the kernel files of one build (GPU or emulated), not part of the API.
#include <cstdint>
#include <vector>

#include "kernels/conv2d_geometry.h"
#include "kernels/cuda/kernel_api_types.h"

namespace s2::S2_CUDA_NAMESPACE {

// Throws std::invalid_argument naming op, the version and the known ones, unless `version` is listed.
void require_version(const char* op, int version, const std::vector<KernelVersion>& known);

// dst[c] = sum over (outer, inner) of src[outer, c, inner]; overwrites dst.
void channel_sum(int64_t outer, int64_t channels, int64_t inner, const float* src, float* dst);

// The cuDNN and cuBLAS versions (library_variants.cu). In the emulated build they throw.
void conv2d_cudnn_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                          float* y);
void conv2d_cudnn_backward_input(const Conv2dGeometry& g, const float* w, const float* dy, float* dx);
void conv2d_cudnn_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                  float* dbias);
void linear_cublas_forward(int64_t batch, int64_t in, int64_t out, const float* x, const float* w,
                           const float* b, float* y);
void linear_cublas_backward(int64_t batch, int64_t in, int64_t out, const float* x, const float* w,
                            const float* dy, float* dx, float* dw, float* db);

}  // namespace s2::S2_CUDA_NAMESPACE
