#pragma once
// Helpers shared by the op definitions.
#include <cstdint>
#include <memory>
#include <vector>

#include "framework/error.h"
#include "framework/tensor.h"
#include "kernels/cpu/parallel.h"

namespace s2::detail {

// Scratch memory from the caching allocator, so repeated steps reuse it.
inline Tensor workspace(size_t floats) {
  return Tensor::empty({static_cast<int64_t>(floats)});
}

inline void check_rank(const Tensor& t, int64_t rank, const char* op, const char* what) {
  S2_CHECK(t.defined(), "{}: {} is undefined", op, what);
  S2_CHECK(t.ndim() == rank, "{}: {} must have {} dimensions, got shape {}", op, what, rank,
           shape_str(t.shape()));
  S2_CHECK(t.device() == Device::CPU, "{}: {} is on {}, but {} has no CUDA kernel: it runs on the CPU only",
           op, what, device_name(t.device()), op);
}

// For ops that have only a CPU kernel.
inline void require_cpu(const Tensor& t, const char* op) {
  S2_CHECK(!t.defined() || t.device() == Device::CPU,
           "{}: input is on {}, but {} has no CUDA kernel: it runs on the CPU only", op,
           device_name(t.device()), op);
}

using IndexBuffer = std::shared_ptr<std::vector<int32_t>>;
inline IndexBuffer index_buffer(int64_t n) {
  return std::make_shared<std::vector<int32_t>>(static_cast<size_t>(n));
}

}  // namespace s2::detail
