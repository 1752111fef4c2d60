#pragma once
// What CUDA device code sees when the host compiler builds it for the emulator: the builtin
// variables, qualifiers, barriers, warp intrinsics, atomics and math functions, plus DevPtr, a
// bounds-checked device pointer. Kernel sources use s2 kernel conventions (kernels/cuda/runtime.h)
// and never include this file directly.
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "kernels/emu/executor.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Each OS thread runs one block at a time, and all fibers of a block share the OS thread, so a
// function-local thread_local is exactly one copy per running block.
#define __shared__ static thread_local

#define threadIdx (::s2::emu::current_thread().thread_idx)
#define blockIdx (::s2::emu::current_thread().block_idx)
#define blockDim (::s2::emu::current_thread().block_dim)
#define gridDim (::s2::emu::current_thread().grid_dim)
constexpr int warpSize = 32;

inline void __syncthreads() {
  ::s2::emu::syncthreads();
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::s2::emu::warp_collective(::s2::emu::WarpOp::Sync, mask, 0, 0, 32);
}

namespace s2::emu {
template <class T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>);
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <class T>
T from_bits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}
template <class T>
T shuffle(WarpOp op, unsigned mask, T v, int param, int width) {
  return from_bits<T>(warp_collective(op, mask, to_bits(v), param, width));
}
}  // namespace s2::emu

template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  return ::s2::emu::shuffle(::s2::emu::WarpOp::Shfl, mask, v, src, width);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return ::s2::emu::shuffle(::s2::emu::WarpOp::ShflUp, mask, v, static_cast<int>(delta), width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return ::s2::emu::shuffle(::s2::emu::WarpOp::ShflDown, mask, v, static_cast<int>(delta), width);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  return ::s2::emu::shuffle(::s2::emu::WarpOp::ShflXor, mask, v, lane_mask, width);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  return static_cast<unsigned>(::s2::emu::warp_collective(::s2::emu::WarpOp::Ballot, mask, pred != 0, 0, 32));
}
inline int __any_sync(unsigned mask, int pred) {
  return static_cast<int>(::s2::emu::warp_collective(::s2::emu::WarpOp::Any, mask, pred != 0, 0, 32));
}
inline int __all_sync(unsigned mask, int pred) {
  return static_cast<int>(::s2::emu::warp_collective(::s2::emu::WarpOp::All, mask, pred != 0, 0, 32));
}

// Atomics. Blocks may run on several OS threads, so these are real atomic operations.
template <class T>
T atomicAdd(T* address, T v) {
  return std::atomic_ref<T>(*address).fetch_add(v);
}
inline int atomicMax(int* address, int v) {
  std::atomic_ref<int> a(*address);
  int old = a.load();
  while (old < v && !a.compare_exchange_weak(old, v)) {
  }
  return old;
}
inline int atomicCAS(int* address, int compare, int v) {
  std::atomic_ref<int>(*address).compare_exchange_strong(compare, v);
  return compare;
}
template <class T>
T atomicExch(T* address, T v) {
  return std::atomic_ref<T>(*address).exchange(v);
}

// Device math functions that <cmath> lacks.
inline float rsqrtf(float x) {
  return 1.0f / std::sqrt(x);
}
inline float __expf(float x) {
  return std::exp(x);
}
inline float __logf(float x) {
  return std::log(x);
}
inline float __fdividef(float a, float b) {
  return a / b;
}
inline float __int_as_float(int v) {
  return std::bit_cast<float>(v);
}
inline int __float_as_int(float v) {
  return std::bit_cast<int>(v);
}

namespace s2::emu {

// A device pointer that checks every access against the allocation it points into. Kernel
// parameters of type dev_ptr<T> are built from raw device pointers at launch; a host pointer is
// rejected there, and an out-of-bounds access is reported (and redirected to a scratch element)
// instead of corrupting memory.
template <class T>
class DevPtr {
 public:
  DevPtr() = default;
  DevPtr(std::nullptr_t) {}  // NOLINT: like a raw pointer
  DevPtr(T* p) : ptr_(p) {   // NOLINT: kernel arguments convert implicitly, as on the GPU
    if (p == nullptr) {
      return;
    }
    const Allocation a = find_allocation(p);
    if (a.begin == nullptr) {
      throw KernelError("a kernel argument points to host memory, not to device memory");
    }
    const auto* c = reinterpret_cast<const char*>(p);
    lo_ = -static_cast<int64_t>((c - a.begin) / sizeof(T));
    hi_ = static_cast<int64_t>((a.end - c) / sizeof(T));
  }
  template <class U>
  requires(std::is_convertible_v<U*, T*> && !std::is_same_v<U, T>) DevPtr(const DevPtr<U>& o)
      : ptr_(o.ptr_), lo_(o.lo_), hi_(o.hi_) {}  // NOLINT: T* -> const T*

  T& operator[](int64_t i) const { return at(i); }
  T& operator*() const { return at(0); }
  DevPtr operator+(int64_t d) const { return shifted(d); }
  DevPtr operator-(int64_t d) const { return shifted(-d); }
  DevPtr& operator+=(int64_t d) { return *this = shifted(d); }
  DevPtr& operator-=(int64_t d) { return *this = shifted(-d); }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  template <class U>
  friend class DevPtr;
  DevPtr shifted(int64_t d) const {
    DevPtr r = *this;
    r.ptr_ = ptr_ + d;  // may point outside while not dereferenced, as raw pointers may
    r.lo_ -= d;
    r.hi_ -= d;
    return r;
  }
  T& at(int64_t i) const {
    if (ptr_ == nullptr || i < lo_ || i >= hi_) {
      report_error(ptr_ == nullptr ? std::string("access through a null device pointer")
                                   : "out-of-bounds access: element " + std::to_string(i) +
                                         " of a pointer whose allocation spans [" + std::to_string(lo_) +
                                         ", " + std::to_string(hi_) + ")");
      thread_local std::remove_const_t<T> scratch{};
      return scratch;
    }
    return ptr_[i];
  }
  T* ptr_ = nullptr;
  int64_t lo_ = 0, hi_ = 0;  // valid indices relative to ptr_
};

}  // namespace s2::emu
