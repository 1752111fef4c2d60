// KernelCases on the CUDA kernels built by nvcc for the GPU (linked only when CUDA is built).
#include "framework/ops.h"
#include "kernels/cuda/api.h"

namespace s2 {
namespace api = s2::cuda;
}
#define S2_KERNEL_BACKEND_FACTORY gpu_kernel_backend
#define S2_KERNEL_BACKEND_NAME "cuda"
#define S2_KERNEL_BACKEND_EMULATED false
#include "experiments/kernel_checks/kernel_runner.inc"
