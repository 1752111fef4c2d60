// prepare's polygons-to-labels path against the shared Flanders labels: the label raster polygonised
// by GDAL and prepared back gives the same labels (also through another CRS), the inward buffer removes
// exactly the edge pixels, the folder loads as a raster_series dataset with one group per polygon, and
// bad polygons give warnings or errors that name the file.
#include <doctest/doctest.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <gdal_utils.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "data/polygon_labels.h"
#include "data/raster_dataset.h"
#include "data/raster_series.h"
#include "framework/atomic_file.h"
#include "framework/error.h"
#include "tests/temp_files.h"

using namespace s2;
namespace fs = std::filesystem;

namespace {

const std::string kFlanders = S2_SHARED_DATA "/worldcereal/flanders-2019";

data::LabelRaster flanders_labels() {
  return data::read_labels(kFlanders + "/labels.tif", kFlanders + "/legend.csv");
}

// labels.tif as polygons (GDAL's polygoniser: one polygon per 4-connected region of one code), with
// the code in attribute `code`, as a GeoPackage in the raster's CRS; once.
const std::string& polygonised() {
  static const std::string path = [] {
    GDALAllRegister();
    const std::string out = s2::testing::temp_path("parcels.gpkg");
    std::unique_ptr<GDALDataset> raster(
        GDALDataset::Open((kFlanders + "/labels.tif").c_str(), GDAL_OF_RASTER));
    REQUIRE(raster != nullptr);
    GDALDriver* gpkg = GetGDALDriverManager()->GetDriverByName("GPKG");
    std::unique_ptr<GDALDataset> vector(gpkg->Create(out.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    REQUIRE(vector != nullptr);
    OGRSpatialReference srs(*raster->GetSpatialRef());
    OGRLayer* layer = vector->CreateLayer("parcels", &srs, wkbPolygon, nullptr);
    OGRFieldDefn code("code", OFTInteger);
    REQUIRE(layer->CreateField(&code) == OGRERR_NONE);
    GDALRasterBand* band = raster->GetRasterBand(1);  // also the mask: code 0 is no polygon
    REQUIRE(GDALPolygonize(band, band, OGRLayer::ToHandle(layer), 0, nullptr, nullptr, nullptr) == CE_None);
    return out;
  }();
  return path;
}

data::PolygonLabelOptions options(const std::string& polygons, const std::string& name, double buffer = 0) {
  data::PolygonLabelOptions o;
  o.polygons = polygons;
  o.class_field = "code";
  o.legend = kFlanders + "/legend.csv";
  o.images = kFlanders;
  o.output = s2::testing::temp_path(name);
  o.buffer_m = buffer;
  return o;
}

data::LabelRaster prepared_labels(const data::PolygonLabelOptions& o) {
  return data::read_labels(o.output + "/labels.tif", o.output + "/legend.csv");
}

std::string translate(const std::string& source, const std::string& out, std::vector<const char*> args) {
  args.push_back(nullptr);
  std::unique_ptr<GDALDataset> in(GDALDataset::Open(source.c_str(), GDAL_OF_VECTOR));
  GDALVectorTranslateOptions* o = GDALVectorTranslateOptionsNew(const_cast<char**>(args.data()), nullptr);
  GDALDatasetH handle = in.get();
  GDALDatasetH result = GDALVectorTranslate(out.c_str(), nullptr, 1, &handle, o, nullptr);
  GDALVectorTranslateOptionsFree(o);
  REQUIRE(result != nullptr);
  GDALClose(result);
  return out;
}

}  // namespace

TEST_CASE("polygonised labels prepared back give the same labels, in the raster's CRS or another") {
  const data::LabelRaster original = flanders_labels();
  for (const auto& [polygons, name] :
       {std::pair{polygonised(), std::string("same-crs")},
        std::pair{translate(polygonised(), s2::testing::temp_path("wgs84.geojson"),
                            {"-t_srs", "EPSG:4326", "-f", "GeoJSON"}),
                  std::string("wgs84")}}) {
    CAPTURE(name);
    const data::PolygonLabelOptions o = options(polygons, name);
    const data::PolygonLabelReport r = data::rasterise_polygon_labels(o);
    const data::LabelRaster back = prepared_labels(o);
    CHECK(back.grid.difference(original.grid).empty());
    CHECK(back.codes == original.codes);
    CHECK(r.warnings.empty());
    CHECK(r.overlap_pixels == 0);
    int64_t labelled = 0;
    for (const int32_t c : original.codes) labelled += c != 0;
    CHECK(r.labelled_pixels == labelled);
    for (const data::ClassCount& c : r.classes) {
      CHECK(back.legend.at(c.code) == original.legend.at(c.code));
      CHECK(c.pixels == std::count(original.codes.begin(), original.codes.end(), c.code));
    }
    // One parcel per polygon: the connected regions of the original.
    const std::vector<int64_t> parcels = data::read_parcels(o.output, back);
    const std::vector<int64_t> regions = data::parcel_ids(original);
    CHECK(std::set<int64_t>(parcels.begin(), parcels.end()).size() ==
          std::set<int64_t>(regions.begin(), regions.end()).size());
    CHECK(r.parcels == static_cast<int64_t>(std::set<int64_t>(regions.begin(), regions.end()).size()) - 1);
  }
}

TEST_CASE("the inward buffer removes exactly the pixels within its distance of a parcel's edge") {
  const data::LabelRaster original = flanders_labels();
  const data::PolygonLabelOptions o = options(polygonised(), "buffered", 10);
  data::rasterise_polygon_labels(o);
  const data::LabelRaster back = prepared_labels(o);
  const int64_t w = original.grid.width, h = original.grid.height;
  int64_t kept = 0, removed = 0;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const int32_t code = original.codes[static_cast<size_t>(y * w + x)];
      if (code == 0) continue;
      // A 10 m pixel's centre is 5 m from its edges and 7.1 m from its corners, 15 m or more from any
      // edge of its 3 x 3 block: it survives 10 m exactly when its 8 neighbours are of its region.
      bool interior = x > 0 && y > 0 && x < w - 1 && y < h - 1;
      for (int64_t dy = -1; interior && dy <= 1; ++dy) {
        for (int64_t dx = -1; interior && dx <= 1; ++dx)
          interior = original.codes[static_cast<size_t>((y + dy) * w + x + dx)] == code;
      }
      const int32_t got = back.codes[static_cast<size_t>(y * w + x)];
      CHECK(got == (interior ? code : 0));
      kept += interior;
      removed += !interior;
    }
  }
  MESSAGE("10 m inward buffer: " << kept << " pixels kept, " << removed << " edge pixels removed");
  CHECK(kept > 0);
  CHECK(removed > 0);
}

TEST_CASE("a prepared folder is a raster_series dataset with a group per polygon") {
  const data::PolygonLabelOptions o = options(polygonised(), "dataset");
  const data::PolygonLabelReport r = data::rasterise_polygon_labels(o);
  CHECK(fs::is_symlink(o.output + "/s2"));
  data::RasterDatasetOptions d;
  d.timesteps = 12;
  const data::PixelDataset prepared = data::read_raster_dataset(o.output, d);
  const data::PixelDataset direct = data::read_raster_dataset(kFlanders, d);
  CHECK(prepared.values == direct.values);
  CHECK(prepared.labels == direct.labels);
  CHECK(prepared.class_names == direct.class_names);
  CHECK(static_cast<int64_t>(std::set<int64_t>(prepared.groups.begin(), prepared.groups.end()).size()) <=
        r.parcels);
  const std::string table = s2::read_file(o.output + "/parcels.csv");
  CHECK(table.starts_with("parcel,id,code,class,pixels\n"));
}

TEST_CASE("bad polygons: warnings for what is left out, errors that name the file") {
  const data::Grid grid = flanders_labels().grid;
  const double x0 = grid.transform[0], y0 = grid.transform[3];
  const auto square = [](double x, double y, double side) {
    return fmt::format("[[[{0},{1}],[{2},{1}],[{2},{3}],[{0},{3}],[{0},{1}]]]", x, y, x + side, y - side);
  };
  const auto feature = [](const std::string& props, const std::string& rings) {
    return fmt::format(
        R"({{"type":"Feature","properties":{{{}}},"geometry":{{"type":"Polygon","coordinates":{}}}}})", props,
        rings);
  };
  const std::string crs = R"("crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32631"}})";
  const std::string path = s2::testing::temp_path("bad.geojson");
  s2::write_file_atomic(path, fmt::format(R"({{"type":"FeatureCollection",{},"features":[{},{},{},{}]}})",
                                          crs, feature(R"("code":1200)", square(x0 + 100, y0 - 100, 200)),
                                          feature(R"("code":1200)", square(x0 + 50000, y0, 100)),
                                          feature(R"("code":1200)", square(x0 + 400, y0 - 400, 12)),
                                          feature(R"("code":9999)", square(x0 + 400, y0 - 100, 100))));
  data::PolygonLabelOptions o = options(path, "bad", 8);
  const data::PolygonLabelReport r = data::rasterise_polygon_labels(o);
  REQUIRE(r.warnings.size() == 3);
  CHECK(r.warnings[0] == "'" + path + "': feature 1 lies outside the raster: left out");
  CHECK(r.warnings[1] == "'" + path + "': feature 2 is empty after the inward buffer of 8 m: left out");
  CHECK(r.warnings[2].find("feature 3 has class '9999', which is not in the legend") != std::string::npos);
  CHECK(r.parcels == 1);
  CHECK(r.labelled_pixels == 18 * 18);  // 200 m less 8 m on each side: centres from 10 m to 190 m in

  o.class_field = "crop";
  CHECK_THROWS_WITH_AS(data::rasterise_polygon_labels(o),
                       doctest::Contains("layer 'bad' has no attribute 'crop' (its attributes: code)"),
                       s2::Error);
  s2::write_file_atomic(path, fmt::format(R"({{"type":"FeatureCollection",{},"features":[{}]}})", crs,
                                          feature(R"("code":1200)", square(x0 + 50000, y0, 100))));
  o = options(path, "outside");
  o.legend.clear();
  CHECK_THROWS_WITH_AS(data::rasterise_polygon_labels(o),
                       doctest::Contains(("no polygon of '" + path + "' intersects the raster").c_str()),
                       s2::Error);
  s2::write_file_atomic(path, fmt::format(R"({{"type":"FeatureCollection",{},"features":[{}]}})", crs,
                                          feature(R"("code":9999)", square(x0 + 100, y0 - 100, 100))));
  CHECK_THROWS_WITH_AS(data::rasterise_polygon_labels(options(path, "unknown")),
                       doctest::Contains("has a class of the legend"), s2::Error);
  // An engineering CRS that GDAL cannot relate to the images' UTM zone.
  const std::string local = s2::testing::temp_path("local.gpkg");
  {
    GDALDriver* gpkg = GetGDALDriverManager()->GetDriverByName("GPKG");
    std::unique_ptr<GDALDataset> d(gpkg->Create(local.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    OGRSpatialReference srs;
    REQUIRE(
        srs.importFromWkt(
            R"(LOCAL_CS["site grid",LOCAL_DATUM["site",32767],UNIT["metre",1],AXIS["x",EAST],AXIS["y",NORTH]])") ==
        OGRERR_NONE);
    OGRLayer* layer = d->CreateLayer("fields", &srs, wkbPolygon, nullptr);
    OGRFieldDefn code("code", OFTInteger);
    REQUIRE(layer->CreateField(&code) == OGRERR_NONE);
  }
  CHECK_THROWS_WITH_AS(
      data::rasterise_polygon_labels(options(local, "local")),
      doctest::Contains(("'" + local + "': GDAL cannot transform its CRS (site grid)").c_str()), s2::Error);
}
