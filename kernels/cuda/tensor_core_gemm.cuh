#pragma once
// The GEMM of implicit_gemm.cuh's problems on tensor cores (conv2d versions 4 and 5): 64x64 output
// tiles per block of 4 warps, each warp 32x32 as 2x4 mma tiles of 16x8, K in steps of 16 through two
// shared-memory stages so that the next tile loads while this one multiplies. Shared memory holds FP32;
// fragments are rounded to TF32 or packed to BF16 as they are read, and accumulate in FP32.
//
// A Loader, one per problem (conv2d_tile_loaders.cuh), fills one stage with cp.async; the loads of a tile
// are committed as one group. A loader is made per thread with (problem, m0, n0, k_begin) and asked for
// the tiles in order with load(problem, k0, k_end, a_stage, b_stage).
#include "kernels/cuda/implicit_gemm.cuh"
#include "kernels/cuda/tensor_core.cuh"

namespace s2::S2_CUDA_NAMESPACE {

constexpr int kMmaTileM = 64, kMmaTileN = 64, kMmaTileK = 16, kMmaThreads = 128;
// Row pitches of the stages: A is m-major with k contiguous, B k-major with n contiguous. The padding
// puts the 32 lanes' fragment reads (rows g, columns t) in 32 different banks.
constexpr int kAPitch = kMmaTileK + 4, kBPitch = kMmaTileN + 8;
constexpr int kAStage = kMmaTileM * kAPitch, kBStage = kMmaTileK * kBPitch;

// One warp's 32x32 share of a stage: 2 (m) x 4 (n) mma tiles, K = 16.
template <MathMode kMath>
__device__ __forceinline__ void mma_stage(smem_ptr<const float> a, smem_ptr<const float> b, int warp_m,
                                          int warp_n, float acc[2][4][4]) {
  const int lane = static_cast<int>(threadIdx.x % 32), g = lane / 4, t = lane % 4;
  if constexpr (kMath == MathMode::Tf32) {
    for (int ks = 0; ks < kMmaTileK; ks += 8) {
      uint32_t af[2][4], bf[4][2];
      for (int i = 0; i < 2; ++i) {
        const auto row = a + (warp_m * 32 + i * 16 + g) * kAPitch + ks;
        af[i][0] = to_tf32(row[t]);
        af[i][1] = to_tf32(row[8 * kAPitch + t]);
        af[i][2] = to_tf32(row[t + 4]);
        af[i][3] = to_tf32(row[8 * kAPitch + t + 4]);
      }
      for (int j = 0; j < 4; ++j) {
        const auto col = b + ks * kBPitch + warp_n * 32 + j * 8 + g;
        bf[j][0] = to_tf32(col[t * kBPitch]);
        bf[j][1] = to_tf32(col[(t + 4) * kBPitch]);
      }
      for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 4; ++j) mma_tf32_m16n8k8(acc[i][j], af[i], bf[j], acc[i][j]);
      }
    }
  } else {
    uint32_t af[2][4], bf[4][2];
    for (int i = 0; i < 2; ++i) {
      const auto row = a + (warp_m * 32 + i * 16 + g) * kAPitch + 2 * t;
      const auto row8 = row + 8 * kAPitch;
      af[i][0] = pack_bf16(row[0], row[1]);
      af[i][1] = pack_bf16(row8[0], row8[1]);
      af[i][2] = pack_bf16(row[8], row[9]);
      af[i][3] = pack_bf16(row8[8], row8[9]);
    }
    for (int j = 0; j < 4; ++j) {
      const auto col = b + 2 * t * kBPitch + warp_n * 32 + j * 8 + g;
      bf[j][0] = pack_bf16(col[0], col[kBPitch]);
      bf[j][1] = pack_bf16(col[8 * kBPitch], col[9 * kBPitch]);
    }
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 4; ++j) mma_bf16_m16n8k16(acc[i][j], af[i], bf[j], acc[i][j]);
    }
  }
}

template <MathMode kMath, class Problem, class Loader>
__global__ void __launch_bounds__(kMmaThreads) gemm_mma_kernel(Problem p, int64_t k_per_split) {
  S2_SHARED(float, a_tiles, [2 * kAStage]);
  S2_SHARED(float, b_tiles, [2 * kBStage]);
  const smem_ptr<float> a_stages = a_tiles, b_stages = b_tiles;
  const int warp = static_cast<int>(threadIdx.x / 32), warp_m = warp % 2, warp_n = warp / 2;
  const int64_t m0 = int64_t{blockIdx.y} * kMmaTileM, n0 = int64_t{blockIdx.x} * kMmaTileN;
  const int64_t k_begin = int64_t{blockIdx.z} * k_per_split;
  const int64_t k_end = k_begin + k_per_split < p.K ? k_begin + k_per_split : p.K;
  const int64_t tiles = k_end > k_begin ? (k_end - k_begin + kMmaTileK - 1) / kMmaTileK : 0;

  Loader loader(p, m0, n0, k_begin);
  float acc[2][4][4] = {};
  if (tiles > 0) {
    loader.load(p, k_begin, k_end, a_stages, b_stages);
  }
  cp_async_commit();
  for (int64_t tile = 0; tile < tiles; ++tile) {
    const int stage = static_cast<int>(tile % 2);
    if (tile + 1 < tiles) {  // into the other stage, free since the barrier closing the last iteration
      loader.load(p, k_begin + (tile + 1) * kMmaTileK, k_end, a_stages + (1 - stage) * kAStage,
                  b_stages + (1 - stage) * kBStage);
    }
    cp_async_commit();
    cp_async_wait<1>();  // this thread's copies of `tile` have landed
    __syncthreads();     // and every other thread's
    mma_stage<kMath>(a_stages + stage * kAStage, b_stages + stage * kBStage, warp_m, warp_n, acc);
    __syncthreads();  // the stage is read: the next iteration may load into it
  }
  cp_async_wait<0>();

  const int lane = static_cast<int>(threadIdx.x % 32), g = lane / 4, t = lane % 4;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 4; ++j) {
      for (int e = 0; e < 4; ++e) {  // d0 (g, 2t), d1 (g, 2t+1), d2 (g+8, 2t), d3 (g+8, 2t+1)
        const int64_t m = m0 + warp_m * 32 + i * 16 + g + (e / 2) * 8;
        const int64_t n = n0 + warp_n * 32 + j * 8 + 2 * t + e % 2;
        if (m < p.M && n < p.N) {
          if (gridDim.z > 1) {
            p.accumulate(m, n, acc[i][j][e]);
          } else {
            p.store(m, n, acc[i][j][e]);
          }
        }
      }
    }
  }
}

// Launches the tensor-core GEMM of a problem; splits > 1 (split-K) needs a zeroed output.
template <MathMode kMath, class Loader, class Problem>
void launch_gemm_mma(const char* name, const Problem& p, int64_t splits) {
  const int64_t k = p.K > 0 ? p.K : 1;
  const int64_t k_per_split = ((k + splits - 1) / splits + kMmaTileK - 1) / kMmaTileK * kMmaTileK;
  const auto z = static_cast<unsigned>((k + k_per_split - 1) / k_per_split);
  launch(name, gemm_mma_kernel<kMath, Problem, Loader>,
         dim3(blocks_for(p.N, kMmaTileN), blocks_for(p.M, kMmaTileM), z > 0 ? z : 1), dim3(kMmaThreads), p,
         k_per_split);
}

}  // namespace s2::S2_CUDA_NAMESPACE
