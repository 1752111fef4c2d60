// conv2d forward and backward as implicit GEMMs (versions 1 and 2), plus the cuDNN version 3
// (library_variants.cu, GPU build only).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda/implicit_gemm.cuh"
#include "kernels/cuda/reduce.cuh"

namespace s2::S2_CUDA_NAMESPACE {

namespace {

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

TapGeometry taps_of(const Conv2dGeometry& g) {
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

// dst[c] = sum over (outer, inner) of src[outer, c, inner]: the bias gradient. One block per channel.
__global__ void channel_sum_kernel(int64_t outer, int64_t channels, int64_t inner, dev_ptr<const float> src,
                                   dev_ptr<float> dst) {
  const int64_t c = blockIdx.x;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < outer * inner; i += blockDim.x) {
    s += src[(i / inner * channels + c) * inner + i % inner];
  }
  s = block_sum(s);
  if (threadIdx.x == 0) {
    dst[c] = s;
  }
}

}  // namespace

void channel_sum(int64_t outer, int64_t channels, int64_t inner, const float* src, float* dst) {
  launch("channel_sum", channel_sum_kernel, dim3(static_cast<unsigned>(channels)), dim3(256), outer, channels,
         inner, src, dst);
}

std::vector<KernelVersion> conv2d_versions() {
  // Shares: naive loads both operands of every multiply-add from cache; the tiled kernel is a
  // textbook SGEMM (about 30% of FP32 peak on large GEMMs) halved by the im2col index divisions, no
  // double buffering and grids of a few dozen blocks at the paper's shapes; cuDNN's own kernels.
  return {{1, "naive: one thread per output", false, 0.03},
          {2, "tiled implicit GEMM 64x64x16, 4x4 per thread, split-K for dW", false, 0.15},
          {3, "cuDNN", true, 0.5}};
}

void conv2d_forward(int version, const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                    float* y) {
  require_version("conv2d_forward", version, conv2d_versions());
  if (version == 3) {
    return conv2d_cudnn_forward(g, x, w, bias, y);
  }
  const ConvForward p{g.c_out,
                      g.batch * g.out_pixels(),
                      g.patch_size(),
                      w,
                      bias,
                      y,
                      PaddedInput{x, g.c_in, g.h_in, g.w_in},
                      taps_of(g),
                      g.out_pixels(),
                      g.kernel_h * g.kernel_w};
  launch_gemm(version == 1 ? "conv2d_forward_v1" : "conv2d_forward_v2", version, p, 1);
}

void conv2d_backward_input(int version, const Conv2dGeometry& g, const float* w, const float* dy, float* dx) {
  require_version("conv2d_backward_input", version, conv2d_versions());
  if (version == 3) {
    return conv2d_cudnn_backward_input(g, w, dy, dx);
  }
  const ConvBackwardInput p{g.c_in, g.batch * g.in_pixels(), g.c_out * g.kernel_h * g.kernel_w, w, dy, dx, g};
  launch_gemm(version == 1 ? "conv2d_backward_input_v1" : "conv2d_backward_input_v2", version, p, 1);
}

void conv2d_backward_weight(int version, const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                            float* dbias) {
  require_version("conv2d_backward_weight", version, conv2d_versions());
  if (version == 3) {
    return conv2d_cudnn_backward_weight(g, x, dy, dw, dbias);
  }
  const ConvBackwardWeight p{
      g.c_out,    g.patch_size(), g.batch * g.out_pixels(), dy, dw, PaddedInput{x, g.c_in, g.h_in, g.w_in},
      taps_of(g), g.out_pixels(), g.kernel_h * g.kernel_w};
  // Few output tiles and a long K (batch x pixels): split K so that enough blocks run.
  const int64_t tiles = ((p.M + kTileM - 1) / kTileM) * ((p.N + kTileN - 1) / kTileN);
  const int64_t splits = version == 2 ? std::max<int64_t>(1, std::min<int64_t>(p.K / 512, 64 / tiles)) : 1;
  if (splits > 1) {
    fill_zero(dw, sizeof(float) * static_cast<size_t>(p.M * p.N));
  }
  launch_gemm(version == 1 ? "conv2d_backward_weight_v1" : "conv2d_backward_weight_v2", version, p, splits);
  if (dbias != nullptr) {
    channel_sum(g.batch, g.c_out, g.out_pixels(), dy, dbias);
  }
}

}  // namespace s2::S2_CUDA_NAMESPACE
