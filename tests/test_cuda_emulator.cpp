// The CPU executor of the CUDA programming model: barriers, shared memory, warp collectives,
// atomics, thread orders, and that it catches planted races (in shared memory, behind warp shuffles,
// across blocks in global memory), out-of-bounds accesses to device and shared memory, reads of
// shared memory no thread wrote, barrier divergence and host pointers passed to a kernel.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/cuda/runtime.h"
#include "tests/cuda_test_util.h"

namespace cu = s2::cuda_emu;
namespace emu = s2::emu;
using cu::dev_ptr;
using s2::testing::download;
using s2::testing::upload;

namespace {

constexpr unsigned kBlock = 256;

// Tree reduction over a block in shared memory. Without its barriers it is the textbook race.
template <bool kBarriers>
__global__ void tree_sum_kernel(dev_ptr<const float> x, dev_ptr<float> out) {
  S2_SHARED(float, buf, [kBlock]);
  const unsigned t = threadIdx.x;
  buf[t] = x[blockIdx.x * kBlock + t];
  if (kBarriers) {
    __syncthreads();
  }
  for (unsigned s = kBlock / 2; s > 0; s >>= 1) {
    if (t < s) {
      buf[t] += buf[t + s];
    }
    if (kBarriers) {
      __syncthreads();
    }
  }
  if (t == 0) {
    out[blockIdx.x] = buf[0];
  }
}

// Two block sums in a row through one shared array of per-warp partials (warp shuffles, then every
// thread reads every partial). Without the barrier after the reads, a warp that finishes first writes
// its next partial while other warps still read the first ones: a race that only warp-level
// synchronisation of the shuffles can show.
template <bool kTrailingBarrier>
__global__ void two_block_sums_kernel(dev_ptr<const float> x, dev_ptr<float> out) {
  S2_SHARED(float, partial, [kBlock / 32]);
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float result = 0.0f;
  for (int round = 0; round < 2; ++round) {
    float v = x[round * kBlock + threadIdx.x];
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    float total = 0.0f;
    for (unsigned w = 0; w < kBlock / 32; ++w) total += partial[w];
    if (kTrailingBarrier) {
      __syncthreads();
    }
    result += round == 0 ? total : 1000.0f * total;
  }
  out[threadIdx.x] = result;
}

__global__ void off_by_one_kernel(int64_t n, dev_ptr<float> y) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i <= n) {  // the planted bug: <= instead of <
    y[i] = 1.0f;
  }
}

__global__ void divergent_barrier_kernel(dev_ptr<float> y) {
  if (threadIdx.x < 16) {
    return;
  }
  __syncthreads();
  y[threadIdx.x] = 1.0f;
}

__global__ void warp_ops_kernel(dev_ptr<int> out) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const unsigned full = 0xffffffffu;
  int sum = lane;
  for (int o = 16; o > 0; o >>= 1) {
    sum += __shfl_down_sync(full, sum, o);
  }
  const int base = static_cast<int>(threadIdx.x / 32) * 32;
  out[(base + lane) * 6 + 0] = __shfl_sync(full, sum, 0);  // broadcast of lane 0's total
  out[(base + lane) * 6 + 1] = __shfl_up_sync(full, lane, 1);
  out[(base + lane) * 6 + 2] = __shfl_xor_sync(full, lane, 1);
  out[(base + lane) * 6 + 3] = static_cast<int>(__ballot_sync(full, lane % 2 == 0));
  out[(base + lane) * 6 + 4] = __any_sync(full, lane == 5);
  out[(base + lane) * 6 + 5] = __shfl_down_sync(full, lane, 4, 8);  // width-8 segments
}

__global__ void count_kernel(dev_ptr<int> counter) {
  atomicAdd(&counter[0], 1);
}

__global__ void thread_index_kernel(dev_ptr<int> out) {
  const int64_t block = (int64_t{blockIdx.z} * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const int64_t thread = (int64_t{threadIdx.z} * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const int64_t per_block = int64_t{blockDim.x} * blockDim.y * blockDim.z;
  out[block * per_block + thread] = static_cast<int>(block * 1000 + thread);
}

// Every thread of every block adds x[block] to sum[0]: atomically, or with a plain read-modify-write
// (the planted bug: atomicAdd replaced by +=).
template <bool kAtomic>
__global__ void block_total_kernel(dev_ptr<const float> x, dev_ptr<float> sum) {
  if (kAtomic) {
    atomicAdd(&sum[0], x[blockIdx.x]);
  } else {
    sum[0] += x[blockIdx.x];
  }
}

// Block b writes its half of buf; its thread 0 also copies a word of the other block's half.
__global__ void read_neighbour_kernel(dev_ptr<float> buf) {
  if (threadIdx.x == 0) {
    buf[blockIdx.x * 32] = buf[(1 - blockIdx.x) * 32 + 1];
  } else {
    buf[blockIdx.x * 32 + threadIdx.x] = 1.0f;
  }
}

// Each lane stores its index and reads its neighbour's, with or without __syncwarp between (after a
// block-wide initialisation, so that only the order of the exchange is in question).
template <bool kSyncWarp>
__global__ void lane_swap_kernel(dev_ptr<int> out) {
  S2_SHARED(int, lanes, [64]);
  lanes[threadIdx.x] = -1;
  __syncthreads();
  lanes[threadIdx.x] = static_cast<int>(threadIdx.x);
  if (kSyncWarp) {
    __syncwarp();
  }
  out[threadIdx.x] = lanes[threadIdx.x ^ 1];
}

// Stages one value per thread through a shared array of kSize.
template <int kSize>
__global__ void stage_kernel(dev_ptr<float> out) {
  S2_SHARED(float, stage, [kSize]);
  stage[threadIdx.x] = 2.0f * static_cast<float>(threadIdx.x);
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = stage[threadIdx.x];
}

// Block 0 stores then reads; block 1 reads first: what it would read is block 0's value, or poison.
__global__ void read_before_store_kernel(dev_ptr<float> out) {
  S2_SHARED(float, value, [32]);
  if (blockIdx.x == 0) {
    value[threadIdx.x] = 1.0f;
  }
  out[blockIdx.x * 32 + threadIdx.x] = value[threadIdx.x];
}

struct OrderGuard {
  explicit OrderGuard(emu::ThreadOrder order, int workers = 1) {
    saved = emu::executor_options();
    emu::set_executor_options({order, workers});
  }
  ~OrderGuard() { emu::set_executor_options(saved); }
  emu::ExecutorOptions saved;
};

// Block sums of `blocks` x 256 integers (exact in float), under one thread order.
template <bool kBarriers>
std::vector<float> tree_sums(emu::ThreadOrder order, unsigned blocks) {
  OrderGuard guard(order);
  std::vector<float> x(blocks * kBlock);
  std::iota(x.begin(), x.end(), 0.0f);
  const auto dx = upload(x);
  cu::DeviceBuffer<float> dout(blocks);
  cu::launch("tree_sum", tree_sum_kernel<kBarriers>, dim3(blocks), dim3(kBlock), dx.get(), dout.get());
  return download(dout);
}

std::vector<float> expected_tree_sums(unsigned blocks) {
  std::vector<float> sums(blocks);
  for (unsigned b = 0; b < blocks; ++b) {
    const double first = b * kBlock, last = first + kBlock - 1;
    sums[b] = static_cast<float>((first + last) * kBlock / 2);
  }
  return sums;
}

}  // namespace

TEST_CASE("a correct shared-memory reduction gives exact sums in both thread orders") {
  for (const auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse}) {
    CHECK(tree_sums<true>(order, 3) == expected_tree_sums(3));
  }
}

TEST_CASE("the executor catches a planted race: the reduction without __syncthreads") {
  // In forward order thread 0 reads buf[128] before thread 128 has stored it; in reverse order (blocks
  // and threads) thread 127 reads buf[255] after its store but with no barrier between: both are reported.
  CHECK_THROWS_WITH_AS(
      tree_sums<false>(emu::ThreadOrder::Forward, 3),
      doctest::Contains("reads word 128 of shared memory, which no thread of this block has written"),
      emu::KernelError);
  CHECK_THROWS_WITH_AS(
      tree_sums<false>(emu::ThreadOrder::Reverse, 3),
      doctest::Contains("race on shared memory: this thread reads word 255 (byte 1020), which "
                        "block (2,0,0) thread (255,0,0) wrote with no __syncthreads between them"),
      emu::KernelError);
}

TEST_CASE(
    "the executor catches a race hidden behind warp shuffles: a reused shared array without its barrier") {
  // Round 0 sums 1 per thread (256), round 1 sums 2 per thread (512): every thread must get 256 + 512000.
  std::vector<float> x(2 * kBlock, 1.0f);
  std::fill(x.begin() + kBlock, x.end(), 2.0f);
  const auto dx = upload(x);
  const auto run = [&](auto kernel, emu::ThreadOrder order) {
    OrderGuard guard(order);
    cu::DeviceBuffer<float> dout(kBlock);
    cu::launch("two_block_sums", kernel, dim3(1), dim3(kBlock), dx.get(), dout.get());
    return download(dout);
  };
  const std::vector<float> expected(kBlock, 256.0f + 512000.0f);
  for (const auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse}) {
    CHECK(run(two_block_sums_kernel<true>, order) == expected);
    // Each warp goes on as soon as its own shuffles complete, so warp 0 stores its round-1 partial while
    // the other warps have still to read the round-0 one, with no barrier between: reported in either
    // order, whatever the values.
    CHECK_THROWS_WITH_AS(run(two_block_sums_kernel<false>, order), doctest::Contains("race on shared memory"),
                         emu::KernelError);
  }
}

TEST_CASE(
    "the race check catches += across blocks where atomicAdd is needed, in both orders and on 2 workers") {
  const std::vector<float> x{1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
  const auto dx = upload(x);
  for (const auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse}) {
    for (const int workers : {1, 2}) {
      OrderGuard guard(order, workers);
      CAPTURE(workers);
      cu::DeviceBuffer<float> sum(1);
      cu::fill_zero(sum.get(), sizeof(float));
      cu::launch("block_totals", block_total_kernel<true>, dim3(5), dim3(64), dx.get(), sum.get());
      CHECK(download(sum)[0] == 15.0f * 64.0f);
      // Run one block at a time, the plain += gives the right total too; only the race check sees it.
      std::string message;
      try {
        cu::launch("block_totals", block_total_kernel<false>, dim3(5), dim3(64), dx.get(), sum.get());
      } catch (const emu::KernelError& e) {
        message = e.what();
      }
      CAPTURE(message);
      CHECK(message.find("race on global memory: this thread ") != std::string::npos);
      // One worker runs the threads in a fixed order, so the first conflict is always a read of what an
      // earlier thread wrote; two run blocks at once, so it may as well be a write after another
      // thread's read (seen once in CI).
      const bool read_after_write = message.find("reads word 0 (byte 0), which block") != std::string::npos;
      const bool write_after_read = message.find("writes word 0 (byte 0), which block") != std::string::npos;
      CHECK((workers == 1 ? read_after_write : read_after_write || write_after_read));
    }
  }
}

TEST_CASE("the race check catches a read of what another block of the same launch writes") {
  cu::DeviceBuffer<float> buf(64);
  cu::fill_zero(buf.get(), 64 * sizeof(float));
  CHECK_THROWS_WITH_AS(
      cu::launch("neighbour", read_neighbour_kernel, dim3(2), dim3(32), buf.get()),
      doctest::Contains("race on global memory: this thread reads word 1 (byte 4), which block (0,0,0) "
                        "thread (1,0,0) wrote with no ordering (another block of the same launch) "
                        "between them; blocks share memory only through atomics or separate launches "
                        "(block (1,0,0) thread (0,0,0)) (and 1 more errors)"),
      emu::KernelError);
}

TEST_CASE("lanes of a warp exchange through shared memory only across a warp collective") {
  for (const auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse}) {
    OrderGuard guard(order);
    cu::DeviceBuffer<int> out(64);
    cu::launch("lane_swap", lane_swap_kernel<true>, dim3(1), dim3(64), out.get());
    const auto r = download(out);
    for (int t = 0; t < 64; ++t) {
      REQUIRE(r[t] == (t ^ 1));
    }
    CHECK_THROWS_WITH_AS(cu::launch("lane_swap", lane_swap_kernel<false>, dim3(1), dim3(64), out.get()),
                         doctest::Contains("race on shared memory"), emu::KernelError);
  }
}

TEST_CASE("device memory nothing wrote may not be read or accumulated into (initcheck)") {
  const std::vector<float> x{1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
  const auto dx = upload(x);
  cu::DeviceBuffer<float> sum(1);
  // The planted bug of split-K without its fill_zero: atomics into a buffer never zeroed.
  CHECK_THROWS_WITH_AS(
      cu::launch("unzeroed", block_total_kernel<true>, dim3(5), dim3(64), dx.get(), sum.get()),
      doctest::Contains(
          "atomically updates word 0 (byte 0) of a device allocation of 4 bytes that nothing has "
          "written since it was allocated (uninitialised memory: zero an accumulator first)"),
      emu::KernelError);
  // A device-to-device copy carries what its source had: the copy of an unwritten buffer is unwritten.
  cu::DeviceBuffer<float> fresh(1), copy(1);
  cu::copy_on_device(copy.get(), fresh.get(), sizeof(float));
  CHECK_THROWS_WITH_AS(
      cu::launch("copied", block_total_kernel<true>, dim3(1), dim3(32), dx.get(), copy.get()),
      doctest::Contains("uninitialised memory"), emu::KernelError);
  cu::fill_zero(sum.get(), sizeof(float));
  cu::copy_on_device(copy.get(), sum.get(), sizeof(float));
  CHECK_NOTHROW(cu::launch("zeroed", block_total_kernel<true>, dim3(1), dim3(32), dx.get(), copy.get()));
  CHECK(download(copy)[0] == 32.0f);
}

TEST_CASE("shared memory is bounds-checked, and starts every block as poison that may not be read") {
  cu::DeviceBuffer<float> out(128);
  // A shared array one element too small for the block (the planted bug of a shrunken s_pool).
  CHECK_THROWS_WITH_AS(
      cu::launch("small_shared", stage_kernel<64>, dim3(1), dim3(65), out.get()),
      doctest::Contains("out-of-bounds access: element 64 of a shared array whose extent spans [0, 64)"),
      emu::KernelError);
  CHECK_NOTHROW(cu::launch("fits", stage_kernel<64>, dim3(2), dim3(64), out.get()));
  // The second block finds nothing of the first block's values: a read before its own store is reported.
  CHECK_THROWS_WITH_AS(cu::launch("stale", read_before_store_kernel, dim3(2), dim3(32), out.get()),
                       doctest::Contains("block (1,0,0) thread (0,0,0)"), emu::KernelError);
}

TEST_CASE("the executor catches a planted out-of-bounds write and names kernel, block and thread") {
  cu::DeviceBuffer<float> y(100);
  std::string message;
  try {
    cu::launch("off_by_one", off_by_one_kernel, dim3(1), dim3(128), int64_t{100}, y.get());
  } catch (const emu::KernelError& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("kernel off_by_one") != std::string::npos);
  CHECK(message.find("out-of-bounds access: element 100") != std::string::npos);
  CHECK(message.find("block (0,0,0) thread (100,0,0)") != std::string::npos);
  // In bounds the same kernel passes.
  CHECK_NOTHROW(cu::launch("off_by_one", off_by_one_kernel, dim3(1), dim3(128), int64_t{99}, y.get()));
}

TEST_CASE("the executor reports __syncthreads that not every thread reaches") {
  cu::DeviceBuffer<float> y(64);
  CHECK_THROWS_WITH_AS(cu::launch("divergent", divergent_barrier_kernel, dim3(1), dim3(64), y.get()),
                       doctest::Contains("__syncthreads reached by 48 of 64 threads"), emu::KernelError);
}

TEST_CASE("a host pointer passed to a kernel is rejected at launch") {
  std::vector<float> host(64);
  CHECK_THROWS_WITH_AS(cu::launch("host_ptr", divergent_barrier_kernel, dim3(1), dim3(64), host.data()),
                       doctest::Contains("kernel host_ptr: a kernel argument points to host memory"),
                       emu::KernelError);
}

TEST_CASE("warp shuffles and votes follow CUDA's 32-lane semantics") {
  for (const auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse}) {
    OrderGuard guard(order);
    cu::DeviceBuffer<int> out(64 * 6);
    cu::launch("warp_ops", warp_ops_kernel, dim3(1), dim3(64), out.get());
    const auto r = download(out);
    for (int t = 0; t < 64; ++t) {
      const int lane = t % 32;
      CAPTURE(t);
      CHECK(r[t * 6 + 0] == 496);                         // 0 + 1 + ... + 31
      CHECK(r[t * 6 + 1] == (lane == 0 ? 0 : lane - 1));  // shfl_up keeps lane 0's own value
      CHECK(r[t * 6 + 2] == (lane ^ 1));
      CHECK(static_cast<unsigned>(r[t * 6 + 3]) == 0x55555555u);
      CHECK(r[t * 6 + 4] == 1);
      CHECK(r[t * 6 + 5] == (lane % 8 < 4 ? lane + 4 : lane));  // stays within its 8-lane segment
    }
  }
}

TEST_CASE("atomics are exact across blocks run by several OS threads") {
  OrderGuard guard(emu::ThreadOrder::Forward, 2);
  cu::DeviceBuffer<int> counter(1);
  cu::fill_zero(counter.get(), sizeof(int));
  cu::launch("count", count_kernel, dim3(40), dim3(96), counter.get());
  CHECK(download(counter)[0] == 40 * 96);
}

TEST_CASE("3-D grids and blocks give every thread its own index") {
  cu::DeviceBuffer<int> out(2 * 3 * 2 * 4 * 2 * 3);
  cu::launch("index", thread_index_kernel, dim3(2, 3, 2), dim3(4, 2, 3), out.get());
  const auto r = download(out);
  for (int b = 0; b < 12; ++b) {
    for (int t = 0; t < 24; ++t) {
      REQUIRE(r[b * 24 + t] == b * 1000 + t);
    }
  }
}

TEST_CASE("invalid launch shapes are rejected with the kernel's name") {
  cu::DeviceBuffer<int> counter(1);
  CHECK_THROWS_WITH_AS(cu::launch("too_big", count_kernel, dim3(1), dim3(2048), counter.get()),
                       doctest::Contains("kernel too_big: invalid launch shape"), emu::KernelError);
}

TEST_CASE("device buffers are released") {
  const size_t before = emu::live_allocations();
  { cu::DeviceBuffer<float> b(10); }
  CHECK(emu::live_allocations() == before);
}
