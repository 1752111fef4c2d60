#pragma once
// What CUDA device code sees when the host compiler builds it for the emulator: the builtin
// variables, qualifiers, barriers, warp intrinsics, atomics and math functions, plus DevPtr and
// SharedArray: bounds-checked device and shared memory whose every access is race-checked
// (race_check.h). Kernel sources use s2 kernel conventions (kernels/cuda/runtime.h)
// and never include this file directly.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "kernels/emu/executor.h"
#include "kernels/emu/race_check.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Shared memory is declared with S2_SHARED(type, name, [extent]...) (kernels/cuda/runtime.h), which
// gives a checked SharedArray here; a plain __shared__ declaration would escape the checks.
#define __shared__ static_assert(false, "declare shared memory with S2_SHARED(type, name, [size])");

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

// Where an element's accesses are checked: through its device allocation's shadow (global memory)
// or its own shadow word (shared memory). Elements narrower than 4 bytes are not race-checked (their
// neighbours share the word).
struct Tracking {
  AllocationShadow* allocation = nullptr;
  const char* base = nullptr;  // the allocation's start
  WordShadow* word = nullptr;  // shared memory
  int64_t index = 0;           // the shared word's index, for messages

  // The tracking of the element d further on (a device element finds its word from its address).
  Tracking shifted(int64_t d) const {
    Tracking t = *this;
    if (t.word != nullptr) {
      t.word += d;
      t.index += d;
    }
    return t;
  }
  void record(const void* address, Access access) const {
    if (allocation != nullptr) {
      allocation->check(base, address, access);
    } else if (word != nullptr) {
      check_access(current_thread(), *word, access, MemorySpace::Shared, index);
    }
  }
};

template <class T>
class Ref;

// What `&p[i]` gives in kernel code: the target of an atomic operation.
template <class T>
struct Address {
  T* ptr;
  Tracking tracking;
};

// A reference to one element of device or shared memory, as `p[i]` returns it: a conversion to the
// value is a read, an assignment a write, a compound assignment both, and each is race-checked.
template <class T>
class Ref {
  using Value = std::remove_const_t<T>;

 public:
  Ref(T* ptr, const Tracking& tracking) : ptr_(ptr), tracking_(tracking) {}
  Ref(const Ref&) = default;
  operator Value() const {  // NOLINT: reads convert implicitly, as an lvalue of T does
    tracking_.record(ptr_, Access::Read);
    return *ptr_;
  }
  const Ref& operator=(const Ref& o) const requires(!std::is_const_v<T>) {
    return *this = static_cast<Value>(o);
  }
  const Ref& operator=(Value v) const requires(!std::is_const_v<T>) {
    tracking_.record(ptr_, Access::Write);
    *ptr_ = v;
    return *this;
  }
  const Ref& operator+=(Value v) const requires(!std::is_const_v<T>) { return *this = read() + v; }
  const Ref& operator-=(Value v) const requires(!std::is_const_v<T>) { return *this = read() - v; }
  const Ref& operator*=(Value v) const requires(!std::is_const_v<T>) { return *this = read() * v; }
  const Ref& operator/=(Value v) const requires(!std::is_const_v<T>) { return *this = read() / v; }
  Address<T> operator&() const { return {ptr_, tracking_}; }
  // The two ends of a cp.async into this element (kernels/cuda/tensor_core.cuh): issued, then landed.
  void async_issue() const requires(!std::is_const_v<T>) { tracking_.record(ptr_, Access::AsyncIssue); }
  void async_land(Value v) const requires(!std::is_const_v<T>) {
    tracking_.record(ptr_, Access::AsyncLand);
    *ptr_ = v;
  }

 private:
  Value read() const { return static_cast<Value>(*this); }
  T* ptr_;
  Tracking tracking_;
};

// A pointer that checks every access against the extent it may reach and race-checks it. Device
// pointers (DevPtr) are built from raw device pointers at launch: a host pointer is rejected there.
// Shared-memory pointers come from a SharedArray. An out-of-bounds access is reported (and redirected
// to a scratch element) instead of corrupting memory.
template <class T>
class CheckedPtr {
 public:
  CheckedPtr() = default;
  CheckedPtr(std::nullptr_t) {}  // NOLINT: like a raw pointer
  CheckedPtr(T* p) : ptr_(p) {   // NOLINT: kernel arguments convert implicitly, as on the GPU
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
    if (sizeof(T) >= 4) {
      tracking_.allocation = a.shadow;
      tracking_.base = a.begin;
    }
  }
  // Shared memory: `n` elements at p, with their shadow words.
  CheckedPtr(T* p, int64_t n, WordShadow* words, int64_t first_word)
      : ptr_(p), hi_(n), tracking_{nullptr, nullptr, words, first_word} {}
  template <class U>
  requires(std::is_convertible_v<U*, T*> && !std::is_same_v<U, T>) CheckedPtr(const CheckedPtr<U>& o)
      : ptr_(o.ptr_), lo_(o.lo_), hi_(o.hi_), tracking_(o.tracking_) {}  // NOLINT: T* -> const T*

  Ref<T> operator[](int64_t i) const { return at(i); }
  Ref<T> operator*() const { return at(0); }
  CheckedPtr operator+(int64_t d) const { return shifted(d); }
  CheckedPtr operator-(int64_t d) const { return shifted(-d); }
  CheckedPtr& operator+=(int64_t d) { return *this = shifted(d); }
  CheckedPtr& operator-=(int64_t d) { return *this = shifted(-d); }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  template <class U>
  friend class CheckedPtr;
  CheckedPtr shifted(int64_t d) const {
    CheckedPtr r = *this;
    r.ptr_ = ptr_ + d;  // may point outside while not dereferenced, as raw pointers may
    r.lo_ -= d;
    r.hi_ -= d;
    r.tracking_ = tracking_.shifted(d);
    return r;
  }
  Ref<T> at(int64_t i) const {
    if (ptr_ == nullptr || i < lo_ || i >= hi_) {
      report_error(ptr_ == nullptr ? std::string("access through a null device pointer")
                                   : "out-of-bounds access: element " + std::to_string(i) + " of a " +
                                         (tracking_.word != nullptr ? "shared array" : "pointer") +
                                         " whose extent spans [" + std::to_string(lo_) + ", " +
                                         std::to_string(hi_) + ")");
      thread_local std::remove_const_t<T> scratch{};
      return {&scratch, Tracking{}};
    }
    return {ptr_ + i, tracking_.shifted(i)};
  }
  T* ptr_ = nullptr;
  int64_t lo_ = 0, hi_ = 0;  // valid indices relative to ptr_
  Tracking tracking_;
};

template <class T>
using DevPtr = CheckedPtr<T>;

// Shared memory of one block: `A` is T[N] or T[N][M]. Each OS thread runs one block at a time, so one
// (thread_local) instance serves every block that OS thread runs; at a block's first access its
// contents are poisoned (NaN for floating point, 0xff bytes otherwise) and its shadow words go stale,
// so that a read of a word no thread of this block wrote is reported, not served from an earlier block.
template <class A>
class SharedArray {
  using T = std::remove_all_extents_t<A>;
  using Row = std::remove_extent_t<A>;
  static_assert(std::rank_v<A> == 1 || std::rank_v<A> == 2, "shared arrays have one or two dimensions");
  static constexpr int64_t kRows = std::extent_v<A, 0>;
  static constexpr int64_t kRowLength = sizeof(Row) / sizeof(T);
  static constexpr int64_t kSize = kRows * kRowLength;

 public:
  SharedArray() : data_(new T[kSize]), words_(new WordShadow[kSize]) {}
  // One dimension: the element; two: the row, itself bounds-checked.
  auto operator[](int64_t i) const {
    if constexpr (std::rank_v<A> == 1) {
      return pointer()[i];
    } else {
      if (i < 0 || i >= kRows) {
        report_error("out-of-bounds access: row " + std::to_string(i) + " of a shared array of " +
                     std::to_string(kRows) + " rows");
        i = 0;
      }
      return CheckedPtr<T>(data() + i * kRowLength, kRowLength, words_.get() + i * kRowLength,
                           i * kRowLength);
    }
  }
  // Decays to a pointer to its first element, as a C array does.
  operator CheckedPtr<T>() const { return pointer(); }        // NOLINT
  operator CheckedPtr<const T>() const { return pointer(); }  // NOLINT

 private:
  CheckedPtr<T> pointer() const { return {data(), kSize, words_.get(), 0}; }
  T* data() const {
    const uint64_t run = current_thread().block_run;
    if (run != poisoned_for_) {
      poisoned_for_ = run;
      if constexpr (std::numeric_limits<T>::has_quiet_NaN) {
        std::fill_n(data_.get(), kSize, std::numeric_limits<T>::quiet_NaN());
      } else {
        std::memset(static_cast<void*>(data_.get()), 0xff, sizeof(T) * kSize);
      }
    }
    return data_.get();
  }
  std::unique_ptr<T[]> data_;
  std::unique_ptr<WordShadow[]> words_;
  mutable uint64_t poisoned_for_ = 0;  // the block run whose contents these are
};

}  // namespace s2::emu

// Atomics, on `&p[i]` of device or shared memory. Blocks may run on several OS threads, so these are
// real atomic operations; to the race check they are atomic accesses, which do not race each other.
template <class T>
T atomicAdd(::s2::emu::Address<T> a, std::type_identity_t<T> v) {
  a.tracking.record(a.ptr, ::s2::emu::Access::Atomic);
  return std::atomic_ref<T>(*a.ptr).fetch_add(v);
}
