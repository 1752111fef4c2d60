#include "kernels/cpu/pooling.h"

#include <algorithm>

namespace s2::cpu {

namespace {
// Reductions over a row in kLanes fixed interleaved lanes (lane l takes elements l, l + 8, ...), so
// that the compiler vectorises them; lanes are combined in a fixed tree. The order depends on the row
// length alone, never on the vector width or the thread count.
constexpr int64_t kLanes = 8;

float lane_sum(const float* x, int64_t n) {
  float acc[kLanes] = {};
  int64_t p = 0;
  for (; p + kLanes <= n; p += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += x[p + l];
  }
  for (int64_t l = 0; p + l < n; ++l) acc[l] += x[p + l];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// The first maximum of a row, as a serial scan finds it (for rows without NaN): per lane the first
// maximum, then the lanes' largest value, at its smallest index.
int64_t first_argmax(const float* x, int64_t n) {
  if (n < kLanes) {
    int64_t best = 0;
    for (int64_t p = 1; p < n; ++p) best = x[p] > x[best] ? p : best;
    return best;
  }
  float value[kLanes];
  int64_t index[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) value[l] = x[l], index[l] = l;
  int64_t p = kLanes;
  for (; p + kLanes <= n; p += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const bool larger = x[p + l] > value[l];
      value[l] = larger ? x[p + l] : value[l];
      index[l] = larger ? p + l : index[l];
    }
  }
  for (int64_t l = 0; p + l < n; ++l) {
    if (x[p + l] > value[l]) value[l] = x[p + l], index[l] = p + l;
  }
  int64_t best = 0;
  for (int64_t l = 1; l < kLanes; ++l) {
    if (value[l] > value[best] || (value[l] == value[best] && index[l] < index[best])) best = l;
  }
  return index[best];
}
}  // namespace

void global_avg_pool_forward(int64_t rows, int64_t pixels, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (rows * pixels > 65536)
  for (int64_t r = 0; r < rows; ++r) y[r] = lane_sum(x + r * pixels, pixels) / static_cast<float>(pixels);
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
    const int64_t best = first_argmax(x + r * pixels, pixels);  // first maximum wins ties
    y[r] = x[r * pixels + best];
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
