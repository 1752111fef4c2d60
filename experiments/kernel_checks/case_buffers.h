#pragma once
// The device buffers of a prepared kernel case, by name, on one table of kernel entry points (the GPU's or
// the emulator's): what a case's launch (KernelCase::launch) fetches its pointers from.
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "experiments/kernel_checks/kernel_cases.h"
#include "framework/device.h"

namespace s2 {

// A device allocation of the table's backend, freed with it.
template <class T>
class TableBuffer {
 public:
  TableBuffer(const DeviceKernels& k, size_t count)
      : k_(k), count_(count), data_(static_cast<T*>(k.device_alloc(count * sizeof(T)))) {}
  ~TableBuffer() { k_.device_free(data_); }
  TableBuffer(const TableBuffer&) = delete;
  TableBuffer& operator=(const TableBuffer&) = delete;
  T* get() const { return data_; }
  size_t size() const { return count_; }

 private:
  const DeviceKernels& k_;
  size_t count_;
  T* data_;
};

// Named device buffers of one prepared case on one kernel table; outputs are downloaded by name.
class CaseBuffers final : public PreparedCase {
 public:
  explicit CaseBuffers(const DeviceKernels& k) : k_(k) {}
  float* upload(const std::string& name, const std::vector<float>& host) {
    auto& b = buffers_[name];
    b = std::make_unique<TableBuffer<float>>(k_, host.size());
    k_.copy_to_device(b->get(), host.data(), host.size() * sizeof(float));
    return b->get();
  }
  // An output or scratch buffer starts as NaN, not zero, as device memory does not start zeroed: an
  // element a kernel never writes (or reads before writing) then fails the check instead of passing
  // as a lucky zero. Outputs that the framework zeroes before a kernel accumulates into them are zeroed
  // in the case's body, as the framework does.
  float* buffer(const std::string& name, size_t count) {
    auto& b = buffers_[name];
    b = std::make_unique<TableBuffer<float>>(k_, count);
    k_.fill(static_cast<int64_t>(count), std::numeric_limits<float>::quiet_NaN(), b->get());
    return b->get();
  }
  int32_t* int_buffer(size_t count, const std::vector<int32_t>& host = {}) {
    ints_ = std::make_unique<TableBuffer<int32_t>>(k_, count);
    if (!host.empty()) {
      k_.copy_to_device(ints_->get(), host.data(), host.size() * sizeof(int32_t));
    }
    return ints_->get();
  }
  float* get(const std::string& name) const {
    const auto it = buffers_.find(name);
    if (it == buffers_.end()) {
      throw std::logic_error("kernel case has no buffer '" + name + "'");
    }
    return it->second->get();
  }
  void zero(const std::string& name) {
    const auto& b = *buffers_.at(name);
    k_.fill_zero(b.get(), b.size() * sizeof(float));
  }
  void set_outputs(std::vector<std::string> names) { outputs_ = std::move(names); }
  void set_body(std::function<void()> body) { body_ = std::move(body); }

  void run() override { body_(); }
  std::map<std::string, std::vector<float>> outputs() const override {
    k_.synchronize();
    std::map<std::string, std::vector<float>> result;
    for (const auto& name : outputs_) {
      const auto& b = *buffers_.at(name);
      auto& host = result[name];
      host.resize(b.size());
      k_.copy_to_host(host.data(), b.get(), b.size() * sizeof(float));
    }
    return result;
  }

 private:
  const DeviceKernels& k_;
  std::map<std::string, std::unique_ptr<TableBuffer<float>>> buffers_;
  std::unique_ptr<TableBuffer<int32_t>> ints_;
  std::vector<std::string> outputs_;
  std::function<void()> body_;
};

}  // namespace s2
