#pragma once
// The GEMM shapes of the paper network's layers, timed single-threaded (as the conv kernels call it,
// one GEMM per thread) for kernels/cpu/gemm.h and, when the build found it, OpenBLAS: the table
// bench_cpu prints to show the deterministic GEMM keeps OpenBLAS's speed.
namespace s2::experiments {

// peak_gflops_per_thread: the measured FMA peak of one thread, for the "% peak" column.
void bench_gemm_shapes(double peak_gflops_per_thread);

}  // namespace s2::experiments
