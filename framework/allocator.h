#pragma once
// A caching allocator, one for host memory and one for device memory: freed blocks go to per-size free
// lists and are reused, so a training step that allocates the same activations every iteration stops
// calling malloc (or the device's allocation) after warm-up.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace s2 {

struct AllocatorStats {
  size_t bytes_in_use = 0;  // held by live tensors
  size_t peak_bytes_in_use = 0;
  size_t bytes_cached = 0;     // held in free lists, ready for reuse
  uint64_t system_allocs = 0;  // calls that reached the system allocator
  uint64_t system_frees = 0;   // blocks handed back to it (empty_cache)
  uint64_t requests = 0;
};

class CachingAllocator {
 public:
  // Host memory for CPU tensors.
  static CachingAllocator& host();
  // Device memory for CUDA tensors, from the selected device backend (framework/device.h).
  static CachingAllocator& device();

  void* allocate(size_t bytes);
  void release(void* ptr, size_t bytes);
  // Returns every cached block to the system. Call it between phases whose tensor sizes differ (as
  // from training to inference at another batch size): blocks cached for one phase never serve the
  // other and would only hold memory.
  void empty_cache();
  AllocatorStats stats() const;
  void reset_peak();
  // Block sizes are rounded so that nearby requests share a free list.
  static size_t round_size(size_t bytes);

 private:
  using SystemAllocate = void* (*)(size_t bytes);
  using SystemFree = void (*)(void* ptr, size_t bytes);
  CachingAllocator(SystemAllocate system_allocate, SystemFree system_free)
      : system_allocate_(system_allocate), system_free_(system_free) {}
  SystemAllocate system_allocate_;
  SystemFree system_free_;
  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_blocks_;
  AllocatorStats stats_;
};

}  // namespace s2
