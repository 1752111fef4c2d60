#pragma once
// Where samples are, as WGS84 latitude and longitude in degrees: from a coordinates file beside a table,
// from a pixel CSV's lat/lon columns, or from a raster's pixel centres (data/raster_coordinates.h).
// Location-aware models (Geo-CBAM) read them; every other model ignores them.
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"

namespace s2::data {

struct LatLon {
  std::vector<double> lats, lons;
};

// Whether a column header names a latitude ("lat", "latitude") or a longitude ("lon", "lng",
// "longitude"), in any case.
enum class CoordinateColumn { None, Latitude, Longitude };
CoordinateColumn coordinate_column(std::string_view header);

// Every coordinate finite, latitudes in [-90, 90] and longitudes in [-180, 180]; an error names `source`
// and the first sample that is not (a swapped lat/lon or projected metres fail here).
void check_coordinates(const LatLon& c, const std::string& source);

// A coordinates file: an .npy of shape (N, 2), latitude then longitude, or a .csv of lat,lon per line,
// whose first line may name the columns (either order; other columns are then ignored).
LatLon read_coordinates(const std::string& path);

// Gives d the coordinates of `path` (checked), one per sample.
void attach_coordinates(PixelDataset& d, const std::string& path);

}  // namespace s2::data
