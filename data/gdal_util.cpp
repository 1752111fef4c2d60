#include "data/gdal_util.h"

#include <unistd.h>

#include <array>
#include <filesystem>

#include "framework/error.h"

namespace s2::data {

void register_drivers() {
  static const bool registered = [] {
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);  // our errors carry the file name instead
    return true;
  }();
  (void)registered;
}

DatasetPtr open_raster(const std::string& path) {
  register_drivers();
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

void read_band(GDALDataset& d, int band, const Window& w, float* out, const std::string& path) {
  const CPLErr err = d.GetRasterBand(band)->RasterIO(GF_Read, static_cast<int>(w.x), static_cast<int>(w.y),
                                                     static_cast<int>(w.width), static_cast<int>(w.height),
                                                     out, static_cast<int>(w.width),
                                                     static_cast<int>(w.height), GDT_Float32, 0, 0);
  S2_CHECK(err == CE_None, "'{}': reading band {} failed: {}", path, band, CPLGetLastErrorMsg());
}

GDALDataset* create_geotiff(const std::string& path, const Grid& grid, int bands, GDALDataType type) {
  register_drivers();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  S2_CHECK(driver != nullptr, "GDAL has no GeoTIFF driver");
  const char* options[] = {"TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER", nullptr};
  GDALDataset* d = driver->Create(path.c_str(), static_cast<int>(grid.width), static_cast<int>(grid.height),
                                  bands, type, const_cast<char**>(options));
  S2_CHECK(d != nullptr, "cannot create '{}': {}", path, CPLGetLastErrorMsg());
  std::array<double, 6> transform = grid.transform;
  d->SetGeoTransform(transform.data());
  if (!grid.crs_wkt.empty()) d->SetProjection(grid.crs_wkt.c_str());
  return d;
}

void write_band_geotiff(const std::string& path, const Grid& grid, GDALDataType type, const void* values,
                        double no_data, const std::string& description) {
  const std::string temp = path + ".part-" + std::to_string(getpid());
  DatasetPtr d(create_geotiff(temp, grid, 1, type));
  GDALRasterBand* band = d->GetRasterBand(1);
  band->SetNoDataValue(no_data);
  band->SetDescription(description.c_str());
  CPLErrorReset();
  const CPLErr err = band->RasterIO(GF_Write, 0, 0, static_cast<int>(grid.width),
                                    static_cast<int>(grid.height), const_cast<void*>(values),
                                    static_cast<int>(grid.width), static_cast<int>(grid.height), type, 0, 0);
  d.reset();  // flushes
  std::error_code ec;
  if (err != CE_None || CPLGetLastErrorType() == CE_Failure) {
    std::filesystem::remove(temp, ec);
    S2_CHECK(false, "writing '{}' failed: {}", path, CPLGetLastErrorMsg());
  }
  std::filesystem::rename(temp, path, ec);
  S2_CHECK(!ec, "cannot move '{}' to '{}': {}", temp, path, ec.message());
}

DatasetPtr open_vector(const std::string& path) {
  register_drivers();
  S2_CHECK(std::filesystem::exists(path), "'{}' does not exist", path);
  DatasetPtr d(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
  S2_CHECK(d != nullptr && d->GetLayerCount() > 0, "'{}' is not a readable vector file: {}", path,
           CPLGetLastErrorMsg());
  return d;
}

int require_field(OGRLayer& layer, const std::string& name, const std::string& path,
                  const std::string& what) {
  OGRFeatureDefn* defn = layer.GetLayerDefn();
  const int i = defn->GetFieldIndex(name.c_str());
  if (i < 0) {
    std::string fields;
    for (int f = 0; f < defn->GetFieldCount(); ++f)
      fields += std::string(f ? ", " : "") + defn->GetFieldDefn(f)->GetNameRef();
    S2_CHECK(false, "'{}': layer '{}' has no {} '{}' (its {}s: {})", path, layer.GetName(), what, name, what,
             fields.empty() ? "none" : fields);
  }
  return i;
}

TransformPtr transform_to(const OGRSpatialReference* from, const std::string& to_wkt,
                          const std::string& path) {
  if (from == nullptr || to_wkt.empty()) return nullptr;
  OGRSpatialReference source(*from), target;
  S2_CHECK(target.importFromWkt(to_wkt.c_str()) == OGRERR_NONE, "'{}': the target CRS is not valid WKT",
           path);
  source.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  target.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (source.IsSame(&target)) return nullptr;
  CPLErrorReset();
  TransformPtr t(OGRCreateCoordinateTransformation(&source, &target));
  const char* name = source.GetName();
  S2_CHECK(t != nullptr, "'{}': GDAL cannot transform its CRS ({}) to the raster's ({}): {}", path,
           name != nullptr ? name : "unnamed", target.GetName() != nullptr ? target.GetName() : "unnamed",
           CPLGetLastErrorMsg());
  return t;
}

LatLon wgs84_pixel_centres(const Grid& grid, const std::vector<int32_t>& xs, const std::vector<int32_t>& ys,
                           const std::string& path) {
  LatLon out;
  if (grid.crs_wkt.empty()) return out;
  OGRSpatialReference source, wgs84;
  S2_CHECK(source.importFromWkt(grid.crs_wkt.c_str()) == OGRERR_NONE, "'{}': its CRS is not valid WKT", path);
  wgs84.SetWellKnownGeogCS("WGS84");
  char* wkt = nullptr;
  wgs84.exportToWkt(&wkt);
  const std::string wgs84_wkt = wkt != nullptr ? wkt : "";
  CPLFree(wkt);
  const TransformPtr to_wgs84 = transform_to(&source, wgs84_wkt, path);
  const auto& g = grid.transform;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double px = xs[i] + 0.5, py = ys[i] + 0.5;
    double x = g[0] + px * g[1] + py * g[2], y = g[3] + px * g[4] + py * g[5];
    S2_CHECK(to_wgs84 == nullptr || to_wgs84->Transform(1, &x, &y),
             "'{}': GDAL cannot transform pixel ({}, {}) to WGS84", path, xs[i], ys[i]);
    out.lats.push_back(y), out.lons.push_back(x);  // traditional GIS order: x is the longitude
  }
  check_coordinates(out, path);
  return out;
}

}  // namespace s2::data
