// The emulator's model of sm_80's tensor-core and asynchronous-copy instructions (kernels/cuda/
// tensor_core.cuh): mma.sync on TF32 and BF16 against matrix products computed here from the whole
// matrices, the roundings that feed them, and the bugs they invite: an mma not every lane reaches, a
// cp.async read before its wait, a cp.async never waited for.
#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <vector>

#include "kernels/cuda/tensor_core.cuh"
#include "tests/cuda_test_util.h"

namespace cu = s2::cuda_emu;
namespace emu = s2::emu;
using cu::dev_ptr;
using s2::testing::download;
using s2::testing::upload;

namespace {

// A [16 x K] and B [K x 8] row-major in, D [16 x 8] row-major out, one warp. Each lane takes its fragments
// from the whole matrices by the PTX ISA's layout tables (g = lane / 4, t = lane % 4), written here a
// second time, apart from the emulator's gathering code.
template <bool kBf16>
__global__ void mma_kernel(dev_ptr<const float> a, dev_ptr<const float> b, dev_ptr<const float> c,
                           dev_ptr<float> d) {
  constexpr int K = kBf16 ? 16 : 8;
  const int lane = static_cast<int>(threadIdx.x), g = lane / 4, t = lane % 4;
  uint32_t af[4], bf[2];
  if (kBf16) {
    af[0] = cu::pack_bf16(a[g * K + 2 * t], a[g * K + 2 * t + 1]);
    af[1] = cu::pack_bf16(a[(g + 8) * K + 2 * t], a[(g + 8) * K + 2 * t + 1]);
    af[2] = cu::pack_bf16(a[g * K + 2 * t + 8], a[g * K + 2 * t + 9]);
    af[3] = cu::pack_bf16(a[(g + 8) * K + 2 * t + 8], a[(g + 8) * K + 2 * t + 9]);
    bf[0] = cu::pack_bf16(b[(2 * t) * 8 + g], b[(2 * t + 1) * 8 + g]);
    bf[1] = cu::pack_bf16(b[(2 * t + 8) * 8 + g], b[(2 * t + 9) * 8 + g]);
  } else {
    af[0] = cu::to_tf32(a[g * K + t]);
    af[1] = cu::to_tf32(a[(g + 8) * K + t]);
    af[2] = cu::to_tf32(a[g * K + t + 4]);
    af[3] = cu::to_tf32(a[(g + 8) * K + t + 4]);
    bf[0] = cu::to_tf32(b[t * 8 + g]);
    bf[1] = cu::to_tf32(b[(t + 4) * 8 + g]);
  }
  const float cf[4] = {c[g * 8 + 2 * t], c[g * 8 + 2 * t + 1], c[(g + 8) * 8 + 2 * t],
                       c[(g + 8) * 8 + 2 * t + 1]};
  float df[4];
  if (kBf16) {
    cu::mma_bf16_m16n8k16(df, af, bf, cf);
  } else {
    cu::mma_tf32_m16n8k8(df, af, bf, cf);
  }
  d[g * 8 + 2 * t] = df[0];
  d[g * 8 + 2 * t + 1] = df[1];
  d[(g + 8) * 8 + 2 * t] = df[2];
  d[(g + 8) * 8 + 2 * t + 1] = df[3];
}

// Small integers: exact in TF32, BF16 and every FP32 sum here, so D must equal A B + C exactly.
template <bool kBf16>
void check_mma() {
  constexpr int K = kBf16 ? 16 : 8;
  std::vector<float> a(16 * K), b(K * 8), c(16 * 8);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(static_cast<int>(i * 7 % 11) - 5);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(static_cast<int>(i * 5 % 9) - 4);
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<float>(static_cast<int>(i % 13) - 6);
  const auto da = upload(a), db = upload(b), dc = upload(c);
  s2::testing::in_both_thread_orders([&] {
    cu::DeviceBuffer<float> dd(16 * 8);
    cu::launch("mma", mma_kernel<kBf16>, dim3(1), dim3(32), da.get(), db.get(), dc.get(), dd.get());
    const auto d = download(dd);
    for (int m = 0; m < 16; ++m) {
      for (int n = 0; n < 8; ++n) {
        float want = c[m * 8 + n];
        for (int k = 0; k < K; ++k) want += a[m * K + k] * b[k * 8 + n];
        CAPTURE(m);
        CAPTURE(n);
        CHECK(d[m * 8 + n] == want);
      }
    }
  });
}

// Lanes 24..31 return early: the others wait in the mma's shuffles for lanes that never come.
__global__ void partial_warp_mma_kernel(dev_ptr<float> d) {
  if (threadIdx.x >= 24) return;
  const uint32_t a[4] = {}, b[2] = {};
  const float c[4] = {};
  float r[4];
  cu::mma_tf32_m16n8k8(r, a, b, c);
  d[threadIdx.x] = r[0];
}

// Each thread copies one value into shared memory with cp.async, then reads its neighbour's.
template <bool kWait, bool kRead>
__global__ void async_copy_kernel(dev_ptr<const float> x, dev_ptr<float> y) {
  S2_SHARED(float, staged, [32]);
  const int t = static_cast<int>(threadIdx.x);
  cu::cp_async_f32(cu::smem_ptr<float>(staged) + t, x + t, t % 2 == 0);  // odd threads zero-fill
  cu::cp_async_commit();
  if (kWait) cu::cp_async_wait<0>();
  __syncthreads();
  if (kRead) y[t] = staged[(t + 1) % 32];
}

// Stages a value per thread, reads it back after the barrier, then loads the next value into the
// neighbour's word: without the barrier between the reads and the new copies, a copy may land while
// another thread still reads (the double-buffering bug of a missing trailing barrier).
template <bool kBarrier>
__global__ void restage_kernel(dev_ptr<const float> x, dev_ptr<float> y) {
  S2_SHARED(float, staged, [32]);
  const int t = static_cast<int>(threadIdx.x);
  cu::cp_async_f32(cu::smem_ptr<float>(staged) + t, x + t, true);
  cu::cp_async_commit();
  cu::cp_async_wait<0>();
  __syncthreads();
  y[t] = staged[t];
  if (kBarrier) __syncthreads();
  cu::cp_async_f32(cu::smem_ptr<float>(staged) + (t + 1) % 32, x + t, true);
  cu::cp_async_commit();
  cu::cp_async_wait<0>();
}

}  // namespace

TEST_CASE("mma.sync on TF32 and BF16 gives A B + C by the PTX fragment layouts") {
  check_mma<false>();
  check_mma<true>();
}

TEST_CASE("TF32 rounds to nearest with ties away from zero, BF16 to nearest even") {
  // 1 + 2^-11 is halfway between two TF32 values: away from zero gives 1 + 2^-10.
  CHECK(std::bit_cast<float>(cu::to_tf32(1.0f + 0x1.0p-11f)) == 1.0f + 0x1.0p-10f);
  CHECK(std::bit_cast<float>(cu::to_tf32(-(1.0f + 0x1.0p-11f))) == -(1.0f + 0x1.0p-10f));
  CHECK(std::bit_cast<float>(cu::to_tf32(1.0f + 0x1.0p-12f)) == 1.0f);
  // BF16: 1 + 2^-8 is halfway between 1 and 1 + 2^-7; even is 1. 1 + 3 * 2^-8 rounds up to 1 + 2^-6.
  const auto bf16 = [](float v) { return std::bit_cast<float>((cu::pack_bf16(v, 0.0f) & 0xffffu) << 16); };
  CHECK(bf16(1.0f + 0x1.0p-8f) == 1.0f);
  CHECK(bf16(1.0f + 3 * 0x1.0p-8f) == 1.0f + 0x1.0p-6f);
  CHECK(cu::pack_bf16(0.0f, 1.0f) == 0x3f800000u);  // the second value in the high half
}

TEST_CASE("an mma.sync that not every lane of the warp reaches is reported") {
  cu::DeviceBuffer<float> d(32);
  CHECK_THROWS_WITH_AS(cu::launch("partial_mma", partial_warp_mma_kernel, dim3(1), dim3(32), d.get()),
                       doctest::Contains("warp collective with mask 0xffffffff: lane 24 exited"),
                       emu::KernelError);
}

TEST_CASE("cp.async lands at its wait: zero-fill, a read before the wait, a copy never waited for") {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i + 1);
  const auto dx = upload(x);
  cu::DeviceBuffer<float> y(32);
  s2::testing::in_both_thread_orders([&] {
    cu::launch("copied", async_copy_kernel<true, true>, dim3(1), dim3(32), dx.get(), y.get());
    const auto r = download(y);
    for (int t = 0; t < 32; ++t) {
      const int from = (t + 1) % 32;
      CHECK(r[t] == (from % 2 == 0 ? x[from] : 0.0f));
    }
  });
  // Without the wait the data is still in flight when read (it may land at any moment until the wait).
  CHECK_THROWS_WITH_AS(
      cu::launch("no_wait", async_copy_kernel<false, true>, dim3(1), dim3(32), dx.get(), y.get()),
      doctest::Contains("while a cp.async copy into it, issued by block (0,0,0) thread"), emu::KernelError);
  CHECK_THROWS_WITH_AS(
      cu::launch("never_waited", async_copy_kernel<false, false>, dim3(1), dim3(32), dx.get(), y.get()),
      doctest::Contains("exited with cp.async copies it never waited for"), emu::KernelError);
}

TEST_CASE("a cp.async issued into a word another thread may still read is a race, in either thread order") {
  std::vector<float> x(32, 1.0f);
  const auto dx = upload(x);
  cu::DeviceBuffer<float> y(32);
  s2::testing::in_both_thread_orders([&] {
    CHECK_NOTHROW(cu::launch("restage", restage_kernel<true>, dim3(1), dim3(32), dx.get(), y.get()));
    // The reader ran first: the issue races with its read; the issuer ran first: the read meets the copy
    // in flight. Either way it is reported.
    CHECK_THROWS_AS(
        cu::launch("restage_no_barrier", restage_kernel<false>, dim3(1), dim3(32), dx.get(), y.get()),
        emu::KernelError);
  });
}
