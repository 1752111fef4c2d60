#pragma once
// The same CUDA kernel sources built for the CPU emulator (library s2_kernels_cuda_emu), namespace
// s2::cuda_emu: what the tests and ablate_kernels run on a machine without a GPU.
#define S2_KERNEL_API_NS cuda_emu
#include "kernels/cuda/kernel_api.inc"
#undef S2_KERNEL_API_NS
