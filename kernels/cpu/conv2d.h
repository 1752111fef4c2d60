#pragma once
// Convolution on the CPU as per-sample im2col + GEMM (gemm.h), parallel over the batch, or for the
// weight gradient over its columns, so that results do not depend on the thread count.
// Workspace sizes are in floats; the caller provides the buffer (from the caching allocator).
#include <cstddef>

#include "kernels/conv2d_geometry.h"

namespace s2::cpu {

size_t conv2d_forward_workspace(const Conv2dGeometry& g, int threads);
// y = conv(x, w) + bias; bias may be null.
void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias, float* y,
                    float* workspace);

size_t conv2d_backward_input_workspace(const Conv2dGeometry& g, int threads);
// dx = conv_transpose(dy, w), overwriting dx.
void conv2d_backward_input(const Conv2dGeometry& g, const float* w, const float* dy, float* dx,
                           float* workspace);

size_t conv2d_backward_weight_workspace(const Conv2dGeometry& g, int threads);
// dw = sum_n dy_n * im2col(x_n)^T and dbias = sum of dy, overwriting both; dbias may be null.
void conv2d_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw, float* dbias,
                            float* workspace);

// dbias = sum of dy over the batch and pixels, overwriting dbias.
void conv2d_backward_bias(const Conv2dGeometry& g, const float* dy, float* dbias);

// Unfolds one sample [c_in, h_in, w_in] into columns [patch_size, out_pixels].
void im2col(const Conv2dGeometry& g, const float* x, float* col);
// The same for patch rows [row0, row1) only, into [row1 - row0, out_pixels].
void im2col_rows(const Conv2dGeometry& g, const float* x, int64_t row0, int64_t row1, float* col);
// Adds columns [patch_size, out_pixels] back into one sample [c_in, h_in, w_in] (not zeroed here).
void col2im_add(const Conv2dGeometry& g, const float* col, float* x);

}  // namespace s2::cpu
