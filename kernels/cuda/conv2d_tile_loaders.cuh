#pragma once
// Tile loaders of the conv's three GEMMs for the tensor-core kernel (tensor_core_gemm.cuh): cp.async
// straight from the conv's tensors into a shared-memory stage, with no division per element.
//
// Each thread of the block's 128 loads the same places of every tile: one K column of A in 8 rows
// (m = tid / 16 + 8 j, k = tid % 16) and one N column of B in 8 rows (k = tid / 64 + 2 j, n = tid % 64).
// So the coordinates an element needs are split into digits once, when the loader is made: those of a
// fixed row or column stay, those along K advance by the tile's 16 with additions and carries (Digits);
// zero padding and the ragged edges are zero-filled copies that read nothing.
#include <cstdint>

#include "kernels/cuda/conv2d_problems.cuh"
#include "kernels/cuda/tensor_core.cuh"
#include "kernels/cuda/tensor_core_gemm.cuh"

namespace s2::S2_CUDA_NAMESPACE {

constexpr int kLoadRows = kMmaTileM * kMmaTileK / kMmaThreads;  // elements of A, and of B, per thread
static_assert(kMmaTileM * kMmaTileK == kMmaTileK * kMmaTileN, "A and B tiles load alike");

// An index i = (hi * mid_n + mid) * lo_n + lo as its digits, advanced by a fixed step without division.
struct Digits {
  int64_t hi;
  int32_t mid, lo;
};
struct Radix {
  int32_t mid_n, lo_n;
  __device__ Digits split(int64_t i) const {
    const int64_t plane = int64_t{mid_n} * lo_n;
    return {i / plane, static_cast<int32_t>(i % plane / lo_n), static_cast<int32_t>(i % lo_n)};
  }
  // d += step, for a step that split() decomposed.
  __device__ void advance(Digits& d, const Digits& step) const {
    d.lo += step.lo;
    d.mid += step.mid;
    d.hi += step.hi;
    if (d.lo >= lo_n) {
      d.lo -= lo_n;
      ++d.mid;
    }
    if (d.mid >= mid_n) {
      d.mid -= mid_n;
      ++d.hi;
    }
  }
};

__device__ __forceinline__ int load_a_row(int j) {
  return static_cast<int>(threadIdx.x) / kMmaTileK + j * (kMmaThreads / kMmaTileK);
}
__device__ __forceinline__ int load_a_col() {
  return static_cast<int>(threadIdx.x) % kMmaTileK;
}
__device__ __forceinline__ int load_b_row(int j) {
  return static_cast<int>(threadIdx.x) / kMmaTileN + j * (kMmaThreads / kMmaTileN);
}
__device__ __forceinline__ int load_b_col() {
  return static_cast<int>(threadIdx.x) % kMmaTileN;
}

// The K coordinates of this thread's A column and of its B rows as digits of `radix`, each stepped by the
// tile's 16 after its loads.
struct KDigits {
  Radix radix;
  Digits a, b[kLoadRows], step;
  __device__ KDigits(Radix r, int64_t k_begin) : radix(r) {
    a = radix.split(k_begin + load_a_col());
    for (int j = 0; j < kLoadRows; ++j) b[j] = radix.split(k_begin + load_b_row(j));
    step = radix.split(kMmaTileK);
  }
  __device__ void advance_a() { radix.advance(a, step); }
  __device__ void advance_b(int j) { radix.advance(b[j], step); }
};

// Forward: A = w[m, k] (k contiguous), B = im2col(x)[k = (c, ky, kx), n = (sample, oy, ox)].
struct ForwardTileLoader {
  int64_t m0, a_k;   // the block's first output channel; this thread's K column of A
  int64_t b_base;    // sample * C * H * W of this thread's output pixel
  int64_t iy0, ix0;  // its window's top-left input position (may lie in the padding)
  bool b_valid;      // the pixel exists (the last tile of N may run past it)
  KDigits k;         // k = (c * kh + ky) * kw + kx

  __device__ ForwardTileLoader(const ConvForward& p, int64_t m_begin, int64_t n0, int64_t k_begin)
      : m0(m_begin),
        a_k(k_begin + load_a_col()),
        k({static_cast<int32_t>(p.taps.kh), static_cast<int32_t>(p.taps.kw)}, k_begin) {
    const int64_t n = n0 + load_b_col();
    b_valid = n < p.N;
    const int64_t sample = n / p.out_pixels, pix = n % p.out_pixels;
    b_base = sample * p.in.channels * p.in.height * p.in.width;
    iy0 = pix / p.taps.w_out * p.taps.sh - p.taps.pt;
    ix0 = pix % p.taps.w_out * p.taps.sw - p.taps.pl;
  }

  __device__ void load(const ConvForward& p, int64_t k0, int64_t k_end, smem_ptr<float> a,
                       smem_ptr<float> b) {
    for (int j = 0; j < kLoadRows; ++j) {
      const int64_t m = m0 + load_a_row(j);
      const bool valid = m < p.M && a_k < k_end;
      cp_async_f32(a + load_a_row(j) * kAPitch + load_a_col(), p.w + (valid ? m * p.K + a_k : 0), valid);
    }
    a_k += kMmaTileK;
    for (int j = 0; j < kLoadRows; ++j) {
      const Digits& d = k.b[j];
      const int64_t iy = iy0 + d.mid, ix = ix0 + d.lo;
      const bool valid =
          b_valid && k0 + load_b_row(j) < k_end && iy >= 0 && iy < p.in.height && ix >= 0 && ix < p.in.width;
      const int64_t offset = b_base + (d.hi * p.in.height + iy) * p.in.width + ix;
      cp_async_f32(b + load_b_row(j) * kBPitch + load_b_col(), p.in.x + (valid ? offset : 0), valid);
      k.advance_b(j);
    }
  }
};

// Input gradient: A = w[co, ci, tap] as [m = ci, k = (co, ky, kx)], B = dy gathered as
// [k = (co, ky, kx), n = (sample, iy, ix)]: the output pixel that reads input pixel (iy, ix) through tap
// (ky, kx), if any.
struct BackwardInputTileLoader {
  int64_t m0;
  KDigits k;       // k = (co * kh + ky) * kw + kx
  int64_t sample;  // this thread's B column: (sample, iy, ix)
  int32_t iy, ix;
  bool b_valid;

  __device__ BackwardInputTileLoader(const ConvBackwardInput& p, int64_t m_begin, int64_t n0, int64_t k_begin)
      : m0(m_begin), k({static_cast<int32_t>(p.g.kernel_h), static_cast<int32_t>(p.g.kernel_w)}, k_begin) {
    const int64_t n = n0 + load_b_col(), in_pixels = p.g.h_in * p.g.w_in;
    b_valid = n < p.N;
    sample = n / in_pixels;
    iy = static_cast<int32_t>(n % in_pixels / p.g.w_in);
    ix = static_cast<int32_t>(n % p.g.w_in);
  }

  __device__ void load(const ConvBackwardInput& p, int64_t k0, int64_t k_end, smem_ptr<float> a,
                       smem_ptr<float> b) {
    const auto& g = p.g;
    const int64_t tap_count = g.kernel_h * g.kernel_w;
    const bool a_k_valid = k0 + load_a_col() < k_end;
    for (int j = 0; j < kLoadRows; ++j) {
      const int64_t ci = m0 + load_a_row(j);
      const bool valid = ci < p.M && a_k_valid;
      const int64_t offset = (k.a.hi * g.c_in + ci) * tap_count + k.a.mid * g.kernel_w + k.a.lo;
      cp_async_f32(a + load_a_row(j) * kAPitch + load_a_col(), p.w + (valid ? offset : 0), valid);
    }
    k.advance_a();
    for (int j = 0; j < kLoadRows; ++j) {
      const Digits& d = k.b[j];
      // Output pixel (oy, ox) reads (iy, ix) through tap (ky, kx) when oy * sh = iy + pt - ky.
      const int64_t ty = iy + g.pad_top - d.mid, tx = ix + g.pad_left - d.lo;
      const int64_t oy = ty / g.stride_h, ox = tx / g.stride_w;
      const bool valid = b_valid && k0 + load_b_row(j) < k_end && ty >= 0 && tx >= 0 &&
                         oy * g.stride_h == ty && ox * g.stride_w == tx && oy < g.h_out && ox < g.w_out;
      const int64_t offset = ((sample * g.c_out + d.hi) * g.h_out + oy) * g.w_out + ox;
      cp_async_f32(b + load_b_row(j) * kBPitch + load_b_col(), p.dy + (valid ? offset : 0), valid);
      k.advance_b(j);
    }
  }
};

// Weight gradient: A = dy as [m = co, k = (sample, oy, ox)], B = im2col(x) as [k = (sample, oy, ox),
// n = (c, ky, kx)]. K runs over the batch's pixels (and is split across blocks for split-K).
struct BackwardWeightTileLoader {
  int64_t m0;
  KDigits k;  // k = (sample * h_out + oy) * w_out + ox
  int64_t c;  // this thread's B column: (c, ky, kx)
  int32_t ky, kx;
  bool b_valid;

  __device__ BackwardWeightTileLoader(const ConvBackwardWeight& p, int64_t m_begin, int64_t n0,
                                      int64_t k_begin)
      : m0(m_begin),
        k({static_cast<int32_t>(p.out_pixels / p.taps.w_out), static_cast<int32_t>(p.taps.w_out)}, k_begin) {
    const int64_t n = n0 + load_b_col();
    b_valid = n < p.N;
    c = n / p.taps_per_channel;
    ky = static_cast<int32_t>(n % p.taps_per_channel / p.taps.kw);
    kx = static_cast<int32_t>(n % p.taps.kw);
  }

  __device__ void load(const ConvBackwardWeight& p, int64_t k0, int64_t k_end, smem_ptr<float> a,
                       smem_ptr<float> b) {
    const bool a_k_valid = k0 + load_a_col() < k_end;
    for (int j = 0; j < kLoadRows; ++j) {
      const int64_t co = m0 + load_a_row(j);
      const bool valid = co < p.M && a_k_valid;
      const int64_t offset = (k.a.hi * p.M + co) * p.out_pixels + k.a.mid * p.taps.w_out + k.a.lo;
      cp_async_f32(a + load_a_row(j) * kAPitch + load_a_col(), p.dy + (valid ? offset : 0), valid);
    }
    k.advance_a();
    const auto& in = p.in;
    for (int j = 0; j < kLoadRows; ++j) {
      const Digits& d = k.b[j];
      const int64_t iy = d.mid * p.taps.sh - p.taps.pt + ky, ix = d.lo * p.taps.sw - p.taps.pl + kx;
      const bool valid =
          b_valid && k0 + load_b_row(j) < k_end && iy >= 0 && iy < in.height && ix >= 0 && ix < in.width;
      const int64_t offset = ((d.hi * in.channels + c) * in.height + iy) * in.width + ix;
      cp_async_f32(b + load_b_row(j) * kBPitch + load_b_col(), in.x + (valid ? offset : 0), valid);
      k.advance_b(j);
    }
  }
};

}  // namespace s2::S2_CUDA_NAMESPACE
