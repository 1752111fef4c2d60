#pragma once
// Race detection of the CUDA emulator, in the manner of compute-sanitizer's racecheck: every access
// to device memory (through DevPtr) and to shared memory (through SharedArray) is stamped with who
// made it (block, thread) and when (the thread's count of __syncthreads and warp collectives). Two
// accesses to one 4-byte word conflict when at least one writes, not both are atomic, and nothing
// orders them: different blocks of one launch are never ordered; threads of one block are ordered by
// a __syncthreads between them, lanes of one warp also by a warp collective. A conflict is reported
// whatever order the threads happened to run in, so a race that gives the right answer in both
// orders (an `atomicAdd` replaced by `+=` across blocks) is still caught.
// Like compute-sanitizer's initcheck, device memory also remembers which words were ever written (by
// a kernel or a host copy): a kernel that reads or atomically updates a word nothing wrote since the
// allocation (an accumulator that was never zeroed) is reported.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "kernels/emu/executor.h"

namespace s2::emu {

// AsyncIssue and AsyncLand are the two ends of a cp.async write: issued (from then on the word may
// change at any moment until the issuing thread waits) and landed (the value is there).
enum class Access { Read, Write, Atomic, AsyncIssue, AsyncLand };
enum class MemorySpace { Global, Shared };

// One access: `owner` is the launch (global memory) or the block run (shared memory) it belongs to;
// a stamp of an earlier owner is stale and counts as no access.
struct AccessStamp {
  uint64_t owner = 0;
  uint32_t block = 0, barriers = 0, warp_syncs = 0;
  uint16_t thread = 0;
  bool atomic = false;
  bool in_flight = false;  // a cp.async write issued and not yet landed
};

// The last write and up to two reads since it, of one 4-byte word.
struct WordShadow {
  AccessStamp write, read, other_read;
};

// Checks `access` to word `word` (whose shadow is `shadow`) by thread `t` against the
// word's earlier accesses, reports a conflict (or, in shared memory, a read of a word no thread of
// the block has written, or any access to a word a cp.async is still writing) through report_error,
// and records the access. A cp.async write is checked as a write when it is issued, which is when
// it may first land.
void check_access(const ThreadContext& t, WordShadow& shadow, Access access, MemorySpace space, int64_t word);

// The shadow words of one device allocation, created on first use. Several OS threads may run
// blocks of one launch, so the words are then updated under striped locks.
class AllocationShadow {
 public:
  explicit AllocationShadow(size_t bytes) : words_((bytes + 3) / 4) {}
  // A kernel's access to `address` in the allocation starting at `base`.
  void check(const void* base, const void* address, Access access);
  // Host-side writes (copies, fills) of bytes [offset, offset + bytes): the words they touch are written.
  void mark_written(size_t offset, size_t bytes);
  // A copy on the device carries the written state of its source words.
  void copy_written(size_t offset, const AllocationShadow& source, size_t source_offset, size_t bytes);

 private:
  void create() const;
  size_t words_;
  mutable std::once_flag created_;
  mutable std::unique_ptr<WordShadow[]> shadow_;
  mutable std::unique_ptr<bool[]> written_;  // ever written since the allocation
};

// Host-side writes to device memory at p (which must lie in one allocation; anything else is ignored).
void mark_device_written(const void* p, size_t bytes);
void copy_device_written(const void* dst, const void* src, size_t bytes);

}  // namespace s2::emu
