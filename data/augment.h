#pragma once
// Training-time augmentation of regular time series batches (n, 1, T, B), in normalised units:
// a random temporal shift, band-wise Gaussian noise, and dropping random dates, which are then
// filled by linear interpolation from the kept dates as the resampling would have done.
#include <cstdint>

#include "framework/random.h"
#include "framework/tensor.h"

namespace s2::data {

struct AugmentOptions {
  int64_t max_shift = 0;    // dates; each sample is shifted by a uniform amount in [-max, max]
  float noise_std = 0.0f;   // standard deviation in per-band standardised units
  float drop_dates = 0.0f;  // probability that an interior date is dropped
  bool enabled() const { return max_shift > 0 || noise_std > 0 || drop_dates > 0; }
};

void augment_batch(Tensor& x, const AugmentOptions& options, Generator& generator);

}  // namespace s2::data
