#pragma once
// Shape of one 2-D convolution in NCHW layout, shared by the CPU and CUDA kernels.
#include <array>
#include <cstdint>

namespace s2 {

struct Conv2dGeometry {
  int64_t batch = 1, c_in = 1, h_in = 1, w_in = 1;
  int64_t c_out = 1, kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t h_out = 1, w_out = 1;

  int64_t patch_size() const { return c_in * kernel_h * kernel_w; }  // GEMM K
  int64_t out_pixels() const { return h_out * w_out; }               // GEMM N per sample
  int64_t in_pixels() const { return h_in * w_in; }
  // A 1x1 stride-1 unpadded conv is a plain GEMM on the input, with no im2col.
  bool is_pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0;
  }
  double forward_flops() const {
    return 2.0 * static_cast<double>(batch * c_out * out_pixels() * patch_size());
  }
  // Every field, for caches of per-geometry choices (cuDNN plans, the timed conv version).
  std::array<int64_t, 13> key() const {
    return {batch,    c_in,     h_in,    w_in,     c_out, kernel_h, kernel_w,
            stride_h, stride_w, pad_top, pad_left, h_out, w_out};
  }
};

}  // namespace s2
