#pragma once
// The conv's three GEMMs as implicit_gemm.cuh problems (A[m, k], B[k, n] read in place, C[m, n] stored
// in the conv's layout): the forward, the input gradient and the weight gradient. Shared by every
// GEMM kernel version (conv2d.cu) and the tensor-core tile loaders (conv2d_tile_loaders.cuh).
#include <cstdint>

#include "kernels/conv2d_geometry.h"
#include "kernels/cuda/runtime.h"

namespace s2::S2_CUDA_NAMESPACE {

// Input element (sample, channel, iy, ix) with zero padding.
struct PaddedInput {
  dev_ptr<const float> x;
  int64_t channels, height, width;
  __device__ float at(int64_t sample, int64_t c, int64_t iy, int64_t ix) const {
    if (iy < 0 || iy >= height || ix < 0 || ix >= width) {
      return 0.0f;
    }
    return x[((sample * channels + c) * height + iy) * width + ix];
  }
};

// The input pixel that kernel tap (ky, kx) of output pixel `pix` reads.
struct TapGeometry {
  int64_t kh, kw, sh, sw, pt, pl, w_out;
  __device__ void input_of(int64_t pix, int64_t tap, int64_t& iy, int64_t& ix) const {
    const int64_t oy = pix / w_out, ox = pix % w_out;
    iy = oy * sh - pt + tap / kw;
    ix = ox * sw - pl + tap % kw;
  }
};

inline TapGeometry taps_of(const Conv2dGeometry& g) {
  return {g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_top, g.pad_left, g.w_out};
}

// y[n, co, pix] = sum_k w[co, k] * im2col(x)[k, (n, pix)] + bias[co]
struct ConvForward {
  int64_t M, N, K;
  dev_ptr<const float> w, bias;
  dev_ptr<float> y;
  PaddedInput in;
  TapGeometry taps;
  int64_t out_pixels, taps_per_channel;
  __device__ float a(int64_t m, int64_t k) const { return w[m * K + k]; }
  __device__ float b(int64_t k, int64_t n) const {
    int64_t iy, ix;
    taps.input_of(n % out_pixels, k % taps_per_channel, iy, ix);
    return in.at(n / out_pixels, k / taps_per_channel, iy, ix);
  }
  __device__ void store(int64_t m, int64_t n, float v) const {
    y[(n / out_pixels * M + m) * out_pixels + n % out_pixels] = v + (bias ? bias[m] : 0.0f);
  }
  __device__ void accumulate(int64_t m, int64_t n, float v) const {
    atomicAdd(&y[(n / out_pixels * M + m) * out_pixels + n % out_pixels], v);
  }
};

// dx[n, ci, (iy, ix)] = sum over (co, tap) of w[co, ci, tap] * dy[n, co, output pixel reading it]
struct ConvBackwardInput {
  int64_t M, N, K;
  dev_ptr<const float> w, dy;
  dev_ptr<float> dx;
  Conv2dGeometry g;
  __device__ float a(int64_t ci, int64_t k) const {
    const int64_t taps = g.kernel_h * g.kernel_w;
    return w[(k / taps * g.c_in + ci) * taps + k % taps];
  }
  __device__ float b(int64_t k, int64_t n) const {
    const int64_t taps = g.kernel_h * g.kernel_w, tap = k % taps, co = k / taps;
    const int64_t in_pixels = g.h_in * g.w_in, sample = n / in_pixels, pix = n % in_pixels;
    const int64_t ty = pix / g.w_in + g.pad_top - tap / g.kernel_w;
    const int64_t tx = pix % g.w_in + g.pad_left - tap % g.kernel_w;
    if (ty < 0 || tx < 0 || ty % g.stride_h != 0 || tx % g.stride_w != 0) {
      return 0.0f;
    }
    const int64_t oy = ty / g.stride_h, ox = tx / g.stride_w;
    if (oy >= g.h_out || ox >= g.w_out) {
      return 0.0f;
    }
    return dy[((sample * g.c_out + co) * g.h_out + oy) * g.w_out + ox];
  }
  __device__ void store(int64_t ci, int64_t n, float v) const {
    const int64_t in_pixels = g.h_in * g.w_in;
    dx[(n / in_pixels * g.c_in + ci) * in_pixels + n % in_pixels] = v;
  }
  __device__ void accumulate(int64_t ci, int64_t n, float v) const {
    const int64_t in_pixels = g.h_in * g.w_in;
    atomicAdd(&dx[(n / in_pixels * g.c_in + ci) * in_pixels + n % in_pixels], v);
  }
};

// dw[co, k] = sum over (n, pix) of dy[n, co, pix] * im2col(x)[k, (n, pix)]
struct ConvBackwardWeight {
  int64_t M, N, K;
  dev_ptr<const float> dy;
  dev_ptr<float> dw;
  PaddedInput in;
  TapGeometry taps;
  int64_t out_pixels, taps_per_channel;
  __device__ float a(int64_t co, int64_t k) const {
    return dy[(k / out_pixels * M + co) * out_pixels + k % out_pixels];
  }
  __device__ float b(int64_t k, int64_t n) const {
    int64_t iy, ix;
    taps.input_of(k % out_pixels, n % taps_per_channel, iy, ix);
    return in.at(k / out_pixels, n / taps_per_channel, iy, ix);
  }
  __device__ void store(int64_t m, int64_t n, float v) const { dw[m * N + n] = v; }
  __device__ void accumulate(int64_t m, int64_t n, float v) const { atomicAdd(&dw[m * N + n], v); }
};

}  // namespace s2::S2_CUDA_NAMESPACE
