#pragma once
// Measures the machine's peak FP32 FLOP/s with an FMA throughput loop on every thread, so that
// benchmarks can report the fraction of peak they reach without trusting a nominal clock.
namespace s2::experiments {

struct PeakFlops {
  double gflops_per_thread = 0;
  double gflops_total = 0;
  const char* isa = "";
  int threads = 1;
};
PeakFlops measure_peak_flops(int threads);

}  // namespace s2::experiments
