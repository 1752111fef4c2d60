// The CPU executor of the CUDA programming model: barriers, shared memory, warp collectives,
// atomics, thread orders, and that it catches a planted race, a planted out-of-bounds write,
// barrier divergence and host pointers passed to a kernel.
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
  __shared__ float buf[kBlock];
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
  __shared__ float partial[kBlock / 32];
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
  cu::launch("tree_sum", tree_sum_kernel<kBarriers>, dim3(blocks), dim3(kBlock), nullptr, dx.get(),
             dout.get());
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
  const auto forward = tree_sums<false>(emu::ThreadOrder::Forward, 3);
  const auto reverse = tree_sums<false>(emu::ThreadOrder::Reverse, 3);
  const auto expected = expected_tree_sums(3);
  // The check that a kernel test makes (both orders must match the reference) fails: caught.
  const bool caught = forward != expected || reverse != expected;
  CHECK(caught);
  CHECK(forward != reverse);
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
    cu::launch("two_block_sums", kernel, dim3(1), dim3(kBlock), nullptr, dx.get(), dout.get());
    return download(dout);
  };
  const std::vector<float> expected(kBlock, 256.0f + 512000.0f);
  for (const auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse}) {
    CHECK(run(two_block_sums_kernel<true>, order) == expected);
  }
  // Each warp goes on as soon as its own shuffles complete, so some warp overwrites a partial another
  // warp has not read yet, in one order or the other: the kernel test's check fails.
  const bool caught = run(two_block_sums_kernel<false>, emu::ThreadOrder::Forward) != expected ||
                      run(two_block_sums_kernel<false>, emu::ThreadOrder::Reverse) != expected;
  CHECK(caught);
}

TEST_CASE("the executor catches a planted out-of-bounds write and names kernel, block and thread") {
  cu::DeviceBuffer<float> y(100);
  std::string message;
  try {
    cu::launch("off_by_one", off_by_one_kernel, dim3(1), dim3(128), nullptr, int64_t{100}, y.get());
  } catch (const emu::KernelError& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("kernel off_by_one") != std::string::npos);
  CHECK(message.find("out-of-bounds access: element 100") != std::string::npos);
  CHECK(message.find("block (0,0,0) thread (100,0,0)") != std::string::npos);
  // In bounds the same kernel passes.
  CHECK_NOTHROW(
      cu::launch("off_by_one", off_by_one_kernel, dim3(1), dim3(128), nullptr, int64_t{99}, y.get()));
}

TEST_CASE("the executor reports __syncthreads that not every thread reaches") {
  cu::DeviceBuffer<float> y(64);
  CHECK_THROWS_WITH_AS(cu::launch("divergent", divergent_barrier_kernel, dim3(1), dim3(64), nullptr, y.get()),
                       doctest::Contains("__syncthreads reached by 48 of 64 threads"), emu::KernelError);
}

TEST_CASE("a host pointer passed to a kernel is rejected at launch") {
  std::vector<float> host(64);
  CHECK_THROWS_WITH_AS(
      cu::launch("host_ptr", divergent_barrier_kernel, dim3(1), dim3(64), nullptr, host.data()),
      doctest::Contains("kernel host_ptr: a kernel argument points to host memory"), emu::KernelError);
}

TEST_CASE("warp shuffles and votes follow CUDA's 32-lane semantics") {
  for (const auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse}) {
    OrderGuard guard(order);
    cu::DeviceBuffer<int> out(64 * 6);
    cu::launch("warp_ops", warp_ops_kernel, dim3(1), dim3(64), nullptr, out.get());
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
  cu::launch("count", count_kernel, dim3(40), dim3(96), nullptr, counter.get());
  CHECK(download(counter)[0] == 40 * 96);
}

TEST_CASE("3-D grids and blocks give every thread its own index") {
  cu::DeviceBuffer<int> out(2 * 3 * 2 * 4 * 2 * 3);
  cu::launch("index", thread_index_kernel, dim3(2, 3, 2), dim3(4, 2, 3), nullptr, out.get());
  const auto r = download(out);
  for (int b = 0; b < 12; ++b) {
    for (int t = 0; t < 24; ++t) {
      REQUIRE(r[b * 24 + t] == b * 1000 + t);
    }
  }
}

TEST_CASE("invalid launch shapes are rejected with the kernel's name") {
  cu::DeviceBuffer<int> counter(1);
  CHECK_THROWS_WITH_AS(cu::launch("too_big", count_kernel, dim3(1), dim3(2048), nullptr, counter.get()),
                       doctest::Contains("kernel too_big: invalid launch shape"), emu::KernelError);
}

TEST_CASE("device buffers are released") {
  const size_t before = emu::live_allocations();
  { cu::DeviceBuffer<float> b(10); }
  CHECK(emu::live_allocations() == before);
}
