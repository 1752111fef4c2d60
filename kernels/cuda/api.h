#pragma once
// The GPU build of the CUDA kernels (library s2_kernels_cuda), namespace s2::cuda.
#define S2_KERNEL_API_NS cuda
#include "kernels/cuda/kernel_api.inc"
#undef S2_KERNEL_API_NS
