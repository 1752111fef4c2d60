#pragma once
// The perturbations behind occlusion importance and deletion curves: a date or a band of a sample is
// not zeroed (values no real pixel has) but replaced by its interpolation from its neighbours, so the
// model sees a plausible series with that information taken out.
#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace s2::experiments {

// Replaces, in one sample's [T][B] values, every date with removed[t] set by the linear interpolation
// between the nearest kept dates before and after it (the nearest kept date at either end). With no
// date kept, the sample is left as it is.
void interpolate_dates(float* sample, int64_t timesteps, int64_t bands, const std::vector<bool>& removed);

// A copy of `d` with date `t` of every sample interpolated from its neighbours.
data::PixelDataset without_date(const data::PixelDataset& d, int64_t t);

// A copy of `d` with band `b` of every sample and date replaced by the linear interpolation of its
// spectral neighbours b - 1 and b + 1 (the one neighbour at either end), in reflectance: the values are
// standardised per band, so they are taken back through `mean` and `stddev` first.
data::PixelDataset without_band(const data::PixelDataset& d, int64_t b, const std::vector<float>& mean,
                                const std::vector<float>& stddev);

}  // namespace s2::experiments
