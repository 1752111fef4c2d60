// Device::CUDA on a GPU (compiled only when nvcc built kernels/cuda).
#include "framework/device.h"
#include "kernels/cuda/api.h"

namespace s2 {
namespace api = s2::cuda;
DeviceKernels gpu_device_kernels();
}  // namespace s2
#define S2_DEVICE_KERNELS_FACTORY gpu_device_kernels
#define S2_DEVICE_KERNELS_NAME "cuda"
#define S2_DEVICE_KERNELS_EMULATED false
#include "framework/device_kernels.inc"
