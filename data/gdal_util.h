#pragma once
// GDAL plumbing shared by the raster readers and writers of data/.
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <memory>
#include <string>

#include "data/coordinates.h"
#include "data/raster_series.h"

namespace s2::data {

struct DatasetCloser {
  void operator()(GDALDataset* d) const { GDALClose(d); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

// GDAL's drivers, once per process, with its own error printing off (our errors name the file).
void register_drivers();
// Opens a raster read-only; a missing or unreadable file is an error naming it.
DatasetPtr open_raster(const std::string& path);
Grid grid_of(GDALDataset& d);

// One window of a band as Float32; errors name `path`.
void read_band(GDALDataset& d, int band, const Window& w, float* out, const std::string& path);

// A new tiled, compressed GeoTIFF on `grid` (the caller closes it). Errors name the path.
GDALDataset* create_geotiff(const std::string& path, const Grid& grid, int bands, GDALDataType type);
// Writes one band of `type` values (grid.width * grid.height) as a GeoTIFF, under a temporary name
// first so the final name never holds a partial file.
void write_band_geotiff(const std::string& path, const Grid& grid, GDALDataType type, const void* values,
                        double no_data, const std::string& description);

// Opens a vector file (any OGR format) read-only; errors name it.
DatasetPtr open_vector(const std::string& path);

// The index of attribute `name` of `layer`; a missing one is an error naming `path` and listing the
// layer's attributes, calling them `what` ("field", "attribute") as the caller's users know them.
int require_field(OGRLayer& layer, const std::string& name, const std::string& path, const std::string& what);

// A transformation from `from` to the CRS `to_wkt` in x = easting/longitude order, or null when there
// is nothing to do (the same CRS, or either unknown). A pair GDAL cannot transform is an error naming
// `path`.
struct TransformDeleter {
  void operator()(OGRCoordinateTransformation* t) const { OGRCoordinateTransformation::DestroyCT(t); }
};
using TransformPtr = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;
TransformPtr transform_to(const OGRSpatialReference* from, const std::string& to_wkt,
                          const std::string& path);

// The WGS84 latitude and longitude of the centres of pixels (xs[i], ys[i]) of `grid`, reprojected from
// its CRS with GDAL/OSR; empty when the grid has no CRS (a location-aware model then refuses the data).
LatLon wgs84_pixel_centres(const Grid& grid, const std::vector<int32_t>& xs, const std::vector<int32_t>& ys,
                           const std::string& path);

}  // namespace s2::data
