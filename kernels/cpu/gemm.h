#pragma once
// Single-precision GEMM on the CPU, written here rather than taken from a BLAS so that its results do
// not depend on the machine: C = op(A) op(B), or C += op(A) op(B), all matrices row-major.
//
// The determinism contract: every element of C is one chain of fused multiply-adds over k in order,
//   acc = accumulate ? C[i][j] : +0;  for k = 0 .. K-1: acc = fma(A(i,k), B(k,j), acc);  C[i][j] = acc,
// exactly as gemm_reference computes it. Blocking, packing, the vector width (AVX2 or AVX-512, see
// isa.h) and which thread computes which block of C change nothing in the result, so callers may
// split C among threads any way they like and stay bit-reproducible.
#include <cstdint>

namespace s2::cpu {

// op(A) is m x k: A itself (lda = its row stride) or, with trans_a, the transpose of a k x m matrix.
// op(B) is k x n likewise. Single-threaded: callers parallelise over independent blocks of C.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, bool accumulate, float* c, int64_t ldc);

// The contract written out as plain loops: the definition the tests hold gemm to, bit for bit.
void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                    const float* b, int64_t ldb, bool accumulate, float* c, int64_t ldc);

}  // namespace s2::cpu
