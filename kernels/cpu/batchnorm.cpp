#include "kernels/cpu/batchnorm.h"

#include <array>
#include <cmath>
#include <type_traits>

#include "kernels/cpu/lanes.h"

namespace s2::cpu {

namespace {
// y = x * scale + shift (+ r) over one plane of pixels, with the optional fused ReLU.
inline void scale_shift(const float* x, const float* r, float scale, float shift, bool relu, int64_t pixels,
                        float* y) {
  if (r == nullptr) {
    for (int64_t p = 0; p < pixels; ++p) {
      const float v = x[p] * scale + shift;
      y[p] = relu && v < 0.0f ? 0.0f : v;
    }
    return;
  }
  for (int64_t p = 0; p < pixels; ++p) {
    const float v = (x[p] * scale + shift) + r[p];
    y[p] = relu && v < 0.0f ? 0.0f : v;
  }
}

// Eight doubles as two AVX2 registers, lanes 0-3 and 4-7 (GCC handles a 64-byte vector poorly without
// AVX-512, through memory). Element-wise arithmetic only.
using Double4 = double __attribute__((vector_size(32)));
struct DoubleLanes {
  Double4 lo, hi;
  double operator[](int64_t l) const { return l < 4 ? lo[l] : hi[l - 4]; }
  void zero(int64_t l) { l < 4 ? lo[l] = 0.0 : hi[l - 4] = 0.0; }
};
inline DoubleLanes operator+(DoubleLanes a, DoubleLanes b) {
  return {a.lo + b.lo, a.hi + b.hi};
}
inline DoubleLanes operator*(DoubleLanes a, DoubleLanes b) {
  return {a.lo * b.lo, a.hi * b.hi};
}
inline DoubleLanes operator*(DoubleLanes a, double b) {
  return {a.lo * b, a.hi * b};
}
inline DoubleLanes operator-(DoubleLanes a, double b) {
  return {a.lo - b, a.hi - b};
}
inline DoubleLanes& operator+=(DoubleLanes& a, DoubleLanes b) {
  return a = a + b;
}

inline DoubleLanes to_double(Lanes v) {
  return {__builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), Double4),
          __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), Double4)};
}

// The group size of a whole group of lanes, known at compile time so that the partial-group code folds
// away; a plane's last group passes its size as a plain int64_t.
using FullGroup = std::integral_constant<int64_t, kLanes>;
constexpr FullGroup kFullGroup{};

// A channel's sums over its N planes of P pixels, each term in double, in 8 interleaved lanes (lane l
// takes pixels l, l + 8, ... of every plane; a plane's last partial group adds zeros to the lanes it
// lacks) combined in a fixed tree. The bits depend on the shape alone, never on the vector width or
// the thread count. add_terms(i, m, acc) adds the terms of pixels i .. i + m - 1 (m = kLanes but at a
// plane's end) to the lanes of each of the K sums, which share one pass over memory.
template <int K, class AddTerms>
[[gnu::always_inline]] inline std::array<double, K> channel_sums(const BatchNormShape& s, int64_t c,
                                                                 AddTerms add_terms) {
  DoubleLanes acc[K] = {};
  for (int64_t n = 0; n < s.batch; ++n) {
    const int64_t base = (n * s.channels + c) * s.pixels;
    int64_t p = 0;
    for (; p + kLanes <= s.pixels; p += kLanes) add_terms(base + p, kFullGroup, acc);
    if (p < s.pixels) add_terms(base + p, s.pixels - p, acc);
  }
  std::array<double, K> out;
  for (int k = 0; k < K; ++k) {
    const DoubleLanes& a = acc[k];
    out[k] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  }
  return out;
}

// Eight floats from i, or the first m of them and zeros.
template <class Count>
[[gnu::always_inline]] inline Lanes lanes_at(const float* p, int64_t i, Count m) {
  if constexpr (std::is_same_v<Count, FullGroup>) {
    return load_lanes(p + i);
  } else {
    return load_partial_lanes(p + i, m);
  }
}

// The gradient reaching the normalised value: dy, or with the fused ReLU dy where y > 0.
template <bool Relu>
inline float upstream(const float* y, const float* dy, int64_t i) {
  if constexpr (Relu) {
    return y[i] > 0.0f ? dy[i] : 0.0f;
  } else {
    return dy[i];
  }
}

template <bool Relu, class Count>
[[gnu::always_inline]] inline Lanes upstream_lanes(const float* y, const float* dy, int64_t i, Count m) {
  const Lanes g = lanes_at(dy, i, m);
  if constexpr (Relu) {
    return lanes_at(y, i, m) > 0.0f ? g : Lanes{};
  } else {
    return g;
  }
}

template <bool Relu>
void backward_channel(const BatchNormShape& s, int64_t c, const float* x, const float* y, const float* dy,
                      const float* gamma, const float* save_mean, const float* save_invstd, float* dx,
                      float* dresidual, float* dgamma, float* dbeta) {
  const int64_t count = s.batch * s.pixels;
  const float mean = save_mean[c], invstd = save_invstd[c];
  // Per element: g, and (double(g) * (x - mean)) * invstd with x - mean rounded to float first.
  const auto [sum_dy, sum_dy_xhat] = channel_sums<2>(s, c, [&](int64_t i, auto m, DoubleLanes* acc) {
    const DoubleLanes g = to_double(upstream_lanes<Relu>(y, dy, i, m));
    acc[0] += g;
    acc[1] += g * to_double(lanes_at(x, i, m) - mean) * static_cast<double>(invstd);
  });
  dgamma[c] = static_cast<float>(sum_dy_xhat);
  dbeta[c] = static_cast<float>(sum_dy);
  const float k = gamma[c] * invstd / static_cast<float>(count);
  const float mean_dy = static_cast<float>(sum_dy);
  const float mean_dy_xhat = static_cast<float>(sum_dy_xhat);
  for (int64_t n = 0; n < s.batch; ++n) {
    const int64_t base = (n * s.channels + c) * s.pixels;
    for (int64_t i = base; i < base + s.pixels; ++i) {
      const float xhat = (x[i] - mean) * invstd;
      dx[i] = k * (static_cast<float>(count) * upstream<Relu>(y, dy, i) - mean_dy - xhat * mean_dy_xhat);
    }
    if (dresidual != nullptr) {  // the residual's gradient is the masked incoming one
      for (int64_t i = base; i < base + s.pixels; ++i) dresidual[i] = upstream<Relu>(y, dy, i);
    }
  }
}
}  // namespace

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* residual,
                             const float* gamma, const float* beta, float eps, float momentum,
                             bool unbiased_running_var, bool relu, float* y, float* save_mean,
                             float* save_invstd, float* running_mean, float* running_var) {
  const int64_t count = s.batch * s.pixels;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < s.channels; ++c) {
    // Two passes in double: the variance of values with a large mean stays accurate.
    const double mean =
        channel_sums<1>(
            s, c, [x](int64_t i, auto m, DoubleLanes* acc) { acc[0] += to_double(lanes_at(x, i, m)); })[0] /
        static_cast<double>(count);
    // A missing lane would add (0 - mean)^2: a partial group zeroes those lanes' terms.
    const double sq = channel_sums<1>(s, c, [x, mean](int64_t i, auto m, DoubleLanes* acc) {
      const DoubleLanes d = to_double(lanes_at(x, i, m)) - mean;
      DoubleLanes squares = d * d;
      if constexpr (!std::is_same_v<decltype(m), FullGroup>) {
        for (int64_t l = m; l < kLanes; ++l) squares.zero(l);
      }
      acc[0] += squares;
    })[0];
    const double var = sq / static_cast<double>(count);
    const float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
    save_mean[c] = static_cast<float>(mean);
    save_invstd[c] = invstd;
    const double running = unbiased_running_var && count > 1 ? sq / static_cast<double>(count - 1) : var;
    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * static_cast<float>(mean);
    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * static_cast<float>(running);
    const float scale = gamma[c] * invstd;
    const float shift = beta[c] - static_cast<float>(mean) * scale;
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t plane = (n * s.channels + c) * s.pixels;
      scale_shift(x + plane, residual == nullptr ? nullptr : residual + plane, scale, shift, relu, s.pixels,
                  y + plane);
    }
  }
}

void batchnorm_forward_infer(const BatchNormShape& s, const float* x, const float* residual,
                             const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, float eps, bool relu, float* y) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const float scale = gamma[c] / std::sqrt(running_var[c] + eps);
      const float shift = beta[c] - running_mean[c] * scale;
      const int64_t plane = (n * s.channels + c) * s.pixels;
      scale_shift(x + plane, residual == nullptr ? nullptr : residual + plane, scale, shift, relu, s.pixels,
                  y + plane);
    }
  }
}

void batchnorm_backward(const BatchNormShape& s, const float* x, const float* y, const float* dy,
                        const float* gamma, const float* save_mean, const float* save_invstd, float* dx,
                        float* dresidual, float* dgamma, float* dbeta) {
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < s.channels; ++c) {
    if (y != nullptr) {
      backward_channel<true>(s, c, x, y, dy, gamma, save_mean, save_invstd, dx, dresidual, dgamma, dbeta);
    } else {
      backward_channel<false>(s, c, x, y, dy, gamma, save_mean, save_invstd, dx, dresidual, dgamma, dbeta);
    }
  }
}

}  // namespace s2::cpu
