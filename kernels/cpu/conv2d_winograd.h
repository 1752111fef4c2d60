#pragma once
// 3x3 stride-1 'same' convolution by Winograd F(2x2, 3x3) (Lavin & Gray, 2016): each 2x2 output tile
// costs 16 multiplies per channel pair instead of 36, done as 16 batched GEMMs on the BLAS.
// Backward-input reuses the forward with the kernel rotated by 180 degrees and channels swapped,
// which is exact for symmetric padding 1; backward-weight runs the transforms in reverse.
#include <cstddef>

#include "kernels/conv2d_geometry.h"

namespace s2::cpu {

bool winograd_applies(const Conv2dGeometry& g);

// Floats for the transformed filters: 16 x c_out x c_in.
size_t winograd_filter_floats(const Conv2dGeometry& g);
// U[xi][k][c] = (G w[k][c] G^T)[xi]. With `for_backward_input`, the transform of
// rot180(w[c][k]) is written as U[xi][c][k], ready for conv2d_winograd on dy.
void winograd_transform_filter(const Conv2dGeometry& g, const float* w, bool for_backward_input, float* u);

size_t winograd_workspace(const Conv2dGeometry& g, int threads);
// y = conv(x, w) + bias from the transformed filter u; bias may be null. g.c_in and g.c_out are
// those of this convolution (swap them, and pass dy as x, for backward-input).
void conv2d_winograd(const Conv2dGeometry& g, const float* x, const float* u, const float* bias, float* y,
                     float* workspace);

size_t winograd_backward_weight_workspace(const Conv2dGeometry& g, int threads);
// dw = dL/dw through the Winograd transforms (dU = sum over tiles of (A dy A^T) * (B^T x B), then
// dw = G^T dU G), overwriting dw. The bias gradient is not computed here.
void conv2d_winograd_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                     float* workspace);

}  // namespace s2::cpu
