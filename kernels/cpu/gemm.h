#pragma once
// Row-major single-precision GEMM on the CPU BLAS: C = alpha * op(A) * op(B) + beta * C.
#include <cstdint>

namespace s2::cpu {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Our kernels parallelise over the batch with OpenMP and call the BLAS from each thread, so the BLAS
// itself must stay single-threaded. Called once by every entry point that runs kernels.
void init_threading();

// The number of OpenMP threads kernels will use.
int max_threads();

}  // namespace s2::cpu
