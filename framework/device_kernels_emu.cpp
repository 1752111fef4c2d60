// Device::CUDA on the CPU emulator of the CUDA programming model.
#include "framework/device.h"

namespace s2 {
namespace api = s2::cuda_emu;
DeviceKernels emulated_device_kernels();
}  // namespace s2
#define S2_DEVICE_KERNELS_FACTORY emulated_device_kernels
#define S2_DEVICE_KERNELS_NAME "cuda (CPU emulator)"
#define S2_DEVICE_KERNELS_EMULATED true
#include "framework/device_kernels.inc"
