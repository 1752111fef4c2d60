// KernelCases on the CUDA kernels built for the CPU emulator.
#include "framework/ops.h"
#include "kernels/cuda/runtime.h"

namespace s2 {
namespace api = s2::cuda_emu;
}
#define S2_KERNEL_BACKEND_FACTORY emulated_kernel_backend
#define S2_KERNEL_BACKEND_NAME "cuda-emulator"
#define S2_KERNEL_BACKEND_EMULATED true
#include "experiments/kernel_checks/kernel_runner.inc"
