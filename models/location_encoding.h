#pragma once
// Where a sample is, as features a network can use (Geo-CBAM): sines and cosines of its latitude and
// longitude at wavelengths from the Earth's circumference down to `min_wavelength_km`, in geometric
// steps, so that a layer can tell continents apart with the longest and neighbouring regions with the
// shortest.
#include <cstdint>

#include "framework/tensor.h"

namespace s2::models {

struct LocationEncoding {
  int64_t scales = 6;
  double min_wavelength_km = 100;  // the shortest wavelength, along a meridian (a parallel's is shorter
                                   // by the cosine of the latitude)
  int64_t features() const { return 4 * scales; }
};

// (N, 2) latitude and longitude in degrees on the CPU -> (N, 4 * scales) on the CPU: for scale s,
// sin and cos of latitude and of longitude, each times the circumference over the s-th wavelength.
// Computed in float64 and rounded once: the same values on every machine and thread count.
Tensor encode_locations(const Tensor& latlon, const LocationEncoding& encoding);

}  // namespace s2::models
