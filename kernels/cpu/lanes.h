#pragma once
// Eight floats side by side, as a GCC vector extension: element-wise IEEE arithmetic, the very
// operations of scalar code on each lane, so a lane's result has the bits the scalar code gives. The
// kernels use them where the compiler alone would not vectorise: lanes across samples (Winograd), and
// the fixed interleaved lanes of deterministic sums (batch norm).
#include <algorithm>
#include <cstdint>

namespace s2::cpu {

using Lanes = float __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;

// Whole-vector loads and stores at any float address. (memcpy would be expanded as two 16-byte
// moves, and reading such a vector back whole stalls on store forwarding.)
using UnalignedLanes = float __attribute__((vector_size(32), aligned(4), may_alias));
inline Lanes load_lanes(const float* p) {
  return *reinterpret_cast<const UnalignedLanes*>(p);
}
inline void store_lanes(float* p, Lanes v) {
  *reinterpret_cast<UnalignedLanes*>(p) = v;
}
// The first m < kLanes floats at p, the other lanes zero.
inline Lanes load_partial_lanes(const float* p, int64_t m) {
  float buffer[kLanes] = {};
  std::copy_n(p, m, buffer);
  return load_lanes(buffer);
}

}  // namespace s2::cpu
