#pragma once
// 3x3 stride-1 'same' convolution by Winograd's minimal filtering (Lavin & Gray, 2016), done as one
// batched GEMM per transformed point. The forward's output tile is F(2x2, 3x3) (16 multiplies per
// channel pair for 4 outputs, against 36 direct), or F(4x2, 3x3) (24 for 8, against 72; the paper
// network's 36 dates make 9 tiles exactly). Every pass transforms 8 samples side by side in vector
// registers. Backward-input reuses the forward with the kernel rotated by 180 degrees and channels
// swapped, which is exact for symmetric padding 1; backward-weight runs F(2x2, 3x3)'s transforms in
// reverse.
#include <cstddef>
#include <cstdint>

#include "kernels/conv2d_geometry.h"

namespace s2::cpu {

bool winograd_applies(const Conv2dGeometry& g);

// The forward's output tile: outputs along H (2 or 4) and along W (2; no other tile has a kernel).
struct WinogradTile {
  int64_t h = 2, w = 2;
  int64_t points() const { return (h + 2) * (w + 2); }
  // Tiles covering one output plane, those that hang over its border included.
  int64_t tiles_over(const Conv2dGeometry& g) const {
    return (g.h_out + h - 1) / h * ((g.w_out + w - 1) / w);
  }
};
// F(2x2, 3x3): the smallest error bound.
constexpr WinogradTile kWinogradF2x2{2, 2};
// F(4x2, 3x3) where F(4, 3) transforms fewer points along H than F(2, 3) (ceil(h / 4) * 6 against
// ceil(h / 2) * 4), F(2x2, 3x3) otherwise. A function of the geometry alone, so of nothing that
// could change the bits between runs.
WinogradTile winograd_tile_f4x2(const Conv2dGeometry& g);

// Floats for the transformed filters: points x c_out x c_in.
size_t winograd_filter_floats(const Conv2dGeometry& g, WinogradTile tile);
// U[xi][k][c] = (G w[k][c] G^T)[xi]. With `for_backward_input`, the transform of
// rot180(w[c][k]) is written as U[xi][c][k], ready for conv2d_winograd on dy.
void winograd_transform_filter(const Conv2dGeometry& g, WinogradTile tile, const float* w,
                               bool for_backward_input, float* u);

size_t winograd_workspace(const Conv2dGeometry& g, WinogradTile tile, int threads);
// y = conv(x, w) + bias from the transformed filter u; bias may be null. g.c_in and g.c_out are
// those of this convolution (swap them, and pass dy as x, for backward-input).
void conv2d_winograd(const Conv2dGeometry& g, WinogradTile tile, const float* x, const float* u,
                     const float* bias, float* y, float* workspace);

size_t winograd_backward_weight_workspace(const Conv2dGeometry& g, int threads);
// dw = dL/dw through the Winograd transforms (dU = sum over tiles of (A dy A^T) * (B^T x B), then
// dw = G^T dU G), overwriting dw. The bias gradient is not computed here.
void conv2d_winograd_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                     float* workspace);

}  // namespace s2::cpu
