#pragma once
// Helpers for running the CUDA kernels through the CPU emulator in tests: device buffers from host
// vectors, both thread orders, and a stated comparison with the CPU reference.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/kernel_checks/kernel_cases.h"
#include "kernels/cuda/runtime.h"

namespace s2::testing {

namespace cu = s2::cuda_emu;

template <class T>
std::vector<T> download(const cu::DeviceBuffer<T>& b) {
  std::vector<T> host(b.size());
  cu::copy_to_host(host.data(), b.get(), b.size() * sizeof(T));
  return host;
}

template <class T>
cu::DeviceBuffer<T> upload(const std::vector<T>& host) {
  cu::DeviceBuffer<T> b(host.size());
  cu::copy_to_device(b.get(), host.data(), host.size() * sizeof(T));
  return b;
}

// Runs f once per thread order, so that a missing barrier shows up as a mismatch.
template <class F>
void in_both_thread_orders(F&& f) {
  const emu::ExecutorOptions saved = emu::executor_options();
  for (const auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse}) {
    emu::set_executor_options({order, saved.workers});
    CAPTURE(order == emu::ThreadOrder::Forward ? "forward thread order" : "reverse thread order");
    f();
  }
  emu::set_executor_options(saved);
}

}  // namespace s2::testing
