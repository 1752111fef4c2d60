// The AVX2+FMA inner kernel of gemm.cpp (a 6 x 16 tile of C in 12 ymm accumulators) and the 8 x 8
// transposes that pack a transposed B.
#include <immintrin.h>

#include "kernels/cpu/gemm_microkernel_body.h"

namespace s2::cpu::gemm_kernels {

namespace {
struct Avx2 {
  static constexpr int kLanes = 8;
  using Reg = __m256;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
};
}  // namespace

template <ALayout L>
void avx2_6x16(const Tile& t) {
  static_assert(kAvx2Cols == 2 * Avx2::kLanes);
  microkernel<Avx2, kAvx2Rows, L>(t);
}
template void avx2_6x16<ALayout::ColumnSteps>(const Tile&);
template void avx2_6x16<ALayout::RowMajor>(const Tile&);

namespace {
// In-register transpose of 8 rows of 8 floats.
inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}
}  // namespace

void transpose_copy(const float* src, int64_t ld_src, int64_t rows, int64_t cols, float* out,
                    int64_t ld_out) {
  int64_t j = 0;
  for (; j + 8 <= cols; j += 8) {
    int64_t p = 0;
    for (; p + 8 <= rows; p += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (j + i) * ld_src + p);
      transpose8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(out + (p + i) * ld_out + j, r[i]);
    }
    for (; p < rows; ++p)
      for (int64_t i = 0; i < 8; ++i) out[p * ld_out + j + i] = src[(j + i) * ld_src + p];
  }
  for (; j < cols; ++j)
    for (int64_t p = 0; p < rows; ++p) out[p * ld_out + j] = src[j * ld_src + p];
}

}  // namespace s2::cpu::gemm_kernels
