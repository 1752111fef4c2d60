// The AVX-512 inner kernel of gemm.cpp: an 8 x 32 tile of C in 16 zmm accumulators. This file alone
// is compiled with -mavx512f; it runs only when isa.h chose AVX-512.
#include <immintrin.h>

#include "kernels/cpu/gemm_microkernel_body.h"

namespace s2::cpu::gemm_kernels {

namespace {
struct Avx512 {
  static constexpr int kLanes = 16;
  using Reg = __m512;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
};
}  // namespace

template <ALayout L>
void avx512_8x32(const Tile& t) {
  static_assert(kAvx512Cols == 2 * Avx512::kLanes);
  microkernel<Avx512, kAvx512Rows, L>(t);
}
template void avx512_8x32<ALayout::ColumnSteps>(const Tile&);
template void avx512_8x32<ALayout::RowMajor>(const Tile&);

}  // namespace s2::cpu::gemm_kernels
