// GeoTIFF time series: the shared Flanders data, temporal resampling, and every bad input a user's
// folder can have (missing band, mismatched grid, NaN, unknown label, corrupt file).
#include <doctest/doctest.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/gdal_util.h"
#include "data/raster_dataset.h"
#include "data/splits.h"
#include "data/temporal.h"
#include "framework/error.h"
#include "tests/temp_files.h"

using namespace s2;
using namespace s2::data;
namespace fs = std::filesystem;

namespace {
const std::string kFlanders2019 = S2_SHARED_DATA "/worldcereal/flanders-2019";

struct TifSpec {
  int width = 4, height = 3;
  std::vector<std::string> bands{"B04", "B08", "SCL"};
  double origin_x = 500000, pixel = 10;
  int epsg = 32631;
  float value = 1000, scl = 4;
  GDALDataType type = GDT_UInt16;
};

void write_tif(const fs::path& path, const TifSpec& s) {
  GDALAllRegister();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  GDALDataset* d =
      driver->Create(path.c_str(), s.width, s.height, static_cast<int>(s.bands.size()), s.type, nullptr);
  REQUIRE(d != nullptr);
  double transform[6] = {s.origin_x, s.pixel, 0, 5600000, 0, -s.pixel};
  d->SetGeoTransform(transform);
  OGRSpatialReference srs;
  srs.importFromEPSG(s.epsg);
  d->SetSpatialRef(&srs);
  std::vector<float> buffer(static_cast<size_t>(s.width * s.height));
  for (size_t b = 0; b < s.bands.size(); ++b) {
    GDALRasterBand* band = d->GetRasterBand(static_cast<int>(b) + 1);
    band->SetDescription(s.bands[b].c_str());
    std::fill(buffer.begin(), buffer.end(), s.bands[b] == "SCL" ? s.scl : s.value + static_cast<float>(b));
    CHECK(band->RasterIO(GF_Write, 0, 0, s.width, s.height, buffer.data(), s.width, s.height, GDT_Float32, 0,
                         0) == CE_None);
  }
  GDALClose(d);
}

// A fresh folder with s2/ dates, labels.tif (all pixels code 7) and legend.csv.
fs::path make_folder(const std::string& name, const std::vector<std::string>& dates,
                     const TifSpec& spec = {}) {
  const fs::path dir = s2::testing::temp_dir() / name;
  fs::remove_all(dir);
  fs::create_directories(dir / "s2");
  for (const auto& date : dates) write_tif(dir / "s2" / (date + ".tif"), spec);
  TifSpec labels = spec;
  labels.bands = {"label"};
  labels.value = 7;
  write_tif(dir / "labels.tif", labels);
  std::ofstream(dir / "legend.csv") << "code,name,pixels\n7,Maize,12\n";
  return dir;
}

SeriesOptions two_bands() {
  SeriesOptions o;
  o.bands = {"B04", "B08"};
  return o;
}
}  // namespace

TEST_CASE("the Flanders 2019 window reads as 72 dates of a 64x64 grid, with 7 classes in parcels") {
  const RasterSeries s = read_raster_series(kFlanders2019 + "/s2", SeriesOptions{});
  CHECK(s.acquisitions.size() == 72);
  CHECK(s.acquisitions.front().date == "2018-08-04");
  CHECK(s.grid.width == 64);
  CHECK(s.grid.transform[1] == doctest::Approx(10.0));
  CHECK(s.grid.crs_wkt.find("UTM zone 31N") != std::string::npos);
  int64_t clear = 0;
  for (uint8_t c : s.clear) clear += c;
  // Roughly half of the observations are usable, as the data README says.
  CHECK(clear > static_cast<int64_t>(s.clear.size()) / 4);
  CHECK(clear < static_cast<int64_t>(s.clear.size()) * 3 / 4);

  const LabelRaster labels = read_labels(kFlanders2019 + "/labels.tif", kFlanders2019 + "/legend.csv");
  CHECK(labels.legend.size() == 7);
  const auto parcels = parcel_ids(labels);
  std::set<int64_t> distinct(parcels.begin(), parcels.end());
  CHECK(distinct.size() > 10);
  for (size_t p = 0; p < parcels.size(); ++p) CHECK((parcels[p] == 0) == (labels.codes[p] == 0));

  RasterDatasetOptions o;
  o.classes = {"Maize", "Permanent grass crops"};
  const PixelDataset d = read_raster_dataset(kFlanders2019, o);
  CHECK(d.timesteps == 36);
  CHECK(d.class_counts() == std::vector<int64_t>{413, 1387});
}

TEST_CASE("interpolation of irregular cloudy series: linear inside, nearest at the edges") {
  const std::vector<int32_t> days{0, 10, 20, 40};
  const std::vector<float> values{1, 100, 3, 7};
  const std::vector<uint8_t> clear{1, 0, 1, 1};  // day 10 is cloudy and must be ignored
  const std::vector<int32_t> targets{-5, 0, 10, 30, 40, 50};
  std::vector<float> out(targets.size(), -1);
  CHECK(interpolate_series(days, values.data(), 1, clear.data(), 1, targets, out.data(), 1) == 3);
  CHECK(out == std::vector<float>{1, 1, 2, 5, 7, 7});
  const std::vector<uint8_t> none{0, 0, 0, 0};
  CHECK(interpolate_series(days, values.data(), 1, none.data(), 1, targets, out.data(), 1) == 0);
  CHECK(regular_days(0, 350, 36).back() == 350);
  CHECK(regular_days(0, 350, 36)[1] == 10);
}

TEST_CASE("grouped k-fold keeps every parcel on one side and tests each pixel once") {
  RasterDatasetOptions o;
  const PixelDataset d = read_raster_dataset(kFlanders2019, o);
  const auto folds = grouped_kfold(d.groups, d.labels, 3, 5);
  std::vector<int> tested(static_cast<size_t>(d.size()), 0);
  for (const auto& f : folds) {
    std::set<int64_t> train_groups;
    for (int64_t i : f.train) train_groups.insert(d.groups[static_cast<size_t>(i)]);
    for (int64_t i : f.held_out) {
      CHECK(train_groups.count(d.groups[static_cast<size_t>(i)]) == 0);
      ++tested[static_cast<size_t>(i)];
    }
  }
  CHECK(std::all_of(tested.begin(), tested.end(), [](int t) { return t == 1; }));
  const auto blocks = block_groups(d.xs, d.ys, 16);
  CHECK(std::set<int64_t>(blocks.begin(), blocks.end()).size() == 16);
}

TEST_CASE("raster bad inputs give errors that name the file and the problem") {
  const auto ok = make_folder("ok", {"2020-01-01", "2020-01-11"});
  CHECK(read_raster_series((ok / "s2").string(), two_bands()).acquisitions.size() == 2);

  SeriesOptions missing = two_bands();
  missing.bands = {"B04", "B11"};
  CHECK_THROWS_WITH_AS(read_raster_series((ok / "s2").string(), missing),
                       doctest::Contains("2020-01-01.tif': band 'B11' not found (bands: B04, B08, SCL)"),
                       Error);

  const auto grid = make_folder("grid", {"2020-01-01"});
  TifSpec shifted;
  shifted.origin_x = 500010;
  write_tif(grid / "s2" / "2020-01-11.tif", shifted);
  CHECK_THROWS_WITH_AS(read_raster_series((grid / "s2").string(), two_bands()),
                       doctest::Contains("2020-01-11.tif': grid does not match the first date"), Error);
  TifSpec smaller;
  smaller.width = 3;
  write_tif(grid / "s2" / "2020-01-11.tif", smaller);
  CHECK_THROWS_WITH_AS(read_raster_series((grid / "s2").string(), two_bands()),
                       doctest::Contains("size 3x3 differs from 4x3"), Error);
  TifSpec other_crs;
  other_crs.epsg = 32632;
  write_tif(grid / "s2" / "2020-01-11.tif", other_crs);
  CHECK_THROWS_WITH_AS(read_raster_series((grid / "s2").string(), two_bands()),
                       doctest::Contains("coordinate reference system differs"), Error);

  TifSpec nan;
  nan.type = GDT_Float32;
  nan.value = std::nanf("");
  const auto with_nan = make_folder("nan", {"2020-01-01"}, nan);
  CHECK_THROWS_WITH_AS(read_raster_series((with_nan / "s2").string(), two_bands()),
                       doctest::Contains("band B04 has a NaN value at pixel (0, 0)"), Error);

  const auto corrupt = make_folder("corrupt", {"2020-01-01"});
  std::ofstream(corrupt / "s2" / "2020-01-11.tif") << "not a tiff";
  CHECK_THROWS_WITH_AS(read_raster_series((corrupt / "s2").string(), two_bands()),
                       doctest::Contains("2020-01-11.tif' is not a readable raster"), Error);

  const auto unknown = make_folder("unknown", {"2020-01-01"});
  std::ofstream(unknown / "legend.csv") << "code,name\n8,Wheat\n";
  CHECK_THROWS_WITH_AS(read_labels((unknown / "labels.tif").string(), (unknown / "legend.csv").string()),
                       doctest::Contains("label code 7 at pixel (0, 0) is not in the legend"), Error);

  CHECK_THROWS_WITH_AS(list_acquisitions((ok / "nowhere").string()), doctest::Contains("does not exist"),
                       Error);
  const auto empty = make_folder("empty", {});
  CHECK_THROWS_WITH_AS(list_acquisitions((empty / "s2").string()),
                       doctest::Contains("holds no YYYY-MM-DD.tif"), Error);
  CHECK_THROWS_WITH_AS(parse_day("2020-02-30", "x"), doctest::Contains("not a valid calendar date"), Error);
}

TEST_CASE("cloud masking: masked SCL classes and nodata make an observation unusable") {
  TifSpec cloudy;
  cloudy.scl = 9;  // cloud, high probability
  const auto dir = make_folder("cloudy", {"2020-01-01"}, cloudy);
  TifSpec nodata;
  nodata.value = 0;
  write_tif(dir / "s2" / "2020-01-11.tif", nodata);
  write_tif(dir / "s2" / "2020-01-21.tif", TifSpec{});
  const RasterSeries s = read_raster_series((dir / "s2").string(), two_bands());
  const auto n = static_cast<size_t>(s.pixels());
  CHECK(std::count(s.clear.begin(), s.clear.begin() + static_cast<int64_t>(n), 1) == 0);  // cloudy
  CHECK(std::count(s.clear.begin() + static_cast<int64_t>(n), s.clear.begin() + static_cast<int64_t>(2 * n),
                   1) == 0);  // nodata
  CHECK(std::count(s.clear.begin() + static_cast<int64_t>(2 * n), s.clear.end(), 1) ==
        static_cast<int64_t>(n));

  // Values outside the valid range are defects: the pixel's date is not an observation. B04 reads 1000
  // and B08 1001 here; one band out of range is enough.
  SeriesOptions strict = two_bands();
  strict.valid_range.highest = 1000;
  const RasterSeries defective = read_raster_series((dir / "s2").string(), strict);
  CHECK(std::count(defective.clear.begin(), defective.clear.end(), 1) == 0);
  strict.valid_range = {.lowest = 1000, .highest = 1001};  // inclusive at both ends
  CHECK(read_raster_series((dir / "s2").string(), strict).clear == s.clear);
  strict.valid_range.lowest = 1000.5;
  const RasterSeries b04_low = read_raster_series((dir / "s2").string(), strict);
  CHECK(std::count(b04_low.clear.begin(), b04_low.clear.end(), 1) == 0);

  TifSpec all_cloud;
  all_cloud.scl = 8;
  const auto hopeless = make_folder("hopeless", {"2020-01-01", "2020-02-01"}, all_cloud);
  std::ofstream(hopeless / "legend.csv") << "code,name\n7,Maize\n8,Wheat\n";
  RasterDatasetOptions o;
  o.series = two_bands();
  o.timesteps = 4;
  o.classes = {"Maize", "Wheat"};
  CHECK_THROWS_WITH_AS(read_raster_dataset(hopeless.string(), o),
                       doctest::Contains("no labelled pixel with a clear observation"), Error);
  o.classes = {"Maize", "Rye"};
  CHECK_THROWS_WITH_AS(read_raster_dataset(hopeless.string(), o),
                       doctest::Contains("class 'Rye' from the config is not in its legend"), Error);
}

namespace {
// The ground distance between two points metres apart on the WGS84 ellipsoid, from its local radii of
// curvature (meridian M, prime vertical N): exact to far below a millimetre at this scale.
double metres_between(double lat1, double lon1, double lat2, double lon2) {
  const double rad = 3.14159265358979323846 / 180, a = 6378137.0, e2 = 0.00669437999014;
  const double s = std::sin((lat1 + lat2) / 2 * rad), w = 1 - e2 * s * s;
  const double m = a * (1 - e2) / std::pow(w, 1.5), n = a / std::sqrt(w);
  const double north = m * (lat2 - lat1) * rad,
               east = n * std::cos((lat1 + lat2) / 2 * rad) * (lon2 - lon1) * rad;
  return std::hypot(north, east);
}
}  // namespace

TEST_CASE("every raster pixel has its centre's WGS84 coordinates, for location-aware models") {
  const LabelRaster labels = read_labels(kFlanders2019 + "/labels.tif", kFlanders2019 + "/legend.csv");
  const Grid& grid = labels.grid;
  // Pixels (0, 0), (1, 0) and (0, 1): neighbours one pixel apart on the ground. The raster is projected
  // (UTM metres), so the distance is the pixel size times the projection's scale there (0.9996 on the
  // central meridian, at most about 1.001 at a zone's edge); a swapped axis order or a wrong datum would
  // not give that.
  const LatLon c = wgs84_pixel_centres(grid, {0, 1, 0}, {0, 0, 1}, "labels.tif");
  REQUIRE(c.lats.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(c.lats[i] > 50.6);  // Flanders
    CHECK(c.lats[i] < 51.6);
    CHECK(c.lons[i] > 2.5);
    CHECK(c.lons[i] < 5.95);
  }
  const double across =
      metres_between(c.lats[0], c.lons[0], c.lats[1], c.lons[1]) / std::abs(grid.transform[1]);
  const double down =
      metres_between(c.lats[0], c.lons[0], c.lats[2], c.lons[2]) / std::abs(grid.transform[5]);
  CHECK(across > 0.99955);
  CHECK(across < 1.0011);
  CHECK(down > 0.99955);
  CHECK(down < 1.0011);
  CHECK(c.lons[1] > c.lons[0]);  // east
  CHECK(c.lats[2] < c.lats[0]);  // south

  // A grid in WGS84 degrees itself: the centres come straight from the geotransform.
  OGRSpatialReference wgs84;
  wgs84.SetWellKnownGeogCS("WGS84");
  char* wkt = nullptr;
  wgs84.exportToWkt(&wkt);
  Grid geographic{4, 4, {10.0, 0.5, 0.0, 50.0, 0.0, -0.25}, wkt};
  CPLFree(wkt);
  const LatLon g = wgs84_pixel_centres(geographic, {2}, {3}, "grid");
  CHECK(g.lons == std::vector<double>{11.25});
  CHECK(g.lats == std::vector<double>{49.125});
  // Without a CRS there is nothing to say.
  CHECK(wgs84_pixel_centres(Grid{4, 4, {0, 1, 0, 0, 0, -1}, ""}, {0}, {0}, "grid").lats.empty());

  // The dataset of labelled pixels carries them, pixel by pixel.
  const PixelDataset d = read_raster_dataset(kFlanders2019, {});
  REQUIRE(d.lats.size() == static_cast<size_t>(d.size()));
  const LatLon first = wgs84_pixel_centres(grid, {d.xs[0]}, {d.ys[0]}, "labels.tif");
  CHECK(d.lats[0] == first.lats[0]);
  CHECK(d.lons[0] == first.lons[0]);
}
