#pragma once
// Static partition of [0, n) across the threads of the current OpenMP team. Work split this way is
// the same for a given thread count, which keeps reductions deterministic.
#include <omp.h>

#include <cstdint>
#include <utility>

namespace s2::cpu {

inline std::pair<int64_t, int64_t> thread_range(int64_t n) {
  const int64_t threads = omp_get_num_threads();
  const int64_t t = omp_get_thread_num();
  return {n * t / threads, n * (t + 1) / threads};
}

}  // namespace s2::cpu
