#pragma once
// Global pooling over pixels (per sample and channel) and pooling over channels (per pixel).
// Max pools record the arg-max (the first maximum, as a serial scan finds it) so that backward routes
// the gradient to it alone; a null argmax skips it, for forwards that record no gradient.
#include <cstdint>

namespace s2::cpu {

// x: [rows, pixels] -> y: [rows]. The forward reductions run in 8 fixed interleaved lanes per row
// (pooling.cpp): vectorised, and the same bits on any vector width and thread count.
void global_avg_pool_forward(int64_t rows, int64_t pixels, const float* x, float* y);
void global_avg_pool_backward(int64_t rows, int64_t pixels, const float* dy, float* dx);
void global_max_pool_forward(int64_t rows, int64_t pixels, const float* x, float* y, int32_t* argmax);
void global_max_pool_backward(int64_t rows, int64_t pixels, const float* dy, const int32_t* argmax,
                              float* dx);

// x: [batch, channels, pixels] -> y: [batch, pixels]
void channel_mean_forward(int64_t batch, int64_t channels, int64_t pixels, const float* x, float* y);
void channel_mean_backward(int64_t batch, int64_t channels, int64_t pixels, const float* dy, float* dx);
void channel_max_forward(int64_t batch, int64_t channels, int64_t pixels, const float* x, float* y,
                         int32_t* argmax);
void channel_max_backward(int64_t batch, int64_t channels, int64_t pixels, const float* dy,
                          const int32_t* argmax, float* dx);

}  // namespace s2::cpu
