#include "framework/device.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <sstream>

#include "framework/allocator.h"
#include "framework/error.h"

namespace s2 {

DeviceKernels emulated_device_kernels();
#if defined(S2_HAVE_CUDA_KERNELS)
DeviceKernels gpu_device_kernels();
#endif

const DeviceKernels& emulated_kernels() {
  static const DeviceKernels table = emulated_device_kernels();
  return table;
}

const DeviceKernels* gpu_kernels() {
#if defined(S2_HAVE_CUDA_KERNELS)
  static const DeviceKernels table = gpu_device_kernels();
  return &table;
#else
  return nullptr;
#endif
}

namespace {
std::mutex backend_mutex;
std::optional<DeviceKernels> selected;
bool chosen_automatically = false;
}  // namespace

bool device_chosen_automatically() {
  return chosen_automatically;
}

bool gpu_present() {
#if defined(S2_HAVE_CUDA_KERNELS)
  return gpu_device_kernels().device_available();
#else
  return false;
#endif
}

void select_device_backend(DeviceBackend backend) {
  DeviceKernels chosen;
  if (backend == DeviceBackend::Emulator) {
    chosen = emulated_device_kernels();
  } else {
#if defined(S2_HAVE_CUDA_KERNELS)
    S2_CHECK(gpu_device_kernels().device_available(), "device cuda: no CUDA device is present");
    chosen = gpu_device_kernels();
#else
    fail("device cuda: this build has no GPU kernels (nvcc was not found when it was configured)");
#endif
  }
  // Cached blocks belong to the previous backend: return them to it before switching.
  if (device_backend_selected()) {
    CachingAllocator::device().empty_cache();
  }
  std::lock_guard lock(backend_mutex);
  selected = chosen;
}

bool device_backend_selected() {
  std::lock_guard lock(backend_mutex);
  return selected.has_value();
}

const DeviceKernels& device_kernels() {
  std::lock_guard lock(backend_mutex);
  S2_CHECK(
      selected.has_value(),
      "a tensor is on the cuda device, but no device backend is selected (use --device cuda or emulator)");
  return *selected;
}

Device select_device(const std::string& name) {
  chosen_automatically = name == "auto";
  if (name == "cpu") {
    return Device::CPU;
  }
  if (name == "cuda") {
    select_device_backend(DeviceBackend::Gpu);
    return Device::CUDA;
  }
  if (name == "emulator") {
    select_device_backend(DeviceBackend::Emulator);
    return Device::CUDA;
  }
  S2_CHECK(name == "auto", "--device must be auto, cpu, cuda or emulator, got '{}'", name);
  if (gpu_present()) {
    select_device_backend(DeviceBackend::Gpu);
    return Device::CUDA;
  }
  return Device::CPU;
}

DeviceKernelVersions::DeviceKernelVersions() {
  for (const auto& op : kVersionedOps) set(op.op, op.default_version);
}

std::string DeviceKernelVersions::describe() const {
  std::string out;
  for (const auto& op : kVersionedOps)
    out += fmt::format("{}{} v{}", out.empty() ? "" : ", ", op.name, of(op.op));
  return out;
}

DeviceKernelVersions& device_kernel_versions() {
  static DeviceKernelVersions versions;
  return versions;
}

void set_device_kernel_versions(const std::string& spec) {
  DeviceKernelVersions v = device_kernel_versions();
  std::stringstream items(spec);
  std::string item;
  while (std::getline(items, item, ',')) {
    const auto eq = item.find('=');
    S2_CHECK(eq != std::string::npos, "kernel versions: '{}' is not op=version", item);
    const std::string name = item.substr(0, eq), number = item.substr(eq + 1);
    int version = 0;
    try {
      size_t used = 0;
      version = std::stoi(number, &used);
      S2_CHECK(used == number.size() && version > 0, "");
    } catch (const std::exception&) {
      fail("kernel versions: '{}' is not a positive version number for {}", number, name);
    }
    const auto it = std::find_if(kVersionedOps.begin(), kVersionedOps.end(),
                                 [&](const VersionedOpInfo& op) { return op.name == name; });
    if (it == kVersionedOps.end()) {
      std::vector<std::string_view> names;
      for (const auto& op : kVersionedOps) names.push_back(op.name);
      fail("kernel versions: unknown op '{}' ({})", name, fmt::join(names, ", "));
    }
    v.set(it->op, version);
  }
  device_kernel_versions() = v;
}

}  // namespace s2
