#pragma once
// Plain types of the CUDA kernel API, shared by the GPU build, the emulated build and their callers.
#include <cstdint>

namespace s2 {

// Parameters of the channel attention MLP (C -> hidden -> C, both with bias).
struct ChannelMlp {
  const float* w1;  // [hidden, C]
  const float* b1;  // [hidden]
  const float* w2;  // [C, hidden]
  const float* b2;  // [C]
  int64_t hidden;
};
struct ChannelMlpGrads {
  float *w1, *b1, *w2, *b2;  // accumulated into (callers zero them first)
};

// What the channel attention forward keeps for its backward, each [batch, C].
struct ChannelAttentionSaved {
  float* avg;
  float* max;
  int32_t* argmax;
  float* att;  // sigmoid(MLP(avg) + MLP(max))
};

// Device workspace the attention backwards need (floats), allocated by the caller: version 3 passes
// per-row gradients from one kernel to the next through it.
constexpr int64_t channel_attention_workspace(int64_t batch, int64_t channels) {
  return 3 * batch * channels;
}
constexpr int64_t spatial_attention_workspace(int64_t batch, int64_t pixels) {
  return 3 * batch * pixels;
}

// What the spatial attention forward keeps: pooled [batch, 2, pixels] (mean, max), argmax
// [batch, pixels] and att [batch, pixels].
struct SpatialAttentionSaved {
  float* pooled;
  int32_t* argmax;
  float* att;
};

// The arithmetic a kernel version multiplies in: FP32 on the CUDA cores, or the tensor cores' TF32 or BF16
// inputs with FP32 accumulation (opt-in reduced precision: results differ from FP32 by the inputs'
// rounding, 2^-11 or 2^-8 relative, and are never bit-identical to the CPU).
enum class MathMode { Fp32, Tf32, Bf16 };

// One numbered version of a versioned op's kernels (kernels/cuda/versioned_ops.h).
struct KernelVersion {
  int number;
  const char* name;
  bool library;  // cuDNN / cuBLAS: GPU only, not runnable in the emulator
  // The share of its H100 roofline (experiments/kernel_checks/roofline.h) the version is designed to
  // reach on the paper's shapes: an estimate from its design, written down before any GPU measured it.
  double roofline_share;
  MathMode math = MathMode::Fp32;  // the roofline it is held against, and its error bound
};

}  // namespace s2
