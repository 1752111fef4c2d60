#include "kernels/cpu/batchnorm.h"

#include <cmath>

namespace s2::cpu {

namespace {
// y = x * scale + shift over one plane of pixels, with the optional fused ReLU.
inline void scale_shift(const float* x, float scale, float shift, bool relu, int64_t pixels, float* y) {
  for (int64_t p = 0; p < pixels; ++p) {
    const float v = x[p] * scale + shift;
    y[p] = relu && v < 0.0f ? 0.0f : v;
  }
}
}  // namespace

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             float eps, float momentum, bool unbiased_running_var, bool relu, float* y,
                             float* save_mean, float* save_invstd, float* running_mean, float* running_var) {
  const int64_t count = s.batch * s.pixels;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < s.channels; ++c) {
    // Two passes in double: the variance of values with a large mean stays accurate.
    double sum = 0.0;
    for (int64_t n = 0; n < s.batch; ++n) {
      const float* xc = x + (n * s.channels + c) * s.pixels;
      for (int64_t p = 0; p < s.pixels; ++p) {
        sum += xc[p];
      }
    }
    const double mean = sum / static_cast<double>(count);
    double sq = 0.0;
    for (int64_t n = 0; n < s.batch; ++n) {
      const float* xc = x + (n * s.channels + c) * s.pixels;
      for (int64_t p = 0; p < s.pixels; ++p) {
        const double d = xc[p] - mean;
        sq += d * d;
      }
    }
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
      scale_shift(x + plane, scale, shift, relu, s.pixels, y + plane);
    }
  }
}

void batchnorm_forward_infer(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var, float eps, bool relu,
                             float* y) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const float scale = gamma[c] / std::sqrt(running_var[c] + eps);
      const float shift = beta[c] - running_mean[c] * scale;
      const int64_t plane = (n * s.channels + c) * s.pixels;
      scale_shift(x + plane, scale, shift, relu, s.pixels, y + plane);
    }
  }
}

void batchnorm_backward(const BatchNormShape& s, const float* x, const float* y, const float* dy,
                        const float* gamma, const float* save_mean, const float* save_invstd, float* dx,
                        float* dgamma, float* dbeta) {
  const int64_t count = s.batch * s.pixels;
  // With the fused ReLU, the gradient reaching the normalised value is dy where y > 0.
  auto upstream = [y, dy](int64_t i) { return (y == nullptr || y[i] > 0.0f) ? dy[i] : 0.0f; };
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < s.channels; ++c) {
    const float mean = save_mean[c], invstd = save_invstd[c];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t base = (n * s.channels + c) * s.pixels;
      for (int64_t p = 0; p < s.pixels; ++p) {
        const float g = upstream(base + p);
        sum_dy += g;
        sum_dy_xhat += static_cast<double>(g) * (x[base + p] - mean) * invstd;
      }
    }
    dgamma[c] = static_cast<float>(sum_dy_xhat);
    dbeta[c] = static_cast<float>(sum_dy);
    const float k = gamma[c] * invstd / static_cast<float>(count);
    const float mean_dy = static_cast<float>(sum_dy);
    const float mean_dy_xhat = static_cast<float>(sum_dy_xhat);
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t base = (n * s.channels + c) * s.pixels;
      for (int64_t p = 0; p < s.pixels; ++p) {
        const float xhat = (x[base + p] - mean) * invstd;
        dx[base + p] = k * (static_cast<float>(count) * upstream(base + p) - mean_dy - xhat * mean_dy_xhat);
      }
    }
  }
}

}  // namespace s2::cpu
