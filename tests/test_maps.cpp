// Crop maps from the shared Flanders rasters: a briefly trained checkpoint mapped block by block,
// checked against the array path, for georeferencing, cloud-only pixels, bad inputs and interruption,
// and evaluated against the label raster.
#include <doctest/doctest.h>
#include <gdal_priv.h>
#include <gdal_utils.h>

#include <array>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <set>

#include "data/gdal_util.h"
#include "data/map_writer.h"
#include "data/raster_series.h"
#include "experiments/maps/map_evaluation.h"
#include "experiments/maps/map_prediction.h"
#include "experiments/maps/map_progress.h"
#include "experiments/maps/map_smoothing.h"
#include "experiments/training/experiment.h"
#include "experiments/training/saved_model.h"
#include "framework/atomic_file.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "kernels/rounding_bound.h"
#include "tests/temp_files.h"

using namespace s2;
using namespace s2::experiments;
namespace fs = std::filesystem;

namespace {

const std::string kFlanders = S2_SHARED_DATA "/worldcereal/flanders-2019";

std::string scratch(const std::string& name) {
  return s2::testing::temp_path("maps-" + name);
}

// A tiny CBAM net trained for 8 epochs (enough to map more than one class) on Flanders 2019 (fold 1 of a
// parcel split), saved once.
const std::string& checkpoint() {
  static const std::string path = [] {
    ExperimentConfig c = load_config(s2::testing::write_temp(
        "maps-flanders.toml",
        "[data]\nformat = \"raster_series\"\nroot = \"" S2_SHARED_DATA
        "\"\ntrain = \"worldcereal/flanders-2019\"\ntimesteps = 12\nmin_class_parcels = 3\n"
        "[split]\nkind = \"grouped_kfold\"\nfolds = 2\nvalidation_fraction = 0\nmax_pixels_per_parcel = 20\n"
        "[model]\nkind = \"cbam\"\nstem_width = 8\nstage_widths = [8, 16]\nreduction = 4\nbn_momentum = 0.1\n"
        "[train]\nepochs = 8\nbatch_size = 16\n"));
    c.train.verbose = false;
    const RunResult run = run_experiment(c, load_data(c), 5);
    const std::string out = scratch("model.ckpt");
    save_checkpoint(out, run.folds[0].checkpoint);
    return out;
  }();
  return path;
}

MapOptions options(const std::string& input, const std::string& name, int64_t block = 24) {
  MapOptions o;
  o.input = input;
  o.output = scratch(name + ".tif");
  o.block_size = block;
  o.progress = false;
  return o;
}

// A writable copy of the 2019 series (s2/ only) for tests that damage it.
std::string copy_series(const std::string& name) {
  const fs::path dir = scratch(name);
  fs::remove_all(dir);
  fs::create_directories(dir / "s2");
  for (const auto& e : fs::directory_iterator(fs::path(kFlanders) / "s2")) {
    fs::copy_file(e.path(), dir / "s2" / e.path().filename());
  }
  return dir.string();
}

std::vector<std::string> dates_of(const std::string& folder) {
  std::vector<std::string> paths;
  for (const auto& a : data::list_acquisitions(fs::path(folder) / "s2")) paths.push_back(a.path);
  return paths;
}

// Files whose names start with the output's stem (final or partial).
std::vector<fs::path> files_of(const std::string& output) {
  const fs::path p(output);
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(p.parent_path())) {
    if (e.path().filename().string().rfind(p.stem().string(), 0) == 0) found.push_back(e.path());
  }
  return found;
}

}  // namespace

TEST_CASE("a map of the 2019 window: same grid as the input, same classes as the array path") {
  SavedModel model = load_saved_model(checkpoint());
  const MapOptions o = options(kFlanders, "flanders", 24);  // 64 is not a multiple of 24
  const MapStats stats = predict_map(model, o);
  CHECK(stats.blocks == 9);
  CHECK(stats.width * stats.height == stats.mapped + stats.no_data);

  const data::ClassMap map = data::read_class_map(o.output);
  const data::Grid input = data::read_raster_series(kFlanders + "/s2", {}, {0, 0, 1, 1}).grid;
  CHECK(map.grid.difference(input).empty());
  CHECK(map.grid.crs_wkt.find("32631") != std::string::npos);
  CHECK(map.class_names == model.class_names);
  CHECK(fs::exists(scratch("flanders_confidence.tif")));
  CHECK(fs::exists(scratch("flanders.svg")));
  CHECK_FALSE(fs::exists(scratch("flanders_probabilities.tif")));

  // The labelled pixels through the array path (what `predict` and `evaluate` do): identical classes.
  data::PixelDataset d = load_dataset(model.config, {kFlanders, "", "", "", ""}, model.class_names, false);
  model.normaliser.apply(d);
  const Prediction p = predict(*model.model, d);
  int64_t same = 0;
  for (int64_t i = 0; i < d.size(); ++i) {
    const auto at =
        static_cast<size_t>(d.ys[static_cast<size_t>(i)] * map.grid.width + d.xs[static_cast<size_t>(i)]);
    same += map.classes[at] == p.classes[static_cast<size_t>(i)] + 1 ? 1 : 0;
  }
  CHECK(same == d.size());

  // evaluate_map over the same pixels gives the same confusion matrix as the array path.
  const MapEvaluation e = evaluate_map(o.output, kFlanders + "/labels.tif", kFlanders + "/legend.csv");
  CHECK(e.labelled_pixels == d.size());
  CHECK(e.unmapped_pixels == 0);
  CHECK(e.pixels.confusion ==
        compute_metrics(d.labels, p.classes, static_cast<int64_t>(model.class_names.size())).confusion);
  CHECK(e.parcels_total >= 15);
}

TEST_CASE(
    "the probability cube holds every class and sums to one; the confidence file holds its maximum, the "
    "margin to the runner-up and the normalised entropy") {
  SavedModel model = load_saved_model(checkpoint());
  MapOptions o = options(kFlanders, "cube", 64);
  o.probabilities = true;
  predict_map(model, o);
  const data::DatasetPtr cube = data::open_raster(scratch("cube_probabilities.tif"));
  const data::DatasetPtr conf = data::open_raster(scratch("cube_confidence.tif"));
  REQUIRE(cube != nullptr);
  REQUIRE(conf != nullptr);
  const int k = static_cast<int>(model.class_names.size());
  CHECK(cube->GetRasterCount() == k);
  CHECK(std::string(cube->GetRasterBand(1)->GetDescription()) == model.class_names[0]);
  std::vector<float> probs(static_cast<size_t>(64 * 64 * k)), c(64 * 64);
  for (int b = 0; b < k; ++b) {
    REQUIRE(cube->GetRasterBand(b + 1)->RasterIO(GF_Read, 0, 0, 64, 64, probs.data() + b * 64 * 64, 64, 64,
                                                 GDT_Float32, 0, 0) == CE_None);
  }
  REQUIRE(conf->GetRasterCount() == 3);
  std::vector<float> margin(64 * 64), entropy(64 * 64);
  for (auto [band, plane] : {std::pair{1, &c}, std::pair{2, &margin}, std::pair{3, &entropy}}) {
    REQUIRE(conf->GetRasterBand(band)->RasterIO(GF_Read, 0, 0, 64, 64, plane->data(), 64, 64, GDT_Float32, 0,
                                                0) == CE_None);
  }
  int64_t mapped = 0;
  for (size_t p = 0; p < c.size(); ++p) {
    if (c[p] < 0) {
      REQUIRE(margin[p] == -1.0f);
      REQUIRE(entropy[p] == -1.0f);
      continue;
    }
    ++mapped;
    float sum = 0, best = 0, second = 0;
    double h = 0;  // the entropy in double, from the cube: an independent reference
    for (int b = 0; b < k; ++b) {
      const float v = probs[static_cast<size_t>(b) * c.size() + p];
      sum += v;
      second = std::max(second, std::min(best, v));
      best = std::max(best, v);
      if (v > 0) h -= static_cast<double>(v) * std::log(static_cast<double>(v));
    }
    REQUIRE(sum == doctest::Approx(1.0f).epsilon(1e-5));
    REQUIRE(c[p] == best);
    REQUIRE(margin[p] == best - second);  // one float subtraction of the same two values
    // Both sums are in double of the same float terms; the layer is then rounded once to float.
    const double want = h / std::log(static_cast<double>(k));
    REQUIRE(std::abs(entropy[p] - want) <= 0x1.0p-24 * want + 4 * k * 0x1.0p-52);
    REQUIRE((entropy[p] >= 0.0f && entropy[p] <= 1.0f));
  }
  CHECK(mapped > 0);
}

TEST_CASE("--attention yes: per-date and per-band layers that agree, the peak date, the same class map") {
  SavedModel model = load_saved_model(checkpoint());
  MapOptions o = options(kFlanders, "attention", 40);
  o.attention = true;
  predict_map(model, o);
  const MapOptions plain = options(kFlanders, "no-attention", 40);
  predict_map(model, plain);
  CHECK(data::read_class_map(o.output).classes == data::read_class_map(plain.output).classes);
  CHECK_FALSE(fs::exists(scratch("no-attention_attention_dates.tif")));

  const data::DatasetPtr dates = data::open_raster(scratch("attention_attention_dates.tif"));
  const data::DatasetPtr bands = data::open_raster(scratch("attention_attention_bands.tif"));
  const data::DatasetPtr peak = data::open_raster(scratch("attention_attention_peak.tif"));
  REQUIRE(dates != nullptr);
  REQUIRE(bands != nullptr);
  REQUIRE(peak != nullptr);
  const int t = dates->GetRasterCount(), b = bands->GetRasterCount();
  CHECK(t == 12);
  CHECK(b == static_cast<int>(model.config.data.band_names.size()));
  CHECK(std::string(bands->GetRasterBand(1)->GetDescription()) == model.config.data.band_names[0]);
  const int w = dates->GetRasterXSize(), h = dates->GetRasterYSize();
  const auto plane = [&](GDALDataset& ds, int band, GDALDataType type, void* out) {
    REQUIRE(ds.GetRasterBand(band)->RasterIO(GF_Read, 0, 0, w, h, out, w, h, type, 0, 0) == CE_None);
  };
  const auto n = static_cast<size_t>(w * h);
  std::vector<float> dv(n * static_cast<size_t>(t)), bv(n * static_cast<size_t>(b));
  std::vector<int32_t> pv(n);
  for (int i = 0; i < t; ++i) plane(*dates, i + 1, GDT_Float32, dv.data() + static_cast<size_t>(i) * n);
  for (int i = 0; i < b; ++i) plane(*bands, i + 1, GDT_Float32, bv.data() + static_cast<size_t>(i) * n);
  plane(*peak, 1, GDT_Int32, pv.data());
  const std::vector<uint8_t> classes = data::read_class_map(o.output).classes;
  int64_t mapped = 0;
  for (size_t p = 0; p < n; ++p) {
    if (classes[p] == 0) {
      REQUIRE(dv[p] == -1.0f);
      REQUIRE(pv[p] == 0);
      continue;
    }
    ++mapped;
    // Both layers split the same total (the map summed over dates and bands): equal within the
    // rounding of two float64 sums of t x b values in (0, 1), stored as float32.
    double over_dates = 0, over_bands = 0;
    int best = 0;
    for (int i = 0; i < t; ++i) {
      const float v = dv[static_cast<size_t>(i) * n + p];
      REQUIRE((v > 0.0f && v < static_cast<float>(b)));
      over_dates += v;
      if (v > dv[static_cast<size_t>(best) * n + p]) best = i;
    }
    for (int i = 0; i < b; ++i) over_bands += bv[static_cast<size_t>(i) * n + p];
    REQUIRE(std::abs(over_dates - over_bands) <= float32_difference_bound(t + b, over_dates));
    REQUIRE(std::to_string(pv[p]) == dates->GetRasterBand(best + 1)->GetDescription());
  }
  CHECK(mapped > 0);
  // A date's label is a real day of the season: YYYYMMDD within the 2018-08..2019-11 span.
  CHECK(std::stoi(dates->GetRasterBand(1)->GetDescription()) >= 20180801);
  CHECK(std::stoi(dates->GetRasterBand(t)->GetDescription()) <= 20191130);
}

// Pairs of 4-neighbours, both mapped, of different classes: the salt and pepper smoothing removes.
int64_t class_edges(const data::ClassMap& m) {
  int64_t edges = 0;
  for (int64_t y = 0; y < m.grid.height; ++y) {
    for (int64_t x = 0; x < m.grid.width; ++x) {
      const uint8_t c = m.classes[static_cast<size_t>(y * m.grid.width + x)];
      for (const auto& [nx, ny] : {std::pair{x + 1, y}, std::pair{x, y + 1}}) {
        if (nx >= m.grid.width || ny >= m.grid.height) continue;
        const uint8_t d = m.classes[static_cast<size_t>(ny * m.grid.width + nx)];
        edges += c != 0 && d != 0 && c != d;
      }
    }
  }
  return edges;
}

TEST_CASE("--smooth yes on Flanders: the smoothed map, evaluated before and after, has fewer class edges") {
  SavedModel model = load_saved_model(checkpoint());
  MapOptions o = options(kFlanders, "smooth", 24);
  o.smooth = true;
  predict_map(model, o);
  CHECK(fs::exists(scratch("smooth_probabilities.tif")));  // smoothing works from the cube
  CHECK(fs::exists(scratch("smooth_smoothed_confidence.tif")));
  const data::ClassMap raw = data::read_class_map(o.output);
  const data::ClassMap smooth = data::read_class_map(smoothed_map_path(o.output));
  CHECK(smooth.grid.difference(raw.grid).empty());
  CHECK(smooth.class_names == raw.class_names);
  for (size_t p = 0; p < raw.classes.size(); ++p) CHECK((raw.classes[p] == 0) == (smooth.classes[p] == 0));
  // Blocks of 24 with their halo give the map that one block of the whole raster gives.
  smooth_map(scratch("smooth_probabilities.tif"), scratch("smooth-one-block.tif"), o.smoothing, false, 64);
  CHECK(data::read_class_map(scratch("smooth-one-block.tif")).classes == smooth.classes);
  const int64_t before = class_edges(raw), after = class_edges(smooth);
  const MapEvaluation e_raw = evaluate_map(o.output, kFlanders + "/labels.tif", kFlanders + "/legend.csv");
  const MapEvaluation e_smooth =
      evaluate_map(smoothed_map_path(o.output), kFlanders + "/labels.tif", kFlanders + "/legend.csv");
  MESSAGE("Flanders 2019, tiny 8-epoch model, all labelled pixels (training parcels too): class edges "
          << before << " -> " << after << ", pixel OA " << e_raw.pixels.overall_accuracy << " -> "
          << e_smooth.pixels.overall_accuracy << ", parcel OA " << e_raw.parcels.overall_accuracy << " -> "
          << e_smooth.parcels.overall_accuracy);
  CHECK(after < before);
  CHECK(e_smooth.labelled_pixels == e_raw.labelled_pixels);
}

TEST_CASE(
    "maps people open: COG with overviews, a QGIS style with the legend, uncertainty in the quick-look") {
  SavedModel model = load_saved_model(checkpoint());
  MapOptions cog = options(kFlanders, "cog", 24), plain = options(kFlanders, "plain", 24);
  cog.cloud_optimised = true;
  plain.cloud_optimised = false;
  predict_map(model, cog);
  predict_map(model, plain);
  for (const std::string& path : {cog.output, scratch("cog_confidence.tif")}) {
    CAPTURE(path);
    const data::DatasetPtr d = data::open_raster(path);
    const char* layout = d->GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE");
    REQUIRE(layout != nullptr);
    CHECK(std::string(layout) == "COG");
    CHECK(d->GetRasterBand(1)->GetOverviewCount() >= 1);
  }
  CHECK(data::open_raster(plain.output)->GetRasterBand(1)->GetOverviewCount() == 0);
  const data::ClassMap a = data::read_class_map(cog.output), b = data::read_class_map(plain.output);
  CHECK(a.classes == b.classes);
  CHECK(a.class_names == b.class_names);  // the categories survive the rewrite
  CHECK(a.grid.difference(b.grid).empty());

  const std::string qml = s2::read_file(scratch("plain.qml"));
  CHECK(qml.find("<rasterrenderer type=\"paletted\" band=\"1\"") != std::string::npos);
  for (size_t k = 1; k <= model.class_names.size(); ++k) {
    const auto c = data::class_colour(static_cast<int64_t>(k));
    CHECK(qml.find(fmt::format("value=\"{}\" color=\"#{:02x}{:02x}{:02x}\" alpha=\"255\" label=\"{}\"", k,
                               c[0], c[1], c[2], model.class_names[k - 1])) != std::string::npos);
  }
  const std::string svg = s2::read_file(scratch("plain.svg"));
  CHECK(svg.find("uncertainty (entropy / ln K)") != std::string::npos);
  CHECK(svg.find("0 certain .. 1 uniform") != std::string::npos);
  CHECK(svg.find("rgb(255,255,204)") != std::string::npos);  // the colour bar's certain end
}

TEST_CASE("a pixel cloudy on every date becomes no data") {
  const std::string folder = copy_series("cloudy");
  GDALAllRegister();
  for (const auto& path : dates_of(folder)) {
    std::unique_ptr<GDALDataset> d(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_UPDATE));
    REQUIRE(d != nullptr);
    uint16_t cloud = 9;  // SCL: cloud, high probability
    REQUIRE(d->GetRasterBand(11)->RasterIO(GF_Write, 5, 7, 1, 1, &cloud, 1, 1, GDT_UInt16, 0, 0) == CE_None);
  }
  SavedModel model = load_saved_model(checkpoint());
  const MapOptions o = options(folder, "cloudy");
  const MapStats stats = predict_map(model, o);
  const data::ClassMap map = data::read_class_map(o.output);
  CHECK(map.classes[7 * 64 + 5] == 0);
  CHECK(map.classes[7 * 64 + 6] != 0);
  CHECK(stats.no_data == 1);
}

TEST_CASE("map inputs with problems: clear errors, or the right result") {
  SavedModel model = load_saved_model(checkpoint());
  GDALAllRegister();
  SUBCASE("a missing date file: the map uses the remaining dates") {
    const std::string folder = copy_series("missing-date");
    fs::remove(dates_of(folder)[10]);
    const MapOptions o = options(folder, "missing-date");
    CHECK(predict_map(model, o).mapped > 0);
  }
  SUBCASE("an empty folder") {
    fs::create_directories(scratch("empty/s2"));
    CHECK_THROWS_WITH(predict_map(model, options(scratch("empty"), "empty")),
                      doctest::Contains("holds no YYYY-MM-DD.tif files"));
  }
  SUBCASE("a date with a missing band") {
    const std::string folder = copy_series("missing-band");
    const std::string path = dates_of(folder)[3];
    {
      std::unique_ptr<GDALDataset> d(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_UPDATE));
      d->GetRasterBand(7)->SetDescription("B08_renamed");
    }
    CHECK_THROWS_WITH(predict_map(model, options(folder, "missing-band")),
                      doctest::Contains(("'" + path + "': band 'B08' not found").c_str()));
  }
  SUBCASE("a date in another CRS: rejected, or warped onto the first date's grid") {
    const std::string folder = copy_series("other-crs");
    const std::string path = dates_of(folder)[20];
    {
      const char* argv[] = {"-t_srs", "EPSG:3857", "-r", "near", nullptr};
      GDALWarpAppOptions* wo = GDALWarpAppOptionsNew(const_cast<char**>(argv), nullptr);
      GDALDatasetH src = GDALOpen(path.c_str(), GA_ReadOnly);
      GDALDatasetH out = GDALWarp((path + ".3857.tif").c_str(), nullptr, 1, &src, wo, nullptr);
      GDALWarpAppOptionsFree(wo);
      REQUIRE(out != nullptr);
      GDALClose(out);
      GDALClose(src);
      fs::rename(path + ".3857.tif", path);
    }
    CHECK_THROWS_WITH(predict_map(model, options(folder, "other-crs")),
                      doctest::Contains("grid does not match the first date"));
    MapOptions o = options(folder, "other-crs");
    o.warp = true;
    predict_map(model, o);
    const data::ClassMap warped = data::read_class_map(o.output);
    predict_map(model, options(kFlanders, "reference"));
    const data::ClassMap reference = data::read_class_map(scratch("reference.tif"));
    CHECK(warped.grid.difference(reference.grid).empty());
    int64_t same = 0;
    for (size_t p = 0; p < reference.classes.size(); ++p)
      same += warped.classes[p] == reference.classes[p] ? 1 : 0;
    // One of 72 dates resampled twice (nearest): the map barely changes.
    CHECK(static_cast<double>(same) >= 0.95 * static_cast<double>(reference.classes.size()));
  }
  SUBCASE("an unwritable output path leaves nothing behind") {
    MapOptions o = options(kFlanders, "unwritable");
    o.output = "/proc/s2cbam-map.tif";
    CHECK_THROWS_WITH(predict_map(model, o), doctest::Contains("/proc/s2cbam-map.tif"));
  }
  SUBCASE("a corrupt date file") {
    const std::string folder = copy_series("corrupt");
    const std::string path = dates_of(folder)[5];
    fs::resize_file(path, 1000);
    CHECK_THROWS_WITH(predict_map(model, options(folder, "corrupt")), doctest::Contains(path.c_str()));
  }
}

TEST_CASE("an interrupted map leaves no file under its final names and no partial file") {
  SavedModel model = load_saved_model(checkpoint());
  const std::atomic<bool> stop{true};
  const MapOptions o = options(kFlanders, "interrupted");
  for (const auto& stale : files_of(o.output)) fs::remove(stale);  // from an earlier run of the tests
  CHECK_THROWS_WITH(predict_map(model, o, &stop), doctest::Contains("interrupted"));
  CHECK(files_of(o.output).empty());
}

TEST_CASE("an interrupted map continues from its blocks and ends as the same bytes as an uninterrupted one") {
  SavedModel model = load_saved_model(checkpoint());
  MapOptions whole = options(kFlanders, "whole", 16);  // 16 blocks
  whole.probabilities = true;
  // A plain GeoTIFF's tiles lie in the order they were written, which a continued run changes; a COG is
  // rewritten in its own order, so the same pixels give the same bytes.
  whole.cloud_optimised = true;
  for (const auto& stale : files_of(whole.output)) fs::remove(stale);
  predict_map(model, whole);

  MapOptions parts = whole;
  parts.output = scratch("parts.tif");
  for (const auto& stale : files_of(parts.output)) fs::remove(stale);
  parts.max_blocks = 5;
  CHECK_THROWS_WITH(predict_map(model, parts), doctest::Contains("interrupted after 5 of 16 blocks"));
  const std::string progress = map_progress_path(parts.output);
  REQUIRE(fs::exists(progress));
  CHECK(read_map_progress(progress)->blocks_done == 5);
  CHECK_FALSE(fs::exists(parts.output));  // nothing under a final name yet
  parts.max_blocks = 6;                   // a second session, still short of the end
  CHECK_THROWS_WITH(predict_map(model, parts), doctest::Contains("interrupted after 11 of 16 blocks"));

  SUBCASE("the same call continues to the end") {
    parts.max_blocks = 0;
    const MapStats s = predict_map(model, parts);
    CHECK(s.blocks == 5);  // only the blocks left were computed
    CHECK(s.mapped + s.no_data == 64 * 64);
    CHECK_FALSE(fs::exists(progress));
    const auto stem = [](const std::string& out) { return fs::path(out).replace_extension("").string(); };
    for (const std::string suffix : {".tif", "_confidence.tif", "_probabilities.tif"}) {
      CAPTURE(suffix);
      CHECK(read_file(stem(whole.output) + suffix) == read_file(stem(parts.output) + suffix));
    }
    // The quick-look holds the blocks of both sessions; its title is the file's name.
    std::string svg = read_file(stem(parts.output) + ".svg");
    svg.replace(svg.find("parts.tif"), 9, "whole.tif");
    CHECK(svg == read_file(stem(whole.output) + ".svg"));
  }
  SUBCASE("another model's run is not continued") {
    SavedModel other = load_saved_model(checkpoint());
    Tensor(other.model->parameters().front()).data()[0] += 1.0f;
    CHECK_THROWS_WITH(predict_map(other, parts), doctest::Contains("records a map made with another model"));
  }
  SUBCASE("a damaged progress file is named") {
    write_file_atomic(progress, "blocks 3\n");
    CHECK_THROWS_WITH(predict_map(model, parts), doctest::Contains("is not a map progress file"));
  }
}

TEST_CASE("a model trained on pixel tables cannot map rasters") {
  SavedModel model = load_saved_model(checkpoint());
  model.config.data.format = "pixel_csv";
  CHECK_THROWS_WITH(predict_map(model, options(kFlanders, "csv-model")),
                    doctest::Contains("trained on 'pixel_csv'"));
}

TEST_CASE("a multi-band stack with a dates file maps exactly like the folder of dates") {
  GDALAllRegister();
  const std::string stack = scratch("stack.tif"), dates = scratch("stack-dates.txt");
  const auto acquisitions = data::list_acquisitions(kFlanders + "/s2");
  {
    std::unique_ptr<GDALDataset> first(GDALDataset::Open(acquisitions[0].path.c_str(), GDAL_OF_RASTER));
    const int per = first->GetRasterCount();
    GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
    std::unique_ptr<GDALDataset> out(gtiff->Create(
        stack.c_str(), 64, 64, per * static_cast<int>(acquisitions.size()), GDT_UInt16, nullptr));
    std::array<double, 6> transform{};
    first->GetGeoTransform(transform.data());
    out->SetGeoTransform(transform.data());
    out->SetSpatialRef(first->GetSpatialRef());
    std::string text;
    std::vector<uint16_t> buffer(64 * 64);
    for (size_t t = 0; t < acquisitions.size(); ++t) {
      std::unique_ptr<GDALDataset> d(GDALDataset::Open(acquisitions[t].path.c_str(), GDAL_OF_RASTER));
      for (int b = 1; b <= per; ++b) {
        REQUIRE(d->GetRasterBand(b)->RasterIO(GF_Read, 0, 0, 64, 64, buffer.data(), 64, 64, GDT_UInt16, 0,
                                              0) == CE_None);
        GDALRasterBand* target = out->GetRasterBand(static_cast<int>(t) * per + b);
        REQUIRE(target->RasterIO(GF_Write, 0, 0, 64, 64, buffer.data(), 64, 64, GDT_UInt16, 0, 0) == CE_None);
        target->SetDescription(d->GetRasterBand(b)->GetDescription());
      }
      text += acquisitions[t].date + "\n";
    }
    s2::write_file_atomic(dates, text);
  }
  SavedModel model = load_saved_model(checkpoint());
  MapOptions from_stack = options(stack, "from-stack", 40);
  from_stack.dates = dates;
  predict_map(model, from_stack);
  predict_map(model, options(kFlanders, "from-folder", 40));
  CHECK(data::read_class_map(scratch("from-stack.tif")).classes ==
        data::read_class_map(scratch("from-folder.tif")).classes);

  s2::write_file_atomic(dates, "2019-01-02\n2018-12-01\n");
  CHECK_THROWS_WITH(predict_map(model, from_stack), doctest::Contains("the stack's dates must increase"));
  s2::write_file_atomic(dates, "2019-01-02\n2019-02-01\n2019-03-01\n2019-04-01\n2019-05-01\n");
  CHECK_THROWS_WITH(predict_map(model, from_stack),
                    doctest::Contains("are not a whole number of bands for each"));
}
