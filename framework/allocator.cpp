#include "framework/allocator.h"

#include <sys/mman.h>

#include <bit>
#include <cstdlib>
#include <new>

#include "framework/device.h"

namespace s2 {

namespace {
constexpr size_t kAlignment = 64;  // one cache line, and what AVX-512 loads like
// Large blocks come straight from mmap so that empty_cache() really returns them to the system;
// glibc keeps freed heap memory, and raises its mmap threshold after large frees.
constexpr size_t kMmapThreshold = 256 * 1024;

void* host_allocate(size_t size) {
  if (size >= kMmapThreshold) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  return std::aligned_alloc(kAlignment, size);
}

void host_free(void* ptr, size_t size) {
  if (size >= kMmapThreshold) {
    ::munmap(ptr, size);
  } else {
    std::free(ptr);
  }
}
void* device_allocate(size_t size) {
  return device_kernels().device_alloc(size);
}
void device_free(void* ptr, size_t) {
  device_kernels().device_free(ptr);
}
}  // namespace

// Never destroyed: tensors held in other static objects may release blocks at exit.
CachingAllocator& CachingAllocator::host() {
  static auto* instance = new CachingAllocator(host_allocate, host_free);
  return *instance;
}

CachingAllocator& CachingAllocator::device() {
  static auto* instance = new CachingAllocator(device_allocate, device_free);
  return *instance;
}

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes <= 4096) {
    return (bytes + 511) / 512 * 512 + (bytes == 0 ? 512 : 0);
  }
  // Above 4 KiB: quarter steps between powers of two, so waste stays under 25%.
  const size_t pow2 = std::bit_floor(bytes);
  const size_t quarter = pow2 / 4;
  return (bytes + quarter - 1) / quarter * quarter;
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t size = round_size(bytes);
  std::lock_guard lock(mutex_);
  ++stats_.requests;
  void* ptr = nullptr;
  auto it = free_blocks_.find(size);
  if (it != free_blocks_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    stats_.bytes_cached -= size;
  } else {
    ptr = system_allocate_(size);
    if (ptr == nullptr) {
      throw std::bad_alloc();
    }
    ++stats_.system_allocs;
  }
  stats_.bytes_in_use += size;
  if (stats_.bytes_in_use > stats_.peak_bytes_in_use) {
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }
  return ptr;
}

void CachingAllocator::release(void* ptr, size_t bytes) {
  if (ptr == nullptr) {
    return;
  }
  const size_t size = round_size(bytes);
  std::lock_guard lock(mutex_);
  free_blocks_[size].push_back(ptr);
  stats_.bytes_in_use -= size;
  stats_.bytes_cached += size;
}

void CachingAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  for (auto& [size, blocks] : free_blocks_) {
    for (void* ptr : blocks) {
      system_free_(ptr, size);
      ++stats_.system_frees;
    }
  }
  free_blocks_.clear();
  stats_.bytes_cached = 0;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

}  // namespace s2
