#include "data/polygon_labels.h"

#include <fmt/format.h>
#include <gdal_alg.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <memory>

#include "data/csv.h"
#include "data/gdal_util.h"
#include "data/raster_series.h"
#include "framework/atomic_file.h"
#include "framework/error.h"

namespace s2::data {

namespace fs = std::filesystem;

namespace {

struct Parcel {
  int64_t fid = 0;
  std::string id, class_value;
  int32_t code = 0;
  std::unique_ptr<OGRGeometry> geometry;
  int64_t pixels = 0;
};

// The images' grid, and the folder of dated GeoTIFFs to link as s2/ (empty for a single raster).
std::pair<Grid, std::string> images_grid(const std::string& images) {
  if (!fs::is_directory(images)) return {read_grid(images), ""};
  const fs::path nested = fs::path(images) / "s2";
  const std::string folder = fs::is_directory(nested) ? nested.string() : images;
  return {read_grid(list_acquisitions(folder).front().path), folder};
}

OGRLayer* find_layer(GDALDataset& d, const std::string& name, const std::string& path) {
  if (name.empty()) return d.GetLayer(0);
  OGRLayer* layer = d.GetLayerByName(name.c_str());
  if (layer == nullptr) {
    std::string names;
    for (int i = 0; i < d.GetLayerCount(); ++i)
      names += std::string(i ? ", " : "") + d.GetLayer(i)->GetName();
    S2_CHECK(false, "'{}' has no layer '{}' (its layers: {})", path, name, names);
  }
  return layer;
}

// `text` as a class code (1..65535, the range of labels.tif), or 0.
int32_t as_code(const std::string& text) {
  int32_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() && v >= 1 && v <= 65535 ? v : 0;
}

// Codes and names for the parcels' class values: through the legend (a value is a code or a name of
// it), or without one, the values themselves when all are codes, else codes 1.. by sorted name.
// Parcels of an unknown class get code 0 and a warning.
std::map<int32_t, std::string> resolve_classes(std::vector<Parcel>& parcels, const std::string& legend_path,
                                               const std::string& path, std::vector<std::string>& warnings) {
  std::map<int32_t, std::string> legend;
  if (!legend_path.empty()) {
    legend = read_legend(legend_path);
    std::map<std::string, int32_t> code_of_name;
    for (const auto& [code, name] : legend) code_of_name[name] = code;
    for (Parcel& p : parcels) {
      const int32_t code = as_code(p.class_value);
      p.code = legend.count(code)                  ? code
               : code_of_name.count(p.class_value) ? code_of_name.at(p.class_value)
                                                   : 0;
      if (p.code == 0) {
        warnings.push_back(fmt::format("'{}': feature {} has class '{}', which is not in the legend '{}'",
                                       path, p.fid, p.class_value, legend_path));
      }
    }
    return legend;
  }
  const bool all_codes = std::all_of(parcels.begin(), parcels.end(),
                                     [](const Parcel& p) { return as_code(p.class_value) != 0; });
  std::map<std::string, int32_t> code_of_name;
  for (const Parcel& p : parcels) code_of_name[p.class_value] = 0;
  int32_t next = 0;
  for (auto& [name, code] : code_of_name) code = all_codes ? as_code(name) : ++next;
  for (Parcel& p : parcels) {
    p.code = code_of_name.at(p.class_value);
    legend[p.code] = p.class_value;
  }
  return legend;
}

// The raster's footprint in its own coordinates.
OGREnvelope extent_of(const Grid& g) {
  OGREnvelope e;
  for (const auto& [c, r] :
       {std::pair{0.0, 0.0}, std::pair{1.0, 0.0}, std::pair{0.0, 1.0}, std::pair{1.0, 1.0}}) {
    const double col = c * static_cast<double>(g.width), row = r * static_cast<double>(g.height);
    e.Merge(g.transform[0] + col * g.transform[1] + row * g.transform[2],
            g.transform[3] + col * g.transform[4] + row * g.transform[5]);
  }
  return e;
}

// Which parcel covers each pixel centre (1-based index into `parcels`, 0 none), and how many do.
std::pair<std::vector<int32_t>, std::vector<int32_t>> burn(const std::vector<Parcel>& parcels,
                                                           const Grid& g) {
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  S2_CHECK(mem != nullptr, "GDAL has no in-memory raster driver");
  DatasetPtr d(mem->Create("", static_cast<int>(g.width), static_cast<int>(g.height), 2, GDT_Int32, nullptr));
  std::array<double, 6> transform = g.transform;
  d->SetGeoTransform(transform.data());
  std::vector<OGRGeometryH> geometries;
  std::vector<double> index, ones;
  for (size_t i = 0; i < parcels.size(); ++i) {
    if (parcels[i].code == 0) continue;
    geometries.push_back(OGRGeometry::ToHandle(parcels[i].geometry.get()));
    index.push_back(static_cast<double>(i + 1));
    ones.push_back(1.0);
  }
  int band = 1;
  // Both passes must agree on which pixels a polygon holds: those whose centre it contains.
  const char* touched = "ALL_TOUCHED=FALSE";
  const char* replace[] = {touched, nullptr};
  const char* add[] = {touched, "MERGE_ALG=ADD", nullptr};
  for (auto [values, options] : {std::pair{&index, replace}, std::pair{&ones, add}}) {
    const CPLErr err = GDALRasterizeGeometries(d.get(), 1, &band, static_cast<int>(geometries.size()),
                                               geometries.data(), nullptr, nullptr, values->data(),
                                               const_cast<char**>(options), nullptr, nullptr);
    S2_CHECK(err == CE_None, "rasterising the polygons failed: {}", CPLGetLastErrorMsg());
    ++band;
  }
  std::vector<int32_t> which(static_cast<size_t>(g.width * g.height)), count(which.size());
  for (auto [b, out] : {std::pair{1, &which}, std::pair{2, &count}}) {
    const CPLErr err = d->GetRasterBand(b)->RasterIO(
        GF_Read, 0, 0, static_cast<int>(g.width), static_cast<int>(g.height), out->data(),
        static_cast<int>(g.width), static_cast<int>(g.height), GDT_Int32, 0, 0);
    S2_CHECK(err == CE_None, "reading the rasterised polygons failed: {}", CPLGetLastErrorMsg());
  }
  return {which, count};
}

}  // namespace

PolygonLabelReport rasterise_polygon_labels(const PolygonLabelOptions& o) {
  const auto [grid, series] = images_grid(o.images);
  DatasetPtr vector = open_vector(o.polygons);
  OGRLayer* layer = find_layer(*vector, o.layer, o.polygons);
  const int class_field = require_field(*layer, o.class_field, o.polygons, "attribute");
  const int id_field = o.id_field.empty() ? -1 : require_field(*layer, o.id_field, o.polygons, "attribute");
  PolygonLabelReport r;
  if (layer->GetSpatialRef() == nullptr) {
    r.warnings.push_back(
        fmt::format("'{}' has no CRS: its coordinates are taken to be in the images' CRS", o.polygons));
  }
  const TransformPtr to_grid = transform_to(layer->GetSpatialRef(), grid.crs_wkt, o.polygons);
  double units_per_metre = 1;
  if (o.buffer_m > 0 && !grid.crs_wkt.empty()) {
    OGRSpatialReference srs;
    srs.importFromWkt(grid.crs_wkt.c_str());
    S2_CHECK(!srs.IsGeographic(), "'{}': an inward buffer in metres needs images in a projected CRS, not {}",
             o.images, srs.GetName() != nullptr ? srs.GetName() : "degrees");
    units_per_metre = 1 / srs.GetLinearUnits();
  }
  const OGREnvelope extent = extent_of(grid);
  std::vector<Parcel> parcels;
  for (auto& feature : *layer) {
    ++r.polygons_read;
    const auto skip = [&](const std::string& why) {
      r.warnings.push_back(fmt::format("'{}': feature {} {}", o.polygons, feature->GetFID(), why));
    };
    const OGRGeometry* g = feature->GetGeometryRef();
    const auto type = g != nullptr ? wkbFlatten(g->getGeometryType()) : wkbNone;
    if (type != wkbPolygon && type != wkbMultiPolygon) {
      skip(fmt::format("is a {}, not a polygon: left out",
                       g != nullptr ? g->getGeometryName() : "feature without geometry"));
      continue;
    }
    if (!feature->IsFieldSetAndNotNull(class_field)) {
      skip(fmt::format("has no {}: left out", o.class_field));
      continue;
    }
    Parcel p;
    p.fid = feature->GetFID();
    p.class_value = feature->GetFieldAsString(class_field);
    p.id = id_field >= 0 ? feature->GetFieldAsString(id_field) : std::to_string(p.fid);
    p.geometry.reset(g->clone());
    if (to_grid != nullptr && p.geometry->transform(to_grid.get()) != OGRERR_NONE) {
      skip("cannot be transformed to the images' CRS: left out");
      continue;
    }
    if (o.buffer_m > 0) {
      p.geometry.reset(p.geometry->Buffer(-o.buffer_m * units_per_metre));
      S2_CHECK(p.geometry != nullptr, "'{}': GDAL cannot buffer feature {}: {}", o.polygons, p.fid,
               CPLGetLastErrorMsg());
      if (p.geometry->IsEmpty()) {
        skip(fmt::format("is empty after the inward buffer of {} m: left out", o.buffer_m));
        continue;
      }
    }
    OGREnvelope e;
    p.geometry->getEnvelope(&e);
    if (!e.Intersects(extent)) {
      skip("lies outside the raster: left out");
      continue;
    }
    parcels.push_back(std::move(p));
  }
  S2_CHECK(!parcels.empty(), "no polygon of '{}' intersects the raster of '{}' ({} features read)",
           o.polygons, o.images, r.polygons_read);
  const std::map<int32_t, std::string> legend = resolve_classes(parcels, o.legend, o.polygons, r.warnings);
  S2_CHECK(std::any_of(parcels.begin(), parcels.end(), [](const Parcel& p) { return p.code != 0; }),
           "no polygon of '{}' has a class of the legend '{}' (attribute '{}')", o.polygons, o.legend,
           o.class_field);

  const auto [which, count] = burn(parcels, grid);
  std::vector<uint16_t> labels(which.size(), 0);
  std::vector<int32_t> parcel_of(which.size(), 0);
  std::map<int32_t, ClassCount> classes;
  for (size_t px = 0; px < which.size(); ++px) {
    if (count[px] > 1) ++r.overlap_pixels;  // claimed by two polygons: no single label
    if (count[px] != 1) continue;
    Parcel& p = parcels[static_cast<size_t>(which[px] - 1)];
    labels[px] = static_cast<uint16_t>(p.code);
    parcel_of[px] = which[px];
    ++p.pixels;
    ++r.labelled_pixels;
  }
  S2_CHECK(r.labelled_pixels > 0, "no polygon of '{}' covers a pixel centre of '{}'", o.polygons, o.images);
  std::string parcels_csv = "parcel,id,code,class,pixels\n";
  for (size_t i = 0; i < parcels.size(); ++i) {
    const Parcel& p = parcels[i];
    if (p.code == 0) continue;
    if (p.pixels == 0) {
      r.warnings.push_back(
          fmt::format("'{}': feature {} covers no pixel centre of its own", o.polygons, p.fid));
      continue;
    }
    ClassCount& c = classes[p.code];
    c.code = p.code;
    c.name = legend.at(p.code);
    ++c.parcels;
    c.pixels += p.pixels;
    ++r.parcels;
    parcels_csv +=
        fmt::format("{},{},{},{},{}\n", i + 1, csv_quote(p.id), p.code, csv_quote(c.name), p.pixels);
  }
  if (r.overlap_pixels > 0) {
    r.warnings.push_back(fmt::format("'{}': {} pixels lie in more than one polygon and stay unlabelled",
                                     o.polygons, r.overlap_pixels));
  }
  std::string legend_csv = "code,name,pixels\n";
  for (const auto& [code, c] : classes) {
    legend_csv += fmt::format("{},{},{}\n", code, csv_quote(c.name), c.pixels);
    r.classes.push_back(c);
  }
  fs::create_directories(o.output);
  const fs::path out(o.output);
  write_band_geotiff((out / "labels.tif").string(), grid, GDT_UInt16, labels.data(), 0,
                     "class code (legend.csv), 0 = unlabelled");
  write_band_geotiff((out / "parcels.tif").string(), grid, GDT_Int32, parcel_of.data(), 0,
                     "parcel (parcels.csv), 0 = none");
  write_file_atomic((out / "legend.csv").string(), legend_csv);
  write_file_atomic((out / "parcels.csv").string(), parcels_csv);
  if (!series.empty() && !fs::exists(out / "s2")) {
    fs::create_directory_symlink(fs::absolute(series), out / "s2");
  }
  return r;
}

}  // namespace s2::data
