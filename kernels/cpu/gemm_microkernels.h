#pragma once
// The register-blocked inner kernels of gemm.cpp, one per instruction set, each in its own source file
// compiled for that instruction set. Each computes one MR x NR tile of C:
//   c[r * ldc + j] = (load_c ? c[r * ldc + j] : +0) then, for p = 0 .. kc-1 in order,
//                    fma(A(r, p), B(p, j), .)          (gemm.h's contract, element by element)
// with B(p, j) = b[p * ldb + j] (NR contiguous floats per p: a packed panel or the matrix itself) and
// A(r, p) read in one of two layouts, chosen by the caller.
#include <cstdint>

namespace s2::cpu::gemm_kernels {

// A(r, p) = a[r + p * step]: a packed panel (step = MR) or a transposed A (step = lda).
// A(r, p) = a[r * step + p]: a row-major A read in place (step = lda).
enum class ALayout { ColumnSteps, RowMajor };

struct Tile {
  int64_t kc;
  const float* a;
  int64_t a_step;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  bool load_c;
};

constexpr int kAvx2Rows = 6, kAvx2Cols = 16;  // 12 accumulators of 8 floats
template <ALayout L>
void avx2_6x16(const Tile& t);

constexpr int kAvx512Rows = 8, kAvx512Cols = 32;  // 16 accumulators of 16 floats
template <ALayout L>
void avx512_8x32(const Tile& t);

// out[p * ld_out + j] = src[j * ld_src + p] for p < rows, j < cols: the transposed copy that packs a
// transposed B, in 8 x 8 blocks (AVX2).
void transpose_copy(const float* src, int64_t ld_src, int64_t rows, int64_t cols, float* out, int64_t ld_out);

}  // namespace s2::cpu::gemm_kernels
