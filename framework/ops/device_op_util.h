#pragma once
// What the CUDA halves of the ops (in each framework/ops/<op>.cpp, beside the CPU half) share: the
// selected device backend, input checks, device buffers.
#include <initializer_list>
#include <memory>
#include <stdexcept>

#include "framework/allocator.h"
#include "framework/autograd.h"
#include "framework/device.h"
#include "framework/error.h"
#include "framework/tensor.h"

namespace s2::device_op {

inline const DeviceKernels& k() {
  return device_kernels();
}

inline void require_device(std::initializer_list<const Tensor*> tensors, const char* op) {
  for (const Tensor* t : tensors) {
    S2_CHECK(!t->defined() || t->device() == Device::CUDA,
             "{}: inputs are on different devices ({} and cuda)", op, device_name(t->device()));
  }
}

// Runs a kernel call whose shape limits the kernel file checks (std::invalid_argument, e.g. the fused
// attention kernels' shared-memory bounds): a shape past them is a named error for the user.
template <typename Call>
void within_kernel_limits(Call&& call) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    fail("{} (choose another kernel version with --kernels, or run on the CPU)", e.what());
  }
}

inline float* ptr(const Tensor& t) {
  return t.defined() ? const_cast<float*>(t.data()) : nullptr;
}

inline Tensor device_empty(const Shape& shape) {
  return Tensor::empty(shape, Device::CUDA);
}

// int32 device memory (labels, arg-max indices), freed when the last backward holding it is gone.
// Index buffers (attention arg-max, labels) from the device caching allocator, like tensors: a GPU
// step then allocates nothing after warm-up.
class DeviceInts {
 public:
  explicit DeviceInts(size_t count)
      : bytes_(count * sizeof(int32_t)),
        data_(static_cast<int32_t*>(CachingAllocator::device().allocate(bytes_))) {}
  ~DeviceInts() { CachingAllocator::device().release(data_, bytes_); }
  DeviceInts(const DeviceInts&) = delete;
  DeviceInts& operator=(const DeviceInts&) = delete;
  int32_t* get() const { return data_; }

 private:
  size_t bytes_;
  int32_t* data_;
};

inline std::shared_ptr<DeviceInts> device_ints(size_t count) {
  return std::make_shared<DeviceInts>(count);
}

}  // namespace s2::device_op
