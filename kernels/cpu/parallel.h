#pragma once
// Threads in the CPU kernels. Work is split among the threads of an OpenMP team, but no result
// depends on how: every sum runs in an order fixed by the data (gemm.h's contract, fixed chunks of
// the batch), so any thread count gives bit-identical results.
#include <omp.h>

#include <cstdint>
#include <utility>

namespace s2::cpu {

// Static partition of [0, n) across the threads of the current OpenMP team.
inline std::pair<int64_t, int64_t> thread_range(int64_t n) {
  const int64_t threads = omp_get_num_threads();
  const int64_t t = omp_get_thread_num();
  return {n * t / threads, n * (t + 1) / threads};
}

// Called once by every entry point that runs kernels: resolves the instruction set (isa.h) up front,
// so that a bad S2CBAM_ISA is reported at start-up rather than in the middle of a run.
void init_threading();

// The number of OpenMP threads kernels will use.
int max_threads();

}  // namespace s2::cpu
