#pragma once
// What tensors on Device::CUDA run on: the GPU build of kernels/cuda when a GPU is present, or the
// same kernel sources built for the CPU emulator (slow, but it runs the whole device path here). One
// table of kernel entry points, so that every op has one definition and picks CPU or CUDA kernels
// by the device of its inputs.
#include <array>
#include <string>

#include "framework/tensor.h"
#include "kernels/cuda/versioned_ops.h"
#include "kernels/emu/api.h"

namespace s2 {

// Every kernel entry point the framework calls on the device.
// clang-format off
#define S2_DEVICE_KERNEL_LIST(X) \
  X(device_available) \
  X(device_description) \
  X(device_peak_gflops) \
  X(device_peak_gbps) \
  X(time_ms) \
  X(versions_of) \
  X(device_alloc) \
  X(device_free) \
  X(copy_to_device) \
  X(copy_to_host) \
  X(copy_on_device) \
  X(fill_zero) \
  X(fill) \
  X(add) \
  X(scale) \
  X(synchronize) \
  X(conv2d_forward) \
  X(conv2d_backward_input) \
  X(conv2d_backward_weight) \
  X(linear_forward) \
  X(linear_backward) \
  X(channel_attention_forward) \
  X(channel_attention_backward) \
  X(spatial_attention_forward) \
  X(spatial_attention_backward) \
  X(bn_epilogue_forward_train) \
  X(bn_epilogue_forward_infer) \
  X(bn_epilogue_backward) \
  X(global_avg_pool_forward) \
  X(global_avg_pool_backward) \
  X(softmax_cross_entropy_forward) \
  X(softmax_cross_entropy_backward) \
  X(adam_update)
// clang-format on

struct DeviceKernels {
  const char* name = "";
  bool emulated = false;
#define S2_DEVICE_KERNEL_MEMBER(fn) decltype(&::s2::cuda_emu::fn) fn = nullptr;
  S2_DEVICE_KERNEL_LIST(S2_DEVICE_KERNEL_MEMBER)
#undef S2_DEVICE_KERNEL_MEMBER
};

// The emulator's table, and the GPU build's (nullptr in a build without GPU kernels), for code that
// runs kernels without selecting a backend for Device::CUDA (the kernel checks, ablate_kernels).
const DeviceKernels& emulated_kernels();
const DeviceKernels* gpu_kernels();

enum class DeviceBackend { Gpu, Emulator };
// Selects the backend of Device::CUDA for the rest of the process (before any device tensor exists).
void select_device_backend(DeviceBackend backend);
// The selected table; a clear error when none is selected.
const DeviceKernels& device_kernels();
bool device_backend_selected();
// A GPU build with at least one device present.
bool gpu_present();

// Parses a --device value and selects the backend: "cpu"; "cuda" (needs a GPU); "emulator"
// (Device::CUDA through the CPU emulator: slow, for checking the device path); "auto" (cuda when a
// GPU is present, else cpu).
Device select_device(const std::string& name);
// True when the last select_device call was "auto": callers may then fall back to the CPU for a model
// the device cannot run, where an explicit "cuda" is an error.
bool device_chosen_automatically();

// The kernel version each versioned op uses on the device (the registry: kernels/cuda/versioned_ops.h;
// the versions: each op's kernel file), for kernel ablations of whole training runs.
class DeviceKernelVersions {
 public:
  DeviceKernelVersions();  // the registry's defaults
  int of(VersionedOp op) const { return versions_[static_cast<size_t>(op)]; }
  void set(VersionedOp op, int version) { versions_[static_cast<size_t>(op)] = version; }
  // "conv2d v2, linear v1, ..." in registry order.
  std::string describe() const;

 private:
  std::array<int, kVersionedOps.size()> versions_{};
};
DeviceKernelVersions& device_kernel_versions();
// "conv2d=1,bn_epilogue=1": unknown ops or non-numeric versions are a clear error.
void set_device_kernel_versions(const std::string& spec);

}  // namespace s2
