#pragma once
// Weight initialisers, as Keras defines them. Fan-in and fan-out follow the weight layouts used here:
// conv (out, in, kh, kw) and dense (out, in).
#include "framework/random.h"
#include "framework/tensor.h"

namespace s2::init {

// Truncated normal (cut at 2 std) with std = sqrt(2 / fan_in) / 0.8796, Keras's he_normal.
void he_normal(Tensor& weight, Generator& generator = global_generator());
// Uniform in +-sqrt(6 / (fan_in + fan_out)).
void glorot_uniform(Tensor& weight, Generator& generator = global_generator());
// PyTorch's default for conv and linear layers: kaiming_uniform with a = sqrt(5), which is uniform in
// +-1/sqrt(fan_in); a bias (when given) is uniform in the same bounds. Weight first, then bias.
void torch_default(Tensor& weight, Tensor* bias, Generator& generator = global_generator());
void zeros(Tensor& t);

}  // namespace s2::init
