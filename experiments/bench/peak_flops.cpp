#include "experiments/bench/peak_flops.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>

namespace s2::experiments {

namespace {
constexpr int kChains = 16;  // enough independent FMAs to cover latency on two FMA ports
constexpr long kIterations = 5'000'000;

__attribute__((target("avx512f"))) double fma_loop_avx512() {
  __m512 acc[kChains];
  for (auto& a : acc) a = _mm512_set1_ps(0.0f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < kIterations; ++i) {
    for (auto& a : acc) a = _mm512_fmadd_ps(a, x, y);
  }
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}

__attribute__((target("avx2,fma"))) double fma_loop_avx2() {
  __m256 acc[kChains];
  for (auto& a : acc) a = _mm256_set1_ps(0.0f);
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < kIterations; ++i) {
    for (auto& a : acc) a = _mm256_fmadd_ps(a, x, y);
  }
  float out[8];
  __m256 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm256_add_ps(s, acc[c]);
  _mm256_storeu_ps(out, s);
  return out[0];
}
}  // namespace

PeakFlops measure_peak_flops(int threads) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const int lanes = avx512 ? 16 : 8;
  PeakFlops p;
  p.isa = avx512 ? "AVX-512 FMA" : "AVX2 FMA";
  p.threads = threads;
  // Best of several short runs: a shared virtual machine has slow moments, never fast ones.
  for (int run = 0; run < 7; ++run) {
    double sink = 0;
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += avx512 ? fma_loop_avx512() : fma_loop_avx2();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double flops = 2.0 * lanes * kChains * static_cast<double>(kIterations) * threads;
    p.gflops_total = std::max(p.gflops_total, flops / seconds / 1e9 + sink * 0.0);
  }
  p.gflops_per_thread = p.gflops_total / threads;
  return p;
}

}  // namespace s2::experiments
