#include "kernels/emu/race_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "kernels/emu/executor.h"

namespace s2::emu {

namespace {

constexpr uint32_t kWarpSize = 32;

// Whether `earlier` happens before `now` (or is by the same thread): only within a block, through a
// __syncthreads between them or, for two lanes of one warp, a warp collective.
bool ordered(const AccessStamp& earlier, const AccessStamp& now) {
  if (earlier.block != now.block) {
    return false;
  }
  if (earlier.thread == now.thread || earlier.barriers != now.barriers) {
    return true;
  }
  return earlier.thread / kWarpSize == now.thread / kWarpSize && earlier.warp_syncs != now.warp_syncs;
}

bool conflicts(const AccessStamp& earlier, const AccessStamp& now) {
  return earlier.owner == now.owner && !ordered(earlier, now) && !(earlier.atomic && now.atomic);
}

const char* verb(const AccessStamp& a, bool write) {
  return a.atomic ? "atomically updated" : write ? "wrote" : "read";
}

void report_race(MemorySpace space, int64_t word, Access access, const AccessStamp& other, bool other_wrote) {
  const bool global = space == MemorySpace::Global;
  report_error(fmt::format(
      "race on {} memory: this thread {} word {} (byte {}), which {} {} with no {} between them{}",
      global ? "global" : "shared",
      access == Access::Read     ? "reads"
      : access == Access::Atomic ? "atomically updates"
                                 : "writes",
      word, 4 * word, describe_position(other.block, other.thread), verb(other, other_wrote),
      global && other.block != current_thread().block ? "ordering (another block of the same launch)"
                                                      : "__syncthreads",
      global ? "; blocks share memory only through atomics or separate launches" : ""));
}

// Keeps the first reader, and the latest reader that is another thread, so that a later write is
// checked against a read of some other thread when there was one.
void record_read(WordShadow& s, const AccessStamp& now) {
  const bool same_as_first =
      s.read.owner == now.owner && s.read.block == now.block && s.read.thread == now.thread;
  if (s.read.owner != now.owner || same_as_first) {
    s.read = now;
  } else {
    s.other_read = now;
  }
}

}  // namespace

void check_access(const ThreadContext& t, WordShadow& s, Access access, MemorySpace space, int64_t word) {
  const AccessStamp now{space == MemorySpace::Global ? t.launch : t.block_run,
                        t.block,
                        t.barriers,
                        t.warp_syncs,
                        static_cast<uint16_t>(t.linear),
                        access == Access::Atomic,
                        access == Access::AsyncIssue};
  if (access == Access::AsyncLand) {  // checked when it was issued
    s.write = now;
    s.read = s.other_read = AccessStamp{};
    return;
  }
  if (s.write.in_flight && s.write.owner == now.owner) {
    report_error(fmt::format(
        "{} word {} of {} memory while a cp.async copy into it, issued by {}, is in flight (before that "
        "thread's cp.async.wait_group)",
        access == Access::Read ? "reads" : "writes", word, space == MemorySpace::Global ? "global" : "shared",
        describe_position(s.write.block, s.write.thread)));
  } else if (conflicts(s.write, now)) {
    report_race(space, word, access, s.write, true);
  } else if (space == MemorySpace::Shared && access == Access::Read && s.write.owner != now.owner) {
    report_error(
        fmt::format("reads word {} of shared memory, which no thread of this block has written", word));
  }
  if (access == Access::Read) {
    record_read(s, now);
    return;
  }
  for (const AccessStamp* r : {&s.read, &s.other_read}) {
    if (conflicts(*r, now)) {
      report_race(space, word, access, *r, false);
      break;
    }
  }
  s.write = now;
  s.read = s.other_read = AccessStamp{};
}

void AllocationShadow::create() const {
  std::call_once(created_, [this] {
    shadow_ = std::make_unique<WordShadow[]>(words_);
    written_ = std::make_unique<bool[]>(words_);  // value-initialised: nothing written yet
  });
}

void AllocationShadow::check(const void* base, const void* address, Access access) {
  create();
  const int64_t word = (static_cast<const char*>(address) - static_cast<const char*>(base)) / 4;
  const auto w = static_cast<size_t>(word);
  const ThreadContext& t = current_thread();
  const auto checked = [&] {
    if (!written_[w] && (access == Access::Read || access == Access::Atomic)) {
      report_error(
          fmt::format("{} word {} (byte {}) of a device allocation of {} bytes that nothing has written "
                      "since it was allocated (uninitialised memory{})",
                      access == Access::Read ? "reads" : "atomically updates", word, 4 * word, 4 * words_,
                      access == Access::Atomic ? ": zero an accumulator first" : ""));
    }
    written_[w] = written_[w] || access != Access::Read;
    check_access(t, shadow_[w], access, MemorySpace::Global, word);
  };
  if (!t.concurrent_blocks) {
    checked();
    return;
  }
  static std::array<std::mutex, 64> stripes;
  std::lock_guard lock(stripes[w % stripes.size()]);
  checked();
}

void AllocationShadow::mark_written(size_t offset, size_t bytes) {
  create();
  if (bytes > 0) {
    std::fill(written_.get() + offset / 4, written_.get() + (offset + bytes + 3) / 4, true);
  }
}

void AllocationShadow::copy_written(size_t offset, const AllocationShadow& source, size_t source_offset,
                                    size_t bytes) {
  create();
  source.create();
  if (offset % 4 != 0 || source_offset % 4 != 0) {
    mark_written(offset, bytes);  // unaligned copies: counted as writes, conservatively
    return;
  }
  std::memmove(written_.get() + offset / 4, source.written_.get() + source_offset / 4,
               (bytes + 3) / 4);  // may overlap
}

void mark_device_written(const void* p, size_t bytes) {
  const Allocation a = find_allocation(p);
  if (a.shadow != nullptr) {
    a.shadow->mark_written(static_cast<size_t>(static_cast<const char*>(p) - a.begin), bytes);
  }
}

void copy_device_written(const void* dst, const void* src, size_t bytes) {
  const Allocation d = find_allocation(dst), s = find_allocation(src);
  if (d.shadow != nullptr && s.shadow != nullptr) {
    d.shadow->copy_written(static_cast<size_t>(static_cast<const char*>(dst) - d.begin), *s.shadow,
                           static_cast<size_t>(static_cast<const char*>(src) - s.begin), bytes);
  }
}

}  // namespace s2::emu
