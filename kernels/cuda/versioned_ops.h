#pragma once
// The registry of ops with numbered CUDA kernel versions: one line per op (its name and default
// version). The versions themselves are listed once, at the top of the op's kernel file
// (`<op>_versions()` in kernels/cuda/<op>.cu), and reached through versions_of() (kernel_api.inc).
// Dispatch (the CUDA half of each framework/ops/<op>.cpp), --kernels parsing (framework/device.cpp),
// ablate_kernels and the check of kernels/cuda/README.md's table (tests/test_cuda_kernels.cpp) all read it:
// adding a version means editing its kernel file; adding a versioned op, one line here.
#include <array>
#include <cstddef>
#include <string_view>

namespace s2 {

enum class VersionedOp { Conv2d, Linear, ChannelAttention, SpatialAttention, BnEpilogue };

struct VersionedOpInfo {
  VersionedOp op;
  std::string_view name;  // as in --kernels name=version
  int default_version;
};

inline constexpr std::array<VersionedOpInfo, 5> kVersionedOps{{
    {VersionedOp::Conv2d, "conv2d", 6},
    {VersionedOp::Linear, "linear", 1},
    {VersionedOp::ChannelAttention, "channel_attention", 3},
    {VersionedOp::SpatialAttention, "spatial_attention", 3},
    {VersionedOp::BnEpilogue, "bn_epilogue", 2},
}};

// The registry is indexed by the enum: keep them in step.
constexpr bool registry_in_enum_order() {
  for (size_t i = 0; i < kVersionedOps.size(); ++i) {
    if (static_cast<size_t>(kVersionedOps[i].op) != i) return false;
  }
  return true;
}
static_assert(registry_in_enum_order(), "kVersionedOps must list the ops in VersionedOp's order");

constexpr const VersionedOpInfo& info(VersionedOp op) {
  return kVersionedOps[static_cast<size_t>(op)];
}

}  // namespace s2
