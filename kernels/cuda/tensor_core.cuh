#pragma once
// Tensor-core and asynchronous-copy primitives (sm_80 and later): warp-wide mma.sync on TF32 and on
// BF16 with FP32 accumulation, the roundings that feed them, and cp.async into shared memory.
//
// On the GPU each is one PTX instruction. In the emulator each is written out from the fragment
// layouts of the PTX ISA ("Matrix fragments for mma.m16n8k8" / "mma.m16n8k16"), with g = lane / 4
// (the group) and t = lane % 4 (the thread in the group):
//   TF32 m16n8k8:  A (16x8)  a0 (g, t)   a1 (g+8, t)   a2 (g, t+4)   a3 (g+8, t+4)
//                  B (8x8)   b0 (k=t, n=g)   b1 (k=t+4, n=g)
//   BF16 m16n8k16: A (16x16) reg0 (g, 2t..2t+1)  reg1 (g+8, 2t..2t+1)  reg2 (g, 2t+8..2t+9)
//                            reg3 (g+8, 2t+8..2t+9), the lower column in the low 16 bits
//                  B (16x8)  reg0 (k=2t..2t+1, n=g)  reg1 (k=2t+8..2t+9, n=g)
//   C, D (16x8, FP32, both): d0 (g, 2t)  d1 (g, 2t+1)  d2 (g+8, 2t)  d3 (g+8, 2t+1)
// Each lane gathers the rows and columns it needs from the lanes that hold them with full-warp shuffles,
// so an mma that not every lane reaches is reported like any incomplete warp collective. The products
// of TF32 or BF16 values are exact in FP32; the emulator adds them in k order with FP32 rounding (the
// tensor cores' internal order and rounding differ, which the kernel checks' bounds allow for).
#include <cstdint>

#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/runtime.h"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#endif

namespace s2::S2_CUDA_NAMESPACE {

#if defined(__CUDACC__) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#define S2_NO_TENSOR_CORES 1  // sm_75 builds: the host refuses these versions before any launch
#endif

// FP32 -> TF32 (10 explicit mantissa bits), round to nearest with ties away from zero, as
// cvt.rna.tf32.f32. The result is an FP32 bit pattern whose low 13 bits are zero.
__device__ __forceinline__ uint32_t to_tf32(float v) {
#if defined(__CUDACC__)
#if defined(S2_NO_TENSOR_CORES)
  return __float_as_uint(v);
#else
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
  return r;
#endif
#else
  const auto bits = static_cast<uint32_t>(__float_as_int(v));
  if ((bits & 0x7f800000u) == 0x7f800000u) {
    return bits;  // inf and NaN stay as they are
  }
  return (bits + 0x1000u) & ~0x1fffu;  // sign-magnitude: adding half an ulp rounds ties away
#endif
}

// Two FP32 values -> packed BF16 (lo in the low half), round to nearest even, as cvt.rn.bf16x2.f32.
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
#if defined(__CUDACC__)
  const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
#else
  const auto round = [](float v) -> uint32_t {
    const auto bits = static_cast<uint32_t>(__float_as_int(v));
    if ((bits & 0x7f800000u) == 0x7f800000u) {
      return (bits >> 16) | ((bits & 0xffffu) != 0 ? 0x40u : 0u);  // keep NaN a NaN
    }
    return (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  };
  return round(lo) | (round(hi) << 16);
#endif
}

#if !defined(__CUDACC__)
namespace emu_mma {
inline uint64_t pair(uint32_t lo, uint32_t hi) {
  return uint64_t{lo} | (uint64_t{hi} << 32);
}
// Element e of a register holding kPerReg values: TF32 (1, the whole register) or BF16 (2, low half first).
template <int kPerReg>
float element(uint32_t reg, int e) {
  const uint32_t bits = kPerReg == 1 ? reg : e == 0 ? reg << 16 : reg & 0xffff0000u;
  return __int_as_float(static_cast<int>(bits));
}
// The m16n8kK mma with kPerReg values per register (K = 8 kPerReg). In the layouts of the file's head,
// register r of lane (g, q) holds, for A, row g + 8 (r % 2) at columns q kPerReg + e + (r / 2) K / 2, and
// for B, column g at rows q kPerReg + e + r K / 2 (e < kPerReg). Each lane gathers rows g and g + 8 of A
// and columns 2t and 2t + 1 of B from the lanes holding them, then sums in k order.
template <int kPerReg>
void mma(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
  constexpr int K = 8 * kPerReg;
  const int lane = static_cast<int>(threadIdx.x % 32), g = lane / 4, t = lane % 4;
  float a_rows[2][K], b_cols[2][K];
  for (int q = 0; q < 4; ++q) {
    const uint64_t a_lo = __shfl_sync(kFullMask, pair(a[0], a[1]), g * 4 + q);  // registers 0, 1
    const uint64_t a_hi = __shfl_sync(kFullMask, pair(a[2], a[3]), g * 4 + q);  // registers 2, 3
    const uint32_t a_regs[4] = {static_cast<uint32_t>(a_lo), static_cast<uint32_t>(a_lo >> 32),
                                static_cast<uint32_t>(a_hi), static_cast<uint32_t>(a_hi >> 32)};
    for (int r = 0; r < 4; ++r) {
      for (int e = 0; e < kPerReg; ++e)
        a_rows[r % 2][q * kPerReg + e + (r / 2) * K / 2] = element<kPerReg>(a_regs[r], e);
    }
    for (int n = 0; n < 2; ++n) {
      const uint64_t col = __shfl_sync(kFullMask, pair(b[0], b[1]), (2 * t + n) * 4 + q);
      const uint32_t b_regs[2] = {static_cast<uint32_t>(col), static_cast<uint32_t>(col >> 32)};
      for (int r = 0; r < 2; ++r) {
        for (int e = 0; e < kPerReg; ++e)
          b_cols[n][q * kPerReg + e + r * K / 2] = element<kPerReg>(b_regs[r], e);
      }
    }
  }
  float r[4] = {c[0], c[1], c[2], c[3]};  // d0 (g, 2t), d1 (g, 2t+1), d2 (g+8, 2t), d3 (g+8, 2t+1)
  for (int k = 0; k < K; ++k) {
    for (int i = 0; i < 4; ++i) r[i] += a_rows[i / 2][k] * b_cols[i % 2][k];
  }
  for (int i = 0; i < 4; ++i) d[i] = r[i];
}
}  // namespace emu_mma
#else
// One mma.sync instruction (`shape_types`: its shape and types) on the fragments d, a, b, c.
#define S2_MMA_SYNC(shape_types, d, a, b, c)                                                                \
  asm volatile("mma.sync.aligned." shape_types " {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};" \
               : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])                                             \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),    \
                 "f"(c[2]), "f"(c[3]))
#endif

// D = A B + C on one warp, m16n8k8, A and B TF32 bit patterns (from to_tf32), C and D FP32.
__device__ __forceinline__ void mma_tf32_m16n8k8(float d[4], const uint32_t a[4], const uint32_t b[2],
                                                 const float c[4]) {
#if !defined(__CUDACC__)
  emu_mma::mma<1>(d, a, b, c);
#elif defined(S2_NO_TENSOR_CORES)
  __trap();
#else
  S2_MMA_SYNC("m16n8k8.row.col.f32.tf32.tf32.f32", d, a, b, c);
#endif
}

// D = A B + C on one warp, m16n8k16, A and B packed BF16 pairs (from pack_bf16), C and D FP32.
__device__ __forceinline__ void mma_bf16_m16n8k16(float d[4], const uint32_t a[4], const uint32_t b[2],
                                                  const float c[4]) {
#if !defined(__CUDACC__)
  emu_mma::mma<2>(d, a, b, c);
#elif defined(S2_NO_TENSOR_CORES)
  __trap();
#else
  S2_MMA_SYNC("m16n8k16.row.col.f32.bf16.bf16.f32", d, a, b, c);
#endif
}

// cp.async of one float from device to shared memory; with `valid` false the destination is zero-filled
// and the source is not read (an im2col tap in the padding). Lands at cp_async_wait.
__device__ __forceinline__ void cp_async_f32(smem_ptr<float> dst, dev_ptr<const float> src, bool valid) {
#if defined(__CUDACC__)
#if defined(S2_NO_TENSOR_CORES)
  *dst = valid ? *src : 0.0f;
#else
  const auto shared = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(shared), "l"(src), "r"(valid ? 4 : 0));
#endif
#else
  const float v = valid ? static_cast<float>(src[0]) : 0.0f;  // the source is read when the copy is issued
  dst[0].async_issue();  // from here the destination may change at any moment, until the wait
  emu::async_copy([dst, v] { dst[0].async_land(v); });
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDACC__)
#if !defined(S2_NO_TENSOR_CORES)
  asm volatile("cp.async.commit_group;");
#endif
#else
  emu::async_commit();
#endif
}

// Waits until at most `kPending` of this thread's committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDACC__)
#if !defined(S2_NO_TENSOR_CORES)
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending));
#endif
#else
  emu::async_wait(kPending);
#endif
}

}  // namespace s2::S2_CUDA_NAMESPACE
