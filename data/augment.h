#pragma once
// Training-time augmentation of regular time series batches (n, 1, T, B), in normalised units:
// a random temporal shift, band-wise Gaussian noise, dropping random dates, which are then filled by
// linear interpolation from the kept dates as the resampling would have done, and a random level per
// sample and band (the same on every date), as another region's atmosphere, soil or calibration would
// shift it.
#include <cstdint>

#include "framework/random.h"
#include "framework/tensor.h"

namespace s2::data {

struct AugmentOptions {
  int64_t max_shift = 0;         // dates; each sample is shifted by a uniform amount in [-max, max]
  float noise_std = 0.0f;        // standard deviation in per-band standardised units
  float drop_dates = 0.0f;       // probability that an interior date is dropped
  float band_offset_std = 0.0f;  // a per-sample, per-band offset, Gaussian, in standardised units
  bool enabled() const { return max_shift > 0 || noise_std > 0 || drop_dates > 0 || band_offset_std > 0; }
};

void augment_batch(Tensor& x, const AugmentOptions& options, Generator& generator);

}  // namespace s2::data
