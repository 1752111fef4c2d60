#pragma once
// The one register-blocked kernel of gemm_microkernels.h, written once over a vector type. Included by
// gemm_avx2.cpp and gemm_avx512.cpp, each compiled for its instruction set, with a Vec that supplies
//   static constexpr int kLanes; using Reg; zero(); load(const float*); store(float*, Reg);
//   broadcast(const float*); fma(Reg a, Reg b, Reg c) = a * b + c rounded once.
#include "kernels/cpu/gemm_microkernels.h"

namespace s2::cpu::gemm_kernels {

// An R x (2 * Vec::kLanes) tile of C in 2R accumulators.
template <class Vec, int R, ALayout L>
inline void microkernel(const Tile& t) {
  using Reg = typename Vec::Reg;
  constexpr int W = Vec::kLanes;
  Reg acc[R][2];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    acc[r][0] = t.load_c ? Vec::load(t.c + r * t.ldc) : Vec::zero();
    acc[r][1] = t.load_c ? Vec::load(t.c + r * t.ldc + W) : Vec::zero();
  }
  const float* b = t.b;
  for (int64_t p = 0; p < t.kc; ++p, b += t.ldb) {
    const Reg b0 = Vec::load(b), b1 = Vec::load(b + W);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const float* ar = L == ALayout::RowMajor ? t.a + r * t.a_step + p : t.a + r + p * t.a_step;
      const Reg av = Vec::broadcast(ar);
      acc[r][0] = Vec::fma(av, b0, acc[r][0]);
      acc[r][1] = Vec::fma(av, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    Vec::store(t.c + r * t.ldc, acc[r][0]);
    Vec::store(t.c + r * t.ldc + W, acc[r][1]);
  }
}

}  // namespace s2::cpu::gemm_kernels
