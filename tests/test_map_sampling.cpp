// Stratified validation samples of a class map and the area estimates they give: drawing by design,
// the CSV and GeoPackage round trip (reprojected), the error matrix of labelled points, the binaries
// `sample` and `evaluate_map --sample`, and the errors that name the file.
#include <doctest/doctest.h>
#include <gdal_priv.h>
#include <gdal_utils.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "data/map_writer.h"
#include "data/raster_series.h"
#include "experiments/maps/map_sample.h"
#include "framework/atomic_file.h"
#include "framework/error.h"
#include "tests/run_binary.h"
#include "tests/temp_files.h"

using namespace s2;
using namespace s2::experiments;
namespace fs = std::filesystem;

namespace {

const std::string kFlanders = S2_SHARED_DATA "/worldcereal/flanders-2019";

// The Flanders 2019 labels written as a class map (a perfect map of the labelled pixels), once.
const std::string& label_map() {
  static const std::string path = [] {
    const data::LabelRaster labels = data::read_labels(kFlanders + "/labels.tif", kFlanders + "/legend.csv");
    std::vector<std::string> names;
    std::map<int32_t, uint8_t> class_of;
    for (const auto& [code, name] : labels.legend) {
      if (std::count(labels.codes.begin(), labels.codes.end(), code) > 0) {
        names.push_back(name);
        class_of[code] = static_cast<uint8_t>(names.size());
      }
    }
    std::vector<uint8_t> classes(labels.codes.size(), 0);
    for (size_t p = 0; p < classes.size(); ++p)
      classes[p] = labels.codes[p] != 0 ? class_of.at(labels.codes[p]) : 0;
    const std::string out = s2::testing::temp_path("label-map.tif");
    data::MapWriter writer(data::map_paths(out, false), labels.grid, names);
    writer.write({0, 0, labels.grid.width, labels.grid.height}, classes,
                 std::vector<float>(classes.size() * data::kUncertaintyLayers, -1.0f), {});
    writer.commit();
    return out;
  }();
  return path;
}

int64_t pixel_of(const data::ClassMap& map, const SamplePoint& p) {
  const auto& t = map.grid.transform;  // north-up
  return static_cast<int64_t>((p.y - t[3]) / t[5]) * map.grid.width +
         static_cast<int64_t>((p.x - t[0]) / t[1]);
}

// Labels every point with its map class, except every second point of `from`, labelled `to`.
std::vector<SamplePoint> labelled(std::vector<SamplePoint> points, const data::ClassMap& map,
                                  const std::string& from, const std::string& to) {
  for (SamplePoint& p : points) {
    p.reference = map.class_names[map.classes[static_cast<size_t>(pixel_of(map, p))] - 1u];
    if (p.reference == from && p.id % 2 == 0) p.reference = to;
  }
  return points;
}

std::string csv_of(const std::vector<SamplePoint>& points) {
  std::string csv = "id,x,y,reference\n";
  for (const SamplePoint& p : points) csv += fmt::format("{},{},{},{}\n", p.id, p.x, p.y, p.reference);
  return csv;
}

}  // namespace

TEST_CASE("a stratified sample follows its design: the right number of distinct pixels of each class") {
  const data::ClassMap map = data::read_class_map(label_map());
  const std::vector<double> sizes = stratum_pixels(map);
  const SampleDesign design = design_sample(sizes, std::vector<double>(sizes.size(), 0.8), 0.02, 20);
  const std::vector<SamplePoint> points = draw_sample(map, design, 3);
  CHECK(static_cast<int64_t>(points.size()) == design.total());
  std::vector<int64_t> per_class(sizes.size(), 0);
  std::set<int64_t> pixels;
  for (const SamplePoint& p : points) {
    const int64_t pixel = pixel_of(map, p);
    REQUIRE(map.classes[static_cast<size_t>(pixel)] != 0);
    ++per_class[map.classes[static_cast<size_t>(pixel)] - 1u];
    pixels.insert(pixel);
    // Each point sits at its pixel's centre.
    CHECK(p.x == doctest::Approx(map.grid.transform[0] + (static_cast<double>(pixel % 64) + 0.5) * 10));
  }
  CHECK(per_class == design.per_stratum);
  CHECK(pixels.size() == points.size());
  // The smallest classes are raised to the minimum or, when smaller, sampled whole.
  for (size_t k = 0; k < sizes.size(); ++k)
    CHECK(design.per_stratum[k] ==
          std::min<int64_t>(std::max<int64_t>(design.per_stratum[k], 20), static_cast<int64_t>(sizes[k])));
  // A seed gives the same points; another seed others.
  const auto same = draw_sample(map, design, 3), other = draw_sample(map, design, 4);
  CHECK(std::equal(points.begin(), points.end(), same.begin(),
                   [](const SamplePoint& a, const SamplePoint& b) { return a.x == b.x && a.y == b.y; }));
  CHECK_FALSE(
      std::equal(points.begin(), points.end(), other.begin(),
                 [](const SamplePoint& a, const SamplePoint& b) { return a.x == b.x && a.y == b.y; }));
}

TEST_CASE("labelled points give the error matrix, from CSV and from a reprojected GeoPackage alike") {
  const data::ClassMap map = data::read_class_map(label_map());
  const std::vector<double> sizes = stratum_pixels(map);
  const SampleDesign design = design_sample(sizes, std::vector<double>(sizes.size(), 0.8), 0.03, 10);
  const std::vector<SamplePoint> drawn = draw_sample(map, design, 7);
  const std::string from = "Winter wheat", to = "Winter barley";
  const std::vector<SamplePoint> points = labelled(drawn, map, from, to);
  const std::string csv = s2::testing::temp_path("labelled.csv");
  s2::write_file_atomic(csv, csv_of(points));
  const StratifiedSample s =
      stratified_sample(map, label_map(), read_sample(csv, "reference", map.grid.crs_wkt), csv);
  const size_t k = map.class_names.size();
  const auto index = [&](const std::string& name) {
    return static_cast<size_t>(std::find(map.class_names.begin(), map.class_names.end(), name) -
                               map.class_names.begin());
  };
  const size_t f = index(from), t = index(to);
  int64_t flipped = 0;
  for (const SamplePoint& p : points)
    flipped += p.reference == to && map.classes[static_cast<size_t>(pixel_of(map, p))] - 1u == f;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) {
      const int64_t expected = i == f ? (j == f   ? design.per_stratum[f] - flipped
                                         : j == t ? flipped
                                                  : 0)
                                      : (i == j ? design.per_stratum[i] : 0);
      CHECK(s.counts[i * k + j] == expected);
    }
  }
  CHECK(s.pixel_area_ha == doctest::Approx(0.01));  // 10 m pixels
  // The estimated area of the class the labels moved pixels into: its own plus that share of `from`.
  const AreaEstimates e = estimate_areas(s, csv);
  const double share = static_cast<double>(flipped) / static_cast<double>(design.per_stratum[f]);
  CHECK(e.area_ha[t].value == doctest::Approx((sizes[t] + share * sizes[f]) * 0.01).epsilon(1e-12));
  CHECK(e.users[f].value == doctest::Approx(1 - share));

  // The same points through a GeoPackage, reprojected to longitude/latitude as a user's GIS might.
  const std::string gpkg = s2::testing::temp_path("drawn.gpkg"),
                    wgs84 = s2::testing::temp_path("wgs84.geojson");
  write_sample(gpkg, drawn, map);
  {
    std::unique_ptr<GDALDataset> d(GDALDataset::Open(gpkg.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE));
    REQUIRE(d != nullptr);
    OGRLayer* layer = d->GetLayer(0);
    for (auto& feature : *layer) {
      feature->SetField(
          "reference", points[static_cast<size_t>(feature->GetFieldAsInteger64("id") - 1)].reference.c_str());
      REQUIRE(layer->SetFeature(feature.get()) == OGRERR_NONE);
    }
    const char* args[] = {"-t_srs", "EPSG:4326", "-f", "GeoJSON", nullptr};
    GDALVectorTranslateOptions* options = GDALVectorTranslateOptionsNew(const_cast<char**>(args), nullptr);
    GDALDatasetH source = d.get();
    GDALDatasetH out = GDALVectorTranslate(wgs84.c_str(), nullptr, 1, &source, options, nullptr);
    GDALVectorTranslateOptionsFree(options);
    REQUIRE(out != nullptr);
    GDALClose(out);
  }
  const StratifiedSample g =
      stratified_sample(map, label_map(), read_sample(wgs84, "reference", map.grid.crs_wkt), wgs84);
  CHECK(g.counts == s.counts);
  CHECK_THROWS_WITH_AS(read_sample(wgs84, "truth", map.grid.crs_wkt),
                       doctest::Contains("has no field 'truth' (its fields: id, map_class, reference)"),
                       s2::Error);
}

TEST_CASE("bad samples: errors name the file, the point and the problem") {
  const data::ClassMap map = data::read_class_map(label_map());
  const std::vector<double> sizes = stratum_pixels(map);
  const SampleDesign design = design_sample(sizes, std::vector<double>(sizes.size(), 0.8), 0.03, 10);
  std::vector<SamplePoint> points = labelled(draw_sample(map, design, 7), map, "", "");
  const std::string csv = s2::testing::temp_path("bad.csv");
  const auto error = [&](const std::vector<SamplePoint>& ps) {
    s2::write_file_atomic(csv, csv_of(ps));
    try {
      const StratifiedSample s = stratified_sample(map, label_map(), read_sample(csv, "reference", ""), csv);
      estimate_areas(s, csv);
    } catch (const s2::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto outside = points;
  outside[3].x -= 1000;
  CHECK(error(outside).find(csv + "': point 4 at (") != std::string::npos);
  CHECK(error(outside).find("lies outside the map") != std::string::npos);
  auto unknown = points;
  unknown[0].reference = "Rice";
  CHECK(error(unknown).find("point 1 has reference class 'Rice', which the map does not have") !=
        std::string::npos);
  auto unlabelled = points;
  unlabelled[1].reference = "";
  CHECK(error(unlabelled).find("point 2 has no reference class") != std::string::npos);
  // A stratum left without points: its area cannot be estimated.
  std::vector<SamplePoint> no_potatoes;
  for (const SamplePoint& p : points) {
    if (p.reference != "Potatoes") no_potatoes.push_back(p);
  }
  CHECK(error(no_potatoes).find("stratum 'Potatoes' (27 mapped pixels) has 0 sample points") !=
        std::string::npos);
  s2::write_file_atomic(csv, "id,lon,lat,reference\n1,4.5,50.9,Maize\n");
  CHECK_THROWS_WITH(read_sample(csv, "reference", ""),
                    doctest::Contains("the header needs columns x, y and reference"));
  s2::write_file_atomic(csv, "x,y,reference\n600000,abc,Maize\n");
  CHECK_THROWS_WITH(read_sample(csv, "reference", ""), doctest::Contains("line 2: y 'abc' is not a number"));
  // Areas in hectares need metres, not degrees.
  data::Grid geographic = map.grid;
  OGRSpatialReference wgs84;
  wgs84.importFromEPSG(4326);
  char* wkt = nullptr;
  wgs84.exportToWkt(&wkt);
  geographic.crs_wkt = wkt;
  CPLFree(wkt);
  CHECK_THROWS_WITH(pixel_area_ha(geographic, "map.tif"),
                    doctest::Contains("'map.tif' is in a geographic CRS"));
}

TEST_CASE("the sample and evaluate_map --sample binaries: a design, points to label, area estimates") {
  const std::string bin = S2_BINARY_DIR, dir = s2::testing::temp_path("cli");
  fs::create_directories(dir);
  const auto drawn = s2::testing::run(dir, bin + "/sample --map " + label_map() +
                                               " --out points.csv --target-se 0.03 --min-per-stratum 10 "
                                               "--users-accuracy Maize=0.9,Potatoes=0.6 --seed 5");
  INFO(drawn.output);
  REQUIRE(drawn.exit_code == 0);
  CHECK(drawn.output.find("Olofsson et al. 2014 eq. 13:") != std::string::npos);
  const data::ClassMap map = data::read_class_map(label_map());
  std::vector<SamplePoint> points = read_sample(dir + "/points.csv", "reference", "");
  const std::string unlabelled = s2::read_file(dir + "/points.csv");
  CHECK(unlabelled.starts_with("id,x,y,map_class,reference\n"));
  const auto missing =
      s2::testing::run(dir, bin + "/evaluate_map --map " + label_map() + " --sample points.csv --out eval");
  CHECK(missing.exit_code != 0);
  CHECK(missing.output.find("point 1 has no reference class") != std::string::npos);
  s2::write_file_atomic(dir + "/points.csv", csv_of(labelled(points, map, "Maize", "Permanent grass crops")));
  const auto evaluated =
      s2::testing::run(dir, bin + "/evaluate_map --map " + label_map() + " --sample points.csv --out eval");
  INFO(evaluated.output);
  REQUIRE(evaluated.exit_code == 0);
  const std::string table = s2::read_file(dir + "/eval/area-from-sample.csv");
  CHECK(table.find("Winter wheat,") != std::string::npos);
  CHECK(table.find("overall,") != std::string::npos);
  CHECK(s2::read_file(dir + "/eval/area-from-sample.md").find("| Maize |") != std::string::npos);
  const auto bad =
      s2::testing::run(dir, bin + "/sample --map " + label_map() + " --out p.csv --users-accuracy Rice=0.9");
  CHECK(bad.output.find("the map has no class 'Rice'") != std::string::npos);
}
