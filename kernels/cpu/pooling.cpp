#include "kernels/cpu/pooling.h"

#include <algorithm>

namespace s2::cpu {

void global_avg_pool_forward(int64_t rows, int64_t pixels, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (rows * pixels > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    float s = 0.0f;
    for (int64_t p = 0; p < pixels; ++p) {
      s += x[r * pixels + p];
    }
    y[r] = s / static_cast<float>(pixels);
  }
}

void global_avg_pool_backward(int64_t rows, int64_t pixels, const float* dy, float* dx) {
#pragma omp parallel for schedule(static) if (rows * pixels > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    std::fill_n(dx + r * pixels, pixels, dy[r] / static_cast<float>(pixels));
  }
}

void global_max_pool_forward(int64_t rows, int64_t pixels, const float* x, float* y, int32_t* argmax) {
#pragma omp parallel for schedule(static) if (rows * pixels > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * pixels;
    int64_t best = 0;
    for (int64_t p = 1; p < pixels; ++p) {
      if (xr[p] > xr[best]) {  // first maximum wins ties
        best = p;
      }
    }
    y[r] = xr[best];
    argmax[r] = static_cast<int32_t>(best);
  }
}

void global_max_pool_backward(int64_t rows, int64_t pixels, const float* dy, const int32_t* argmax,
                              float* dx) {
#pragma omp parallel for schedule(static) if (rows * pixels > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    std::fill_n(dx + r * pixels, pixels, 0.0f);
    dx[r * pixels + argmax[r]] = dy[r];
  }
}

void channel_mean_forward(int64_t batch, int64_t channels, int64_t pixels, const float* x, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < batch; ++n) {
    float* yn = y + n * pixels;
    std::fill_n(yn, pixels, 0.0f);
    for (int64_t c = 0; c < channels; ++c) {
      const float* xc = x + (n * channels + c) * pixels;
      for (int64_t p = 0; p < pixels; ++p) {
        yn[p] += xc[p];
      }
    }
    for (int64_t p = 0; p < pixels; ++p) {
      yn[p] /= static_cast<float>(channels);
    }
  }
}

void channel_mean_backward(int64_t batch, int64_t channels, int64_t pixels, const float* dy, float* dx) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      float* dxc = dx + (n * channels + c) * pixels;
      for (int64_t p = 0; p < pixels; ++p) {
        dxc[p] = dy[n * pixels + p] / static_cast<float>(channels);
      }
    }
  }
}

void channel_max_forward(int64_t batch, int64_t channels, int64_t pixels, const float* x, float* y,
                         int32_t* argmax) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < batch; ++n) {
    float* yn = y + n * pixels;
    int32_t* an = argmax + n * pixels;
    std::copy_n(x + n * channels * pixels, pixels, yn);
    std::fill_n(an, pixels, 0);
    for (int64_t c = 1; c < channels; ++c) {
      const float* xc = x + (n * channels + c) * pixels;
      for (int64_t p = 0; p < pixels; ++p) {
        if (xc[p] > yn[p]) {
          yn[p] = xc[p];
          an[p] = static_cast<int32_t>(c);
        }
      }
    }
  }
}

void channel_max_backward(int64_t batch, int64_t channels, int64_t pixels, const float* dy,
                          const int32_t* argmax, float* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < batch; ++n) {
    std::fill_n(dx + n * channels * pixels, channels * pixels, 0.0f);
    for (int64_t p = 0; p < pixels; ++p) {
      dx[(n * channels + argmax[n * pixels + p]) * pixels + p] = dy[n * pixels + p];
    }
  }
}

}  // namespace s2::cpu
