#pragma once
// A small executor of the CUDA programming model on the CPU. A launch runs every block of the grid;
// the threads of a block are fibers that run one at a time until they reach a barrier
// (__syncthreads, or a warp collective for the 32 lanes of a warp), so that the order in which
// threads run between barriers can be chosen. Every access to device and shared memory is also
// race-checked (race_check.h), whatever the order. A warp collective waits for its own warp only: the warp
// goes on as soon as its last lane arrives, ahead of the rest of the block. Running a kernel with the threads
// in forward and in reverse order makes a missing barrier or a race show up as different results. Errors
// found while a kernel runs (out-of-bounds access through DevPtr, barrier divergence, inactive shuffle lanes)
// are collected and thrown as KernelError when the launch ends, naming the kernel, block and thread.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

// CUDA's vector types, as used by kernel code (global namespace, like the CUDA headers).
struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};

namespace s2::emu {

class KernelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ThreadOrder { Forward, Reverse };

struct ExecutorOptions {
  ThreadOrder order = ThreadOrder::Forward;
  int workers = 1;  // OS threads that run blocks in parallel
};
// Process-wide options for the following launches.
void set_executor_options(const ExecutorOptions& options);
ExecutorOptions executor_options();

// Where the calling fiber is in the grid.
struct ThreadContext {
  uint3 thread_idx, block_idx;
  dim3 block_dim, grid_dim;
  int linear = 0;           // thread index within the block
  uint32_t block = 0;       // block index within the grid
  uint32_t barriers = 0;    // __syncthreads passed so far
  uint32_t warp_syncs = 0;  // warp collectives completed so far
  uint64_t launch = 0;      // ids, unique in the process, of the launch and of this run of the block
  uint64_t block_run = 0;
  bool concurrent_blocks = false;  // other OS threads run blocks of this launch at the same time
};
const ThreadContext& current_thread();

// Runs `body` once per thread of the grid. Throws KernelError for errors found during the run.
void run_kernel(const char* name, dim3 grid, dim3 block, const std::function<void()>& body);

void syncthreads();

enum class WarpOp { Sync, Shfl, ShflUp, ShflDown, ShflXor, Ballot, Any, All };
// One warp collective: every lane in `mask` must call it; returns this lane's result. Values are
// carried as raw 64-bit patterns.
uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int param, int width);

// cp.async: a copy into shared memory whose value lands when its thread waits for its group; on a GPU it
// may arrive any time between issue and wait, so the race check treats the destination as being written
// over that whole span (race_check.h: Access::AsyncIssue, AsyncLand). `land` performs the write. Copies a
// thread never waits for are reported when it exits.
void async_copy(std::function<void()> land);
void async_commit();                  // closes the thread's current group of copies
void async_wait(int newest_pending);  // lands every committed group but the newest `newest_pending`

// Records an error of the running kernel (the first one is reported with its thread position).
void report_error(const std::string& message);
// "block (x,y,z) thread (x,y,z)" of the running launch's linear block and thread indices.
std::string describe_position(uint32_t block, int thread);

class AllocationShadow;

// Emulated device memory: ordinary host memory whose extent is registered, so that kernel
// parameters can be bounds-checked, host pointers passed to a kernel are caught and accesses are
// race-checked.
void* device_malloc(size_t bytes);
void device_free(void* p);
struct Allocation {
  const char* begin = nullptr;
  const char* end = nullptr;
  AllocationShadow* shadow = nullptr;  // the race check's record of its accesses
};
// The device allocation containing p, or {nullptr, nullptr}.
Allocation find_allocation(const void* p);
// Number of live allocations (tests check that launches leak nothing).
size_t live_allocations();

}  // namespace s2::emu
