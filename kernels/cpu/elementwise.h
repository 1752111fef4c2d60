#pragma once
// Pointwise and broadcasting kernels on the CPU.
#include <array>
#include <cstdint>

namespace s2::cpu {

void add_same_shape(const float* a, const float* b, float* out, int64_t n);
// out = a * s (out may alias a).
void scale(const float* a, float s, float* out, int64_t n);
void relu_forward(const float* x, float* y, int64_t n);
// dx = dy where the forward output was positive.
void relu_backward(const float* y, const float* dy, float* dx, int64_t n);
void sigmoid_forward(const float* x, float* y, int64_t n);
void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n);
// y = x * mask * scale, where mask holds 0 or 1.
void masked_scale(const float* x, const float* mask, float scale, float* y, int64_t n);

enum class BinaryOp { Add, Mul };

// A broadcast of two operands onto a 4-D output: each operand has a stride per output dimension,
// 0 where it is broadcast.
struct Broadcast4 {
  std::array<int64_t, 4> out{1, 1, 1, 1};
  std::array<int64_t, 4> stride_a{0, 0, 0, 0};
  std::array<int64_t, 4> stride_b{0, 0, 0, 0};
};

void binary_broadcast(BinaryOp op, const Broadcast4& plan, const float* a, const float* b, float* out);
// Sums src (shaped plan.out) into dst addressed with plan.stride_a; dst is overwritten and must be
// sized for the reduced shape.
void sum_to(const Broadcast4& plan, const float* src, float* dst, int64_t dst_numel);

}  // namespace s2::cpu
