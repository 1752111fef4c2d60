#include "kernels/cpu/pooling.h"

#include <algorithm>

#include "kernels/cpu/lanes.h"

namespace s2::cpu {

namespace {
// Reductions over a row in kLanes fixed interleaved lanes (lane l takes elements l, l + 8, ...), so
// that the compiler vectorises them; lanes are combined in a fixed tree. The order depends on the row
// length alone, never on the vector width or the thread count.
float lane_sum(const float* x, int64_t n) {
  float acc[kLanes] = {};
  int64_t p = 0;
  for (; p + kLanes <= n; p += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += x[p + l];
  }
  for (int64_t l = 0; p + l < n; ++l) acc[l] += x[p + l];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// The largest value of a row (for rows without NaN). A maximum is exact, so the lanes change no bits;
// a comparison and a select per element, which the compiler turns into vector max instructions.
float lane_max(const float* x, int64_t n) {
  if (n < kLanes) {
    float best = x[0];
    for (int64_t p = 1; p < n; ++p) best = x[p] > best ? x[p] : best;
    return best;
  }
  float value[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) value[l] = x[l];
  int64_t p = kLanes;
  for (; p + kLanes <= n; p += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) value[l] = x[p + l] > value[l] ? x[p + l] : value[l];
  }
  for (int64_t l = 0; p + l < n; ++l) value[l] = x[p + l] > value[l] ? x[p + l] : value[l];
  float best = value[0];
  for (int64_t l = 1; l < kLanes; ++l) best = value[l] > best ? value[l] : best;
  return best;
}

// Where a serial scan finds its first maximum: the first element equal to the row's maximum (0 when
// none is, as in a row of NaN).
int64_t first_index_of(const float* x, int64_t n, float value) {
  for (int64_t p = 0; p < n; ++p) {
    if (x[p] == value) return p;
  }
  return 0;
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
    const float* row = x + r * pixels;
    y[r] = lane_max(row, pixels);
    if (argmax != nullptr) argmax[r] = static_cast<int32_t>(first_index_of(row, pixels, y[r]));
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
    std::copy_n(x + n * channels * pixels, pixels, yn);
    if (argmax == nullptr) {  // the value alone: a branch-free select, vectorised
      for (int64_t c = 1; c < channels; ++c) {
        const float* xc = x + (n * channels + c) * pixels;
        for (int64_t p = 0; p < pixels; ++p) yn[p] = xc[p] > yn[p] ? xc[p] : yn[p];
      }
      continue;
    }
    int32_t* an = argmax + n * pixels;
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
