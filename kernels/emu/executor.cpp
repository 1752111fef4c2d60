#include "kernels/emu/executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "kernels/emu/fiber.h"
#include "kernels/emu/race_check.h"

namespace s2::emu {

namespace {

constexpr int kWarpSize = 32;
constexpr unsigned kMaxThreadsPerBlock = 1024;
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kFiberStackBytes = size_t{512} << 10;  // ASan's redzones make frames larger
#else
constexpr size_t kFiberStackBytes = size_t{64} << 10;
#endif

std::mutex options_mutex;
ExecutorOptions global_options;

enum class State { Ready, AtBarrier, AtWarp, Done };

struct ThreadSlot {
  ThreadContext ctx;
  State state = State::Ready;
  // The pending warp collective.
  WarpOp op = WarpOp::Sync;
  unsigned mask = 0;
  uint64_t value = 0, result = 0;
  int param = 0, width = kWarpSize;
  // cp.async copies not yet landed: the groups committed so far (oldest first) and the open one.
  std::vector<std::vector<std::function<void()>>> async_groups;
  std::vector<std::function<void()>> async_open;
};

// The errors of one launch, shared by the workers that run its blocks.
struct LaunchRecord {
  const char* kernel = "";
  std::mutex mutex;
  std::string first_error;
  std::atomic<size_t> error_count{0};

  void add(const std::string& where, const std::string& message) {
    std::lock_guard lock(mutex);
    if (error_count++ == 0) {
      first_error = fmt::format("kernel {}: {} ({})", kernel, message, where);
    }
  }
};

// The (x, y, z) index of a linear index in a grid or block of `extent` (x fastest).
uint3 unflatten(int64_t linear, dim3 extent) {
  return {static_cast<unsigned>(linear % extent.x), static_cast<unsigned>(linear / extent.x % extent.y),
          static_cast<unsigned>(linear / (int64_t{extent.x} * extent.y))};
}

std::string describe(uint3 block, uint3 thread) {
  return fmt::format("block ({},{},{}) thread ({},{},{})", block.x, block.y, block.z, thread.x, thread.y,
                     thread.z);
}

std::string describe(const ThreadContext& c) {
  return describe(c.block_idx, c.thread_idx);
}

std::atomic<uint64_t> next_launch_id{1}, next_block_run{1};  // 0 marks "no access" in race stamps

// Runs the blocks given to one OS thread; owns the fibers, reused from block to block.
class BlockRunner {
 public:
  void run(LaunchRecord& record, dim3 grid, dim3 block, int64_t block_id, uint64_t launch_id,
           const std::function<void()>& body, ThreadOrder order);
  bool concurrent = false;  // set when several OS threads run the launch's blocks
  ThreadSlot* current = nullptr;
  Fiber* current_fiber = nullptr;
  LaunchRecord* record = nullptr;

 private:
  enum class Release { Waiting, Released, Failed };
  // Completes the warp starting at thread warp_begin when every lane of its collective has arrived.
  // With `final` (no thread of the block can run), a missing lane is an error rather than a wait.
  Release release_warp(LaunchRecord& record, int warp_begin, bool final);
  bool release_warps(LaunchRecord& record);
  std::vector<std::unique_ptr<Fiber>> fibers_;
  std::vector<ThreadSlot> slots_;
};

thread_local BlockRunner* active_runner = nullptr;

BlockRunner& runner() {
  if (active_runner == nullptr) {
    throw std::logic_error("CUDA emulator: a device function was called outside a kernel launch");
  }
  return *active_runner;
}

void BlockRunner::run(LaunchRecord& launch, dim3 grid, dim3 block, int64_t block_id, uint64_t launch_id,
                      const std::function<void()>& body, ThreadOrder order) {
  const uint3 block_idx = unflatten(block_id, grid);
  const uint64_t block_run = next_block_run++;
  const unsigned n = block.x * block.y * block.z;
  while (fibers_.size() < n) {
    fibers_.push_back(std::make_unique<Fiber>(kFiberStackBytes));
  }
  slots_.assign(n, ThreadSlot{});
  record = &launch;
  for (unsigned i = 0; i < n; ++i) {
    ThreadContext& c = slots_[i].ctx;
    c.thread_idx = unflatten(i, block);
    c.block_idx = block_idx;
    c.block_dim = block;
    c.grid_dim = grid;
    c.linear = static_cast<int>(i);
    c.block = static_cast<uint32_t>(block_id);
    c.launch = launch_id;
    c.block_run = block_run;
    c.concurrent_blocks = concurrent;
    fibers_[i]->reset(body);
  }
  std::vector<unsigned> schedule(n);
  for (unsigned i = 0; i < n; ++i) {
    schedule[i] = order == ThreadOrder::Forward ? i : n - 1 - i;
  }
  for (;;) {
    // A warp collective synchronises its own warp only: once its last lane arrives the warp goes on
    // at once, ahead of the other warps, as it may on a GPU; a race that a block-wide wait would hide
    // (another warp overwriting shared memory this warp still reads) then shows.
    bool released = false;
    for (const unsigned i : schedule) {
      if (slots_[i].state != State::Ready) {
        continue;
      }
      current = &slots_[i];
      current_fiber = fibers_[i].get();
      try {
        fibers_[i]->resume();
      } catch (const std::exception& e) {
        launch.add(describe(slots_[i].ctx), fmt::format("exception: {}", e.what()));
      }
      if (fibers_[i]->finished()) {
        slots_[i].state = State::Done;
        const auto& groups = slots_[i].async_groups;
        if (!slots_[i].async_open.empty() ||
            std::any_of(groups.begin(), groups.end(), [](const auto& g) { return !g.empty(); })) {
          launch.add(describe(slots_[i].ctx), "the thread exited with cp.async copies it never waited for");
        }
      } else if (slots_[i].state == State::AtWarp) {
        const Release r = release_warp(launch, static_cast<int>(i) / kWarpSize * kWarpSize, false);
        if (r == Release::Failed) {
          current = nullptr;
          return;
        }
        if (r == Release::Released) {
          released = true;
          break;
        }
      }
    }
    current = nullptr;
    if (released) {
      continue;
    }
    const auto count = [&](State s) {
      return std::count_if(slots_.begin(), slots_.end(), [s](const ThreadSlot& t) { return t.state == s; });
    };
    if (count(State::Done) == static_cast<std::ptrdiff_t>(n)) {
      return;
    }
    if (count(State::AtWarp) > 0) {
      if (!release_warps(launch)) {
        return;
      }
      continue;
    }
    const auto waiting = count(State::AtBarrier);
    if (waiting == static_cast<std::ptrdiff_t>(n)) {
      for (ThreadSlot& t : slots_) {
        t.state = State::Ready;
      }
      continue;
    }
    // Some threads exited (or never arrive) while others wait: on a GPU this hangs or is undefined.
    launch.add(fmt::format("block ({},{},{})", block_idx.x, block_idx.y, block_idx.z),
               fmt::format("__syncthreads reached by {} of {} threads; the others exited", waiting, n));
    return;
  }
}

// Completes every warp whose participating lanes all wait at a collective, when no thread can run.
// Returns false after recording an error when a warp cannot complete.
bool BlockRunner::release_warps(LaunchRecord& launch) {
  const int n = static_cast<int>(slots_.size());
  for (int warp_begin = 0; warp_begin < n; warp_begin += kWarpSize) {
    if (release_warp(launch, warp_begin, true) == Release::Failed) {
      return false;
    }
  }
  return true;
}

BlockRunner::Release BlockRunner::release_warp(LaunchRecord& launch, int warp_begin, bool final) {
  const int lanes = std::min(kWarpSize, static_cast<int>(slots_.size()) - warp_begin);
  int leader = -1;
  for (int l = 0; l < lanes; ++l) {
    if (slots_[warp_begin + l].state == State::AtWarp) {
      leader = l;
      break;
    }
  }
  if (leader < 0) {
    return Release::Waiting;
  }
  const ThreadSlot& lead = slots_[warp_begin + leader];
  const auto where = [&] { return describe(lead.ctx); };  // formatted only for an error
  const auto participates = [&](int l) { return l < lanes && ((lead.mask >> l) & 1u) != 0; };
  for (int l = 0; l < lanes; ++l) {
    const ThreadSlot& t = slots_[warp_begin + l];
    if (participates(l) && t.state == State::Ready && !final) {
      return Release::Waiting;  // a lane still on its way to the collective
    }
    if (participates(l) && t.state != State::AtWarp) {
      launch.add(where(), fmt::format("warp collective with mask {:#010x}: lane {} {}", lead.mask, l,
                                      t.state == State::Done ? "exited" : "waits at __syncthreads"));
      return Release::Failed;
    }
    if (t.state == State::AtWarp && (t.mask != lead.mask || t.op != lead.op)) {
      launch.add(where(),
                 fmt::format("lanes {} and {} of a warp wait at different warp collectives", leader, l));
      return Release::Failed;
    }
  }
  uint64_t votes = 0;
  int agree = 0, active = 0;
  for (int l = 0; l < lanes; ++l) {
    if (participates(l)) {
      ++active;
      const bool pred = slots_[warp_begin + l].value != 0;
      votes |= pred ? uint64_t{1} << l : 0;
      agree += pred ? 1 : 0;
    }
  }
  for (int l = 0; l < lanes; ++l) {
    if (!participates(l)) {
      continue;
    }
    ThreadSlot& t = slots_[warp_begin + l];
    const int segment = l / t.width * t.width;
    int src = l;
    switch (t.op) {
      case WarpOp::Shfl: src = segment + ((t.param % t.width) + t.width) % t.width; break;
      case WarpOp::ShflUp: src = l - t.param >= segment ? l - t.param : l; break;
      case WarpOp::ShflDown: src = l + t.param < segment + t.width ? l + t.param : l; break;
      case WarpOp::ShflXor: src = (l ^ t.param) < segment + t.width ? (l ^ t.param) : l; break;
      default: break;
    }
    if (!participates(src)) {
      launch.add(describe(t.ctx),
                 fmt::format("shuffle reads lane {}, which is not active in mask {:#010x}", src, lead.mask));
      return Release::Failed;
    }
    switch (t.op) {
      case WarpOp::Ballot: t.result = votes; break;
      case WarpOp::Any: t.result = agree > 0 ? 1 : 0; break;
      case WarpOp::All: t.result = agree == active ? 1 : 0; break;
      case WarpOp::Sync: t.result = 0; break;
      default: t.result = slots_[warp_begin + src].value; break;
    }
    t.state = State::Ready;
  }
  return Release::Released;
}

struct AllocationEntry {
  const char* end;
  std::unique_ptr<AllocationShadow> shadow;
};
std::shared_mutex allocations_mutex;
std::map<const char*, AllocationEntry> allocations;  // by begin

}  // namespace

void set_executor_options(const ExecutorOptions& options) {
  std::lock_guard lock(options_mutex);
  global_options = options;
}

ExecutorOptions executor_options() {
  std::lock_guard lock(options_mutex);
  return global_options;
}

const ThreadContext& current_thread() {
  BlockRunner& r = runner();
  if (r.current == nullptr) {
    throw std::logic_error("CUDA emulator: no current thread");
  }
  return r.current->ctx;
}

void run_kernel(const char* name, dim3 grid, dim3 block, const std::function<void()>& body) {
  const unsigned threads = block.x * block.y * block.z;
  if (threads == 0 || threads > kMaxThreadsPerBlock || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535) {
    throw KernelError(fmt::format("kernel {}: invalid launch shape grid ({},{},{}) block ({},{},{})", name,
                                  grid.x, grid.y, grid.z, block.x, block.y, block.z));
  }
  const ExecutorOptions options = executor_options();
  LaunchRecord record;
  record.kernel = name;
  const uint64_t launch_id = next_launch_id++;
  const int64_t blocks = int64_t{grid.x} * grid.y * grid.z;
  std::atomic<int64_t> next{0};
  const int workers = static_cast<int>(std::clamp<int64_t>(options.workers, 1, blocks));
  const auto work = [&] {
    BlockRunner local;
    local.concurrent = workers > 1;
    BlockRunner* const saved = active_runner;
    active_runner = &local;
    for (int64_t b = next++; b < blocks && record.error_count == 0; b = next++) {
      const int64_t id = options.order == ThreadOrder::Forward ? b : blocks - 1 - b;
      local.run(record, grid, block, id, launch_id, body, options.order);
    }
    active_runner = saved;
  };
  if (workers == 1) {
    work();
  } else {
    std::vector<std::jthread> pool;
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back(work);
    }
  }
  if (record.error_count > 0) {
    throw KernelError(record.error_count == 1 ? record.first_error
                                              : fmt::format("{} (and {} more errors)", record.first_error,
                                                            record.error_count - 1));
  }
}

void syncthreads() {
  BlockRunner& r = runner();
  r.current->state = State::AtBarrier;
  r.current_fiber->suspend();
  ++r.current->ctx.barriers;
}

uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int param, int width) {
  BlockRunner& r = runner();
  ThreadSlot& t = *r.current;
  if (width <= 0 || width > kWarpSize || (width & (width - 1)) != 0) {
    report_error(fmt::format("warp width {} is not a power of two up to 32", width));
    width = kWarpSize;
  }
  t.op = op;
  t.mask = mask;
  t.value = value;
  t.param = param;
  t.width = width;
  t.state = State::AtWarp;
  r.current_fiber->suspend();
  ++r.current->ctx.warp_syncs;
  return r.current->result;
}

void async_copy(std::function<void()> land) {
  runner().current->async_open.push_back(std::move(land));
}

void async_commit() {
  ThreadSlot& t = *runner().current;
  t.async_groups.push_back(std::move(t.async_open));
  t.async_open.clear();
}

void async_wait(int newest_pending) {
  ThreadSlot& t = *runner().current;
  const auto keep = static_cast<size_t>(std::max(newest_pending, 0));
  while (t.async_groups.size() > keep) {
    for (const auto& land : t.async_groups.front()) land();
    t.async_groups.erase(t.async_groups.begin());
  }
}

void report_error(const std::string& message) {
  BlockRunner& r = runner();
  r.record->add(r.current != nullptr ? describe(r.current->ctx) : "outside a thread", message);
}

std::string describe_position(uint32_t block, int thread) {
  const ThreadContext& c = current_thread();
  return describe(unflatten(block, c.grid_dim), unflatten(thread, c.block_dim));
}

void* device_malloc(size_t bytes) {
  // Never zero-sized, so that every allocation has a distinct address.
  char* p = static_cast<char*>(std::malloc(bytes == 0 ? 1 : bytes));
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  std::unique_lock lock(allocations_mutex);
  allocations[p] = AllocationEntry{p + bytes, std::make_unique<AllocationShadow>(bytes)};
  return p;
}

void device_free(void* p) {
  if (p == nullptr) {
    return;
  }
  std::unique_lock lock(allocations_mutex);
  const auto it = allocations.find(static_cast<const char*>(p));
  if (it == allocations.end()) {
    throw std::logic_error("CUDA emulator: freeing a pointer that is not device memory");
  }
  allocations.erase(it);
  std::free(p);
}

Allocation find_allocation(const void* p) {
  const auto* c = static_cast<const char*>(p);
  std::shared_lock lock(allocations_mutex);
  auto it = allocations.upper_bound(c);
  if (it == allocations.begin()) {
    return {};
  }
  --it;
  if (c < it->first || c > it->second.end) {
    return {};
  }
  return {it->first, it->second.end, it->second.shadow.get()};
}

size_t live_allocations() {
  std::shared_lock lock(allocations_mutex);
  return allocations.size();
}

}  // namespace s2::emu
