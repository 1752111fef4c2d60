#pragma once
// A device allocation owned by host code (temporaries of the naive kernel versions, tests).
#include <cstddef>

#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count), data_(static_cast<T*>(device_alloc(count * sizeof(T)))) {}
  ~DeviceBuffer() {
    if (data_ != nullptr) {
      device_free(data_);
    }
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept : count_(other.count_), data_(other.data_) {
    other.data_ = nullptr;
    other.count_ = 0;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  T* get() const { return data_; }
  size_t size() const { return count_; }

 private:
  size_t count_;
  T* data_;
};

}  // namespace s2::S2_CUDA_NAMESPACE
