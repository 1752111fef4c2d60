// Prepares KernelCases on a table of CUDA kernel entry points (framework/device.h's DeviceKernels: the
// GPU build or the CPU emulator's), the same interface the framework's ops run on. Each case brings its
// own launch (kernel_cases.cpp, beside its inputs and reference).
#include <limits>
#include <memory>
#include <stdexcept>

#include "experiments/kernel_checks/case_buffers.h"
#include "experiments/kernel_checks/kernel_cases.h"
#include "framework/device.h"
#include "framework/ops.h"

namespace s2 {

std::unique_ptr<PreparedCase> prepare_case(const DeviceKernels& kernels, const KernelCase& c, int version) {
  if (!c.launch) throw std::invalid_argument("kernel case op '" + c.op + "' has no launch");
  auto d = std::make_unique<CaseBuffers>(kernels);
  for (const auto& [name, values] : c.inputs) {
    d->upload(name, values);
  }
  std::vector<std::string> names;
  for (const auto& [name, values] : c.expected) {
    if (c.inputs.count(name) == 0) {
      d->buffer(name, values.size());
    }
    names.push_back(name);
  }
  d->set_outputs(names);
  d->set_body(c.launch(kernels, *d, version));
  return d;
}

std::vector<KernelVersion> case_versions(const DeviceKernels& kernels, const std::string& op) {
  // Versioned ops (kernels/cuda/versioned_ops.h) list theirs; every other op has one version, a single
  // coalesced pass over memory (half of the bandwidth, allowing for launch latency at small sizes).
  for (const auto& v : kVersionedOps) {
    if (v.name == op) return kernels.versions_of(v.op);
  }
  return {{1, "single version", false, 0.5}};
}

}  // namespace s2
