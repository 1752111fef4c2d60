#include "models/location_encoding.h"

#include <cmath>

#include "framework/error.h"

namespace s2::models {

Tensor encode_locations(const Tensor& latlon, const LocationEncoding& e) {
  S2_CHECK(latlon.defined() && latlon.ndim() == 2 && latlon.size(1) == 2,
           "location encoding: expected (N, 2) latitude and longitude, got {}",
           latlon.defined() ? shape_str(latlon.shape()) : "nothing");
  S2_CHECK(e.scales >= 1 && e.min_wavelength_km > 0, "location encoding: {} scales down to {} km", e.scales,
           e.min_wavelength_km);
  constexpr double kCircumferenceKm = 40007.863, kRad = 3.14159265358979323846 / 180;  // meridional
  const Tensor where = latlon.to(Device::CPU);
  const int64_t n = where.size(0), f = e.features();
  Tensor out = Tensor::empty({n, f});
  const double ratio = e.min_wavelength_km / kCircumferenceKm;
  for (int64_t i = 0; i < n; ++i) {
    const double lat = where.data()[2 * i] * kRad, lon = where.data()[2 * i + 1] * kRad;
    float* row = out.data() + i * f;
    for (int64_t s = 0; s < e.scales; ++s) {
      // Cycles around the Earth: 1 at the first scale, circumference / min wavelength at the last.
      const double exponent = e.scales > 1 ? static_cast<double>(s) / static_cast<double>(e.scales - 1) : 0.0;
      const double cycles = 1.0 / std::pow(ratio, exponent);
      row[4 * s] = static_cast<float>(std::sin(cycles * lat));
      row[4 * s + 1] = static_cast<float>(std::cos(cycles * lat));
      row[4 * s + 2] = static_cast<float>(std::sin(cycles * lon));
      row[4 * s + 3] = static_cast<float>(std::cos(cycles * lon));
    }
  }
  return out;
}

}  // namespace s2::models
