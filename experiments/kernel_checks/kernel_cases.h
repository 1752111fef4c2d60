#pragma once
// Kernel validation cases shared by the CUDA kernel tests and ablate_kernels: random inputs for one
// op on one shape, plus the expected outputs computed on the CPU (the CPU kernels, or the CPU
// framework's gradient-checked ops for the fused attention blocks).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/kernel_api_types.h"

namespace s2 {

struct DeviceKernels;
class CaseBuffers;

// One op on one shape, everything about checking it in one place (kernel_cases.cpp, one builder per
// op): its inputs, the reference outputs computed on the CPU, each output's derived error bound, its
// FLOPs and bytes, and how to launch it on a kernel table.
struct KernelCase {
  std::string op;     // conv2d, linear, channel_attention, spatial_attention, bn_epilogue, avg_pool,
                      // cross_entropy, adam, elementwise
  std::string shape;  // for people: "N2 C64->64 36x10 k3"
  std::map<std::string, std::vector<float>> inputs;
  std::vector<int32_t> labels;
  std::map<std::string, std::vector<float>> expected;  // forward and backward outputs by name
  // How far a kernel's output may lie from the reference's (kernels/rounding_bound.h): each element of
  // both is a chain of at most `chain` roundings of terms whose absolute values sum to `magnitude`
  // (per element; where empty, the largest |expected| stands for every element's, which assumes the
  // terms do not cancel: the ops without one are sums of same-signed or few terms).
  struct Bound {
    int64_t chain = 1;
    std::vector<float> magnitude;
  };
  std::map<std::string, Bound> bounds;  // by output name; every expected output has one
  double flops = 0.0;                   // of one forward + backward run
  double bytes = 0.0;                   // minimum memory traffic of one run
  // Fetches the case's device buffers by name and returns the body that runs the op's kernels (forward
  // and backward, or the update) with a kernel version. The builder binds the op's typed parameters
  // (its geometry, flags, labels) into it, so a case carries no untyped dimension list.
  std::function<std::function<void()>(const DeviceKernels&, CaseBuffers&, int version)> launch;
  const std::vector<float>& input(const std::string& name) const;
};

KernelCase conv2d_case(int64_t batch, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t kernel,
                       int64_t stride = 1);
KernelCase linear_case(int64_t batch, int64_t in, int64_t out);
// `ties`: inputs on a coarse non-negative grid, so that arg-max ties are common (as after a ReLU).
KernelCase channel_attention_case(int64_t batch, int64_t channels, int64_t h, int64_t w, int64_t hidden,
                                  bool ties = false);
KernelCase spatial_attention_case(int64_t batch, int64_t channels, int64_t h, int64_t w, int64_t kernel,
                                  bool ties = false);
// `unbiased`: the running variance takes the unbiased batch variance (PyTorch's convention).
KernelCase bn_epilogue_case(int64_t batch, int64_t channels, int64_t pixels, bool residual, bool relu,
                            bool unbiased = false);
KernelCase avg_pool_case(int64_t rows, int64_t pixels);
KernelCase cross_entropy_case(int64_t batch, int64_t classes, bool class_weights);
KernelCase adam_case(int64_t n, bool decoupled);
// fill and add (gradient accumulation on the device).
KernelCase elementwise_case(int64_t n);

// The ops of one training step of the paper network (36x10 input, stages 64/128/256) at a batch size.
std::vector<KernelCase> paper_kernel_cases(int64_t batch);

// One case on one device with one kernel version: inputs uploaded once, run() as often as timing needs.
class PreparedCase {
 public:
  virtual ~PreparedCase() = default;
  virtual void run() = 0;  // forward and backward (or the update), enqueued on the device
  virtual std::map<std::string, std::vector<float>> outputs() const = 0;  // downloads every output
};

// Running cases on a backend: the table of CUDA kernel entry points the framework's ops use
// (framework/device.h: emulated_kernels(), gpu_kernels()).
// The case's op's kernel versions (the registry's list for a versioned op, else one).
std::vector<KernelVersion> case_versions(const DeviceKernels& kernels, const std::string& op);
// Uploads the case's inputs and allocates its outputs on the table's device, for `version`.
std::unique_ptr<PreparedCase> prepare_case(const DeviceKernels& kernels, const KernelCase& c, int version);
// Every versioned op's versions (the registry, kernels/cuda/versioned_ops.h, and the kernel files) as
// the Markdown table kernels/cuda/README.md shows (ablate_kernels --list yes prints it; a test keeps
// the README in step).
std::string kernel_version_table();

// max |got - want| and max |want|.
struct ErrorStats {
  double max_abs = 0.0, max_ref = 0.0;
  double scaled() const { return max_abs / (max_ref > 0.0 ? max_ref : 1.0); }
};
ErrorStats compare_outputs(const std::vector<float>& got, const std::vector<float>& want);

// One output against its bound: the largest |got - want| / bound over the elements (<= 1 passes).
struct BoundCheck {
  double max_abs = 0.0;  // max |got - want|
  double ratio = 0.0;    // max |got - want| / bound
  bool ok() const { return ratio <= 1.0; }
};
// `math`: the kernel version's arithmetic; TF32 and BF16 inputs widen the bound by their rounding
// (kernels/rounding_bound.h).
BoundCheck check_output(const KernelCase& c, const std::string& name, const std::vector<float>& got,
                        MathMode math = MathMode::Fp32);

}  // namespace s2
