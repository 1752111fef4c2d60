#pragma once
// The roofline of a kernel on a GPU: the time it cannot beat, set by its FLOPs at the arithmetic peak
// or its bytes at the memory bandwidth, whichever is longer. ablate_kernels prints it for every kernel
// version before any GPU has run it, with the share of it the version is designed to reach, so that a
// measured time has something to be held against.
#include <string>

namespace s2 {

struct GpuPeaks {
  const char* name;
  double fp32_tflops;  // CUDA cores
  double tf32_tflops;  // tensor cores, dense
  double bf16_tflops;  // tensor cores, dense, FP32 accumulation
  double hbm_tbps;
};
// NVIDIA H100 SXM5 (datasheet figures, dense).
inline constexpr GpuPeaks kH100{"H100 SXM", 67.0, 495.0, 990.0, 3.35};

struct Roofline {
  double compute_ms = 0.0, memory_ms = 0.0;
  double ms() const { return compute_ms > memory_ms ? compute_ms : memory_ms; }
  const char* bound() const { return compute_ms > memory_ms ? "compute" : "memory"; }
};
// `flops` and `bytes` of one run at `tflops` and `tbps`.
Roofline roofline(double flops, double bytes, double tflops, double tbps);

}  // namespace s2
