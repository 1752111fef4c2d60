#include "experiments/maps/map_sample.h"

#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "data/csv.h"
#include "data/gdal_util.h"
#include "framework/atomic_file.h"
#include "framework/error.h"
#include "framework/random.h"

namespace s2::experiments {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

double parse_coordinate(const std::string& text, const std::string& path, size_t line, const char* column) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  S2_CHECK(used > 0 && used == text.size() && std::isfinite(v), "'{}' line {}: {} '{}' is not a number", path,
           line, column, text);
  return v;
}

std::vector<SamplePoint> read_csv_sample(const std::string& path, const std::string& reference_field) {
  std::ifstream in(path);
  S2_CHECK(in, "cannot open '{}'", path);
  std::string line;
  S2_CHECK(static_cast<bool>(std::getline(in, line)), "'{}' is empty: a sample needs a header line", path);
  const std::vector<std::string> header = data::csv_fields(line);
  const auto column = [&](const std::string& name) -> int64_t {
    for (size_t i = 0; i < header.size(); ++i) {
      if (lower(header[i]) == lower(name)) return static_cast<int64_t>(i);
    }
    return -1;
  };
  const int64_t x = column("x"), y = column("y"), ref = column(reference_field), id = column("id");
  S2_CHECK(x >= 0 && y >= 0 && ref >= 0, "'{}': the header needs columns x, y and {}; it has: {}", path,
           reference_field, line);
  std::vector<SamplePoint> points;
  for (size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    const std::vector<std::string> f = data::csv_fields(line);
    S2_CHECK(f.size() == header.size(), "'{}' line {}: {} fields, the header has {}", path, number, f.size(),
             header.size());
    SamplePoint p;
    p.id = id >= 0 ? static_cast<int64_t>(parse_coordinate(f[static_cast<size_t>(id)], path, number, "id"))
                   : static_cast<int64_t>(points.size() + 1);
    p.x = parse_coordinate(f[static_cast<size_t>(x)], path, number, "x");
    p.y = parse_coordinate(f[static_cast<size_t>(y)], path, number, "y");
    p.reference = f[static_cast<size_t>(ref)];
    points.push_back(p);
  }
  return points;
}

std::vector<SamplePoint> read_vector_sample(const std::string& path, const std::string& reference_field,
                                            const std::string& map_crs_wkt) {
  data::DatasetPtr d = data::open_vector(path);
  OGRLayer* layer = d->GetLayer(0);
  const int ref = data::require_field(*layer, reference_field, path, "field");
  const data::TransformPtr to_map = data::transform_to(layer->GetSpatialRef(), map_crs_wkt, path);
  std::vector<SamplePoint> points;
  for (auto& feature : *layer) {
    const OGRGeometry* g = feature->GetGeometryRef();
    S2_CHECK(g != nullptr && wkbFlatten(g->getGeometryType()) == wkbPoint,
             "'{}': feature {} is not a point (a sample is points)", path, feature->GetFID());
    SamplePoint p;
    p.id = feature->GetFID();
    p.x = g->toPoint()->getX();
    p.y = g->toPoint()->getY();
    S2_CHECK(to_map == nullptr || to_map->Transform(1, &p.x, &p.y),
             "'{}': point {} cannot be transformed to the map's CRS", path, p.id);
    p.reference = feature->IsFieldSetAndNotNull(ref) ? feature->GetFieldAsString(ref) : "";
    points.push_back(p);
  }
  return points;
}

// The pixel holding (x, y), or -1 outside the grid.
int64_t pixel_at(const data::Grid& grid, double x, double y) {
  std::array<double, 6> inverse{};
  std::array<double, 6> forward = grid.transform;
  if (!GDALInvGeoTransform(forward.data(), inverse.data())) return -1;
  const double col = inverse[0] + inverse[1] * x + inverse[2] * y;
  const double row = inverse[3] + inverse[4] * x + inverse[5] * y;
  if (!(col >= 0 && row >= 0 && col < static_cast<double>(grid.width) &&
        row < static_cast<double>(grid.height))) {
    return -1;
  }
  return static_cast<int64_t>(row) * grid.width + static_cast<int64_t>(col);
}

// The name of the map's class under a point of the sample (drawn points always have one).
std::string map_class_at(const data::ClassMap& map, const SamplePoint& p) {
  const int64_t pixel = pixel_at(map.grid, p.x, p.y);
  S2_CHECK(pixel >= 0 && map.classes[static_cast<size_t>(pixel)] != 0,
           "sample point {} lies on no mapped pixel", p.id);
  return map.class_names[map.classes[static_cast<size_t>(pixel)] - 1u];
}

void write_gpkg_sample(const std::string& path, const std::vector<SamplePoint>& points,
                       const data::ClassMap& map) {
  GDALAllRegister();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GPKG");
  S2_CHECK(driver != nullptr, "GDAL has no GeoPackage driver to write '{}'", path);
  // The temporary keeps the .gpkg ending the driver wants; the rename makes the file appear whole.
  const std::filesystem::path final_path(path);
  const std::string temp = (final_path.parent_path() /
                            (final_path.stem().string() + ".part-" + std::to_string(getpid()) + ".gpkg"))
                               .string();
  GDALDataset* d = driver->Create(temp.c_str(), 0, 0, 0, GDT_Unknown, nullptr);
  S2_CHECK(d != nullptr, "cannot create '{}': {}", temp, CPLGetLastErrorMsg());
  OGRSpatialReference srs;
  const bool has_crs =
      !map.grid.crs_wkt.empty() && srs.importFromWkt(map.grid.crs_wkt.c_str()) == OGRERR_NONE;
  OGRLayer* layer = d->CreateLayer("sample", has_crs ? &srs : nullptr, wkbPoint, nullptr);
  bool ok = layer != nullptr;
  for (const auto& [name, type] : {std::pair{"id", OFTInteger64}, std::pair{"map_class", OFTString},
                                   std::pair{"reference", OFTString}}) {
    OGRFieldDefn field(name, type);
    ok = ok && layer->CreateField(&field) == OGRERR_NONE;
  }
  ok = ok && d->StartTransaction() == OGRERR_NONE;
  for (size_t i = 0; ok && i < points.size(); ++i) {
    OGRFeature* f = OGRFeature::CreateFeature(layer->GetLayerDefn());
    f->SetField("id", static_cast<GIntBig>(points[i].id));
    f->SetField("map_class", map_class_at(map, points[i]).c_str());
    f->SetField("reference", "");
    OGRPoint point(points[i].x, points[i].y);
    f->SetGeometry(&point);
    ok = layer->CreateFeature(f) == OGRERR_NONE;
    OGRFeature::DestroyFeature(f);
  }
  ok = ok && d->CommitTransaction() == OGRERR_NONE;
  const std::string error = CPLGetLastErrorMsg();
  GDALClose(d);
  std::error_code ec;
  if (ok) std::filesystem::rename(temp, path, ec);
  if (!ok || ec) std::filesystem::remove(temp, ec);
  S2_CHECK(ok, "writing '{}' failed: {}", path, error);
  S2_CHECK(std::filesystem::exists(path), "cannot move '{}' to '{}'", temp, path);
}

}  // namespace

std::vector<double> stratum_pixels(const data::ClassMap& map) {
  std::vector<double> n(map.class_names.size(), 0.0);
  for (const uint8_t c : map.classes) {
    if (c != 0) n[c - 1u] += 1;
  }
  return n;
}

double pixel_area_ha(const data::Grid& grid, const std::string& path) {
  double metres_per_unit = 1;
  if (!grid.crs_wkt.empty()) {
    OGRSpatialReference srs;
    S2_CHECK(srs.importFromWkt(grid.crs_wkt.c_str()) == OGRERR_NONE, "'{}': its CRS is not valid WKT", path);
    S2_CHECK(!srs.IsGeographic(),
             "'{}' is in a geographic CRS ({}): areas in hectares need a projected CRS; warp the map to one "
             "(for example its UTM zone)",
             path, srs.GetName() != nullptr ? srs.GetName() : "degrees");
    metres_per_unit = srs.GetLinearUnits();
  }
  const auto& t = grid.transform;
  return std::fabs(t[1] * t[5] - t[2] * t[4]) * metres_per_unit * metres_per_unit / 10000.0;
}

std::vector<SamplePoint> draw_sample(const data::ClassMap& map, const SampleDesign& design, uint64_t seed) {
  const std::vector<double> sizes = stratum_pixels(map);
  S2_CHECK(design.per_stratum.size() == sizes.size(), "the sample design has {} strata, the map {} classes",
           design.per_stratum.size(), sizes.size());
  Generator rng(seed);
  // Per stratum, the ranks (0 .. N_h - 1, in row order) of the chosen pixels: Floyd's algorithm picks
  // n_h distinct ranks with n_h draws, without a list of the stratum's pixels.
  std::vector<std::vector<int64_t>> ranks(sizes.size());
  for (size_t h = 0; h < sizes.size(); ++h) {
    const auto n = static_cast<int64_t>(sizes[h]);
    const int64_t want = design.per_stratum[h];
    S2_CHECK(want <= n, "stratum '{}' has {} pixels, fewer than the {} points asked for", map.class_names[h],
             n, want);
    std::set<int64_t> chosen;
    for (int64_t j = n - want; j < n; ++j) {
      const auto t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(j + 1)));
      chosen.insert(chosen.count(t) ? j : t);
    }
    ranks[h].assign(chosen.begin(), chosen.end());
  }
  std::vector<SamplePoint> points;
  std::vector<size_t> next(sizes.size(), 0);
  std::vector<int64_t> seen(sizes.size(), 0);
  const auto& t = map.grid.transform;
  for (size_t p = 0; p < map.classes.size(); ++p) {
    if (map.classes[p] == 0) continue;
    const size_t h = map.classes[p] - 1u;
    if (next[h] < ranks[h].size() && ranks[h][next[h]] == seen[h]) {
      const double col = static_cast<double>(static_cast<int64_t>(p) % map.grid.width) + 0.5;
      const double row = static_cast<double>(static_cast<int64_t>(p) / map.grid.width) + 0.5;
      points.push_back({static_cast<int64_t>(points.size() + 1), t[0] + col * t[1] + row * t[2],
                        t[3] + col * t[4] + row * t[5], ""});
      ++next[h];
    }
    ++seen[h];
  }
  return points;
}

void write_sample(const std::string& path, const std::vector<SamplePoint>& points,
                  const data::ClassMap& map) {
  if (lower(std::filesystem::path(path).extension().string()) == ".gpkg") {
    write_gpkg_sample(path, points, map);
    return;
  }
  std::string csv = "id,x,y,map_class,reference\n";
  for (const SamplePoint& p : points) {
    csv += fmt::format("{},{},{},{},{}\n", p.id, p.x, p.y, data::csv_quote(map_class_at(map, p)),
                       data::csv_quote(p.reference));
  }
  write_file_atomic(path, csv);
}

std::vector<SamplePoint> read_sample(const std::string& path, const std::string& reference_field,
                                     const std::string& map_crs_wkt) {
  S2_CHECK(std::filesystem::exists(path), "'{}' does not exist", path);
  std::vector<SamplePoint> points = lower(std::filesystem::path(path).extension().string()) == ".csv"
                                        ? read_csv_sample(path, reference_field)
                                        : read_vector_sample(path, reference_field, map_crs_wkt);
  S2_CHECK(!points.empty(), "'{}' holds no sample point", path);
  return points;
}

StratifiedSample stratified_sample(const data::ClassMap& map, const std::string& map_path,
                                   const std::vector<SamplePoint>& points, const std::string& sample_path) {
  const size_t k = map.class_names.size();
  StratifiedSample s{map.class_names, stratum_pixels(map), std::vector<int64_t>(k * k, 0),
                     pixel_area_ha(map.grid, map_path)};
  for (const SamplePoint& p : points) {
    const int64_t pixel = pixel_at(map.grid, p.x, p.y);
    S2_CHECK(pixel >= 0, "'{}': point {} at ({}, {}) lies outside the map '{}'", sample_path, p.id, p.x, p.y,
             map_path);
    const uint8_t stratum = map.classes[static_cast<size_t>(pixel)];
    S2_CHECK(stratum != 0, "'{}': point {} at ({}, {}) lies on a no-data pixel of '{}', so in no stratum",
             sample_path, p.id, p.x, p.y, map_path);
    S2_CHECK(!p.reference.empty(), "'{}': point {} has no reference class; label every point first",
             sample_path, p.id);
    const auto it = std::find(map.class_names.begin(), map.class_names.end(), p.reference);
    if (it == map.class_names.end()) {
      std::string names;
      for (const auto& n : map.class_names) names += (names.empty() ? "" : ", ") + n;
      S2_CHECK(false,
               "'{}': point {} has reference class '{}', which the map does not have (its classes: {})",
               sample_path, p.id, p.reference, names);
    }
    ++s.counts[(stratum - 1u) * k + static_cast<size_t>(it - map.class_names.begin())];
  }
  return s;
}

}  // namespace s2::experiments
