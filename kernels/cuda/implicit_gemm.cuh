#pragma once
// GEMM kernels over a "problem" that says how to read A[m, k] and B[k, n] and where C[m, n] goes,
// so that one tiled kernel serves the conv forward, both conv backwards and the dense layer
// (implicit GEMM: the conv's im2col matrix is never stored). A problem provides
//   int64_t M, N, K;  float a(m, k) const;  float b(k, n) const;  void store(m, n, v) const;
//   void accumulate(m, n, v) const;  (atomic add, for split-K)
#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

// Version 1: one thread per output element, no reuse. The reference for the tiled kernel.
template <class Problem>
__global__ void gemm_naive_kernel(Problem p) {
  const int64_t n = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const int64_t m = int64_t{blockIdx.y} * blockDim.y + threadIdx.y;
  if (m >= p.M || n >= p.N) {
    return;
  }
  float acc = 0.0f;
  for (int64_t k = 0; k < p.K; ++k) {
    acc += p.a(m, k) * p.b(k, n);
  }
  p.store(m, n, acc);
}

// Version 2: 64x64 output tiles per block of 256 threads, K in steps of 16 through shared memory,
// and a 4x4 register block per thread. gridDim.z > 1 splits K (for the weight gradient, whose K is
// batch x pixels) and accumulates atomically into a zeroed output.
constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kThreadM = 4, kThreadN = 4;
constexpr int kTiledThreads = (kTileM / kThreadM) * (kTileN / kThreadN);

template <class Problem>
__global__ void __launch_bounds__(kTiledThreads) gemm_tiled_kernel(Problem p, int64_t k_per_split) {
  S2_SHARED(float, a_tile, [kTileK][kTileM + 4]);  // +4: no bank conflicts on the k-major stores
  S2_SHARED(float, b_tile, [kTileK][kTileN]);
  const int tid = static_cast<int>(threadIdx.x);
  const int tx = tid % (kTileN / kThreadN), ty = tid / (kTileN / kThreadN);
  const int64_t m0 = int64_t{blockIdx.y} * kTileM, n0 = int64_t{blockIdx.x} * kTileN;
  const int64_t k_begin = int64_t{blockIdx.z} * k_per_split;
  const int64_t k_end = k_begin + k_per_split < p.K ? k_begin + k_per_split : p.K;

  float acc[kThreadM][kThreadN] = {};
  for (int64_t k0 = k_begin; k0 < k_end; k0 += kTileK) {
    for (int i = tid; i < kTileK * kTileM; i += kTiledThreads) {
      const int kk = i % kTileK, mm = i / kTileK;  // k fastest: A is usually row-major [M, K]
      const int64_t m = m0 + mm, k = k0 + kk;
      a_tile[kk][mm] = m < p.M && k < k_end ? p.a(m, k) : 0.0f;
    }
    for (int i = tid; i < kTileK * kTileN; i += kTiledThreads) {
      const int nn = i % kTileN, kk = i / kTileN;  // n fastest: B's columns are pixels
      const int64_t n = n0 + nn, k = k0 + kk;
      b_tile[kk][nn] = n < p.N && k < k_end ? p.b(k, n) : 0.0f;
    }
    __syncthreads();
    for (int kk = 0; kk < kTileK; ++kk) {
      float a_reg[kThreadM], b_reg[kThreadN];
      for (int i = 0; i < kThreadM; ++i) {
        a_reg[i] = a_tile[kk][ty * kThreadM + i];
      }
      for (int j = 0; j < kThreadN; ++j) {
        b_reg[j] = b_tile[kk][tx * kThreadN + j];
      }
      for (int i = 0; i < kThreadM; ++i) {
        for (int j = 0; j < kThreadN; ++j) {
          acc[i][j] += a_reg[i] * b_reg[j];
        }
      }
    }
    __syncthreads();
  }
  for (int i = 0; i < kThreadM; ++i) {
    for (int j = 0; j < kThreadN; ++j) {
      const int64_t m = m0 + ty * kThreadM + i, n = n0 + tx * kThreadN + j;
      if (m < p.M && n < p.N) {
        if (gridDim.z > 1) {
          p.accumulate(m, n, acc[i][j]);
        } else {
          p.store(m, n, acc[i][j]);
        }
      }
    }
  }
}

// Launches version 1 or 2 of a GEMM problem. splits > 1 needs a zeroed output (tiled only).
template <class Problem>
void launch_gemm(const char* name, int version, const Problem& p, int64_t splits) {
  if (version == 1) {
    const dim3 block(16, 16);
    launch(name, gemm_naive_kernel<Problem>, dim3(blocks_for(p.N, 16), blocks_for(p.M, 16)), block, p);
    return;
  }
  const int64_t k = p.K > 0 ? p.K : 1;
  const int64_t k_per_split = ((k + splits - 1) / splits + kTileK - 1) / kTileK * kTileK;
  const auto z = static_cast<unsigned>((k + k_per_split - 1) / k_per_split);
  launch(name, gemm_tiled_kernel<Problem>,
         dim3(blocks_for(p.N, kTileN), blocks_for(p.M, kTileM), z > 0 ? z : 1), dim3(kTiledThreads), p,
         k_per_split);
}

}  // namespace s2::S2_CUDA_NAMESPACE
