#include "data/gdal_util.h"

#include <filesystem>

#include "framework/error.h"

namespace s2::data {

DatasetPtr open_raster(const std::string& path) {
  static const bool registered = [] {
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);  // our errors carry the file name instead
    return true;
  }();
  (void)registered;
  S2_CHECK(std::filesystem::exists(path), "'{}' does not exist", path);
  DatasetPtr d(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  S2_CHECK(d != nullptr, "'{}' is not a readable raster: {}", path, CPLGetLastErrorMsg());
  return d;
}

Grid grid_of(GDALDataset& d) {
  Grid g;
  g.width = d.GetRasterXSize();
  g.height = d.GetRasterYSize();
  if (d.GetGeoTransform(g.transform.data()) != CE_None) g.transform = {0, 1, 0, 0, 0, 1};
  if (const OGRSpatialReference* srs = d.GetSpatialRef()) {
    char* wkt = nullptr;
    srs->exportToWkt(&wkt);
    g.crs_wkt = wkt != nullptr ? wkt : "";
    CPLFree(wkt);
  }
  return g;
}

}  // namespace s2::data
