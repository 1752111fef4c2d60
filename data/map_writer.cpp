#include "data/map_writer.h"

#include <gdal_priv.h>
#include <gdal_utils.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/gdal_util.h"
#include "framework/error.h"

namespace s2::data {

namespace {

struct Output {
  std::string final_path, temp_path;
  GDALDataset* dataset = nullptr;
  int bands = 1;
};

// How a layer's overviews are made: the most common class for the class map, the nearest pixel for
// dates, the mean for the rest.
const char* overview_resampling(size_t output_index, const Output& o, const std::string& peak_path) {
  if (output_index == 0) return "MODE";
  return o.final_path == peak_path ? "NEAREST" : "AVERAGE";
}

// Rewrites a finished GeoTIFF as a Cloud Optimised GeoTIFF with overviews (GDAL's COG driver), returning
// the new temporary's path. Tiles are 512 pixels, smaller for small maps so they still get an overview.
std::string convert_to_cog(const std::string& temp_path, const char* resampling) {
  DatasetPtr source(static_cast<GDALDataset*>(GDALOpen(temp_path.c_str(), GA_ReadOnly)));
  S2_CHECK(source != nullptr, "cannot reopen '{}': {}", temp_path, CPLGetLastErrorMsg());
  const int side = std::max(source->GetRasterXSize(), source->GetRasterYSize());
  int block = 512;
  while (block > 16 && block * 2 > side) block /= 2;
  const std::string cog = temp_path + ".cog";
  const std::string block_option = "BLOCKSIZE=" + std::to_string(block);
  const std::string resampling_option = std::string("RESAMPLING=") + resampling;
  const char* args[] = {"-of",  "COG",
                        "-co",  "COMPRESS=DEFLATE",
                        "-co",  "BIGTIFF=IF_SAFER",
                        "-co",  block_option.c_str(),
                        "-co",  "OVERVIEWS=AUTO",
                        "-co",  resampling_option.c_str(),
                        nullptr};
  GDALTranslateOptions* options = GDALTranslateOptionsNew(const_cast<char**>(args), nullptr);
  CPLErrorReset();
  GDALDatasetH out = GDALTranslate(cog.c_str(), source.get(), options, nullptr);
  GDALTranslateOptionsFree(options);
  S2_CHECK(out != nullptr, "writing '{}' as a Cloud Optimised GeoTIFF failed: {}", cog, CPLGetLastErrorMsg());
  GDALClose(out);
  source.reset();
  std::error_code ignored;
  std::filesystem::remove(temp_path, ignored);
  std::filesystem::remove(temp_path + ".aux.xml", ignored);
  return cog;
}

void write_window(GDALDataset& d, int band, const Window& w, const void* data, GDALDataType type,
                  const std::string& path) {
  // RasterIO takes a non-const buffer for both directions; GF_Write only reads it.
  const CPLErr err = d.GetRasterBand(band)->RasterIO(GF_Write, static_cast<int>(w.x), static_cast<int>(w.y),
                                                     static_cast<int>(w.width), static_cast<int>(w.height),
                                                     const_cast<void*>(data), static_cast<int>(w.width),
                                                     static_cast<int>(w.height), type, 0, 0);
  S2_CHECK(err == CE_None, "'{}': writing band {} failed: {}", path, band, CPLGetLastErrorMsg());
}

}  // namespace

std::array<uint8_t, 3> class_colour(int64_t k) {
  // A qualitative palette (distinct hues, readable on white); it repeats after 12 classes.
  static constexpr std::array<std::array<uint8_t, 3>, 12> palette{{{31, 119, 180},
                                                                   {255, 127, 14},
                                                                   {44, 160, 44},
                                                                   {214, 39, 40},
                                                                   {148, 103, 189},
                                                                   {140, 86, 75},
                                                                   {227, 119, 194},
                                                                   {188, 189, 34},
                                                                   {23, 190, 207},
                                                                   {127, 127, 127},
                                                                   {174, 199, 232},
                                                                   {255, 187, 120}}};
  return palette[static_cast<size_t>((k - 1) % 12)];
}

void set_uncertainty(const float* probs, size_t stride, int64_t k, int64_t c, std::vector<float>& layers,
                     size_t n, size_t p) {
  float second = 0.0f;
  double entropy = 0.0;
  for (int64_t j = 0; j < k; ++j) {
    const float q = probs[static_cast<size_t>(j) * stride];
    if (j != c) second = std::max(second, q);
    if (q > 0.0f) entropy -= static_cast<double>(q) * std::log(static_cast<double>(q));
  }
  const float top = probs[static_cast<size_t>(c) * stride];
  layers[p] = top;
  layers[n + p] = top - second;
  layers[2 * n + p] = k > 1 ? static_cast<float>(entropy / std::log(static_cast<double>(k))) : 0.0f;
}

MapPaths map_paths(const std::string& output, bool probabilities, bool attention) {
  const std::filesystem::path p(output);
  const std::string stem = (p.parent_path() / p.stem()).string();
  MapPaths paths{output, stem + "_confidence.tif", probabilities ? stem + "_probabilities.tif" : "", "", "",
                 ""};
  if (attention) {
    paths.attention_dates = stem + "_attention_dates.tif";
    paths.attention_bands = stem + "_attention_bands.tif";
    paths.attention_peak = stem + "_attention_peak.tif";
  }
  return paths;
}

struct MapWriter::Impl {
  std::vector<Output> outputs;  // classes, confidence, [probabilities], [attention dates, bands, peak]
  int64_t classes = 0;
  bool probabilities = false;
  AttentionLayerNames attention;
  bool committed = false;
  Output* attention_output(size_t i) {  // 0 dates, 1 bands, 2 peak
    return attention.dates.empty() ? nullptr : &outputs[outputs.size() - 3 + i];
  }
};

namespace {
// A Float32 (or Int32) layer with one band per name, each with its no-data value and description.
void add_layer(Output& o, const Grid& grid, const std::vector<std::string>& names, GDALDataType type,
               double no_data, const std::string& what) {
  o.dataset = create_geotiff(o.temp_path, grid, static_cast<int>(names.size()), type);
  o.dataset->SetDescription(what.c_str());
  for (size_t b = 0; b < names.size(); ++b) {
    o.dataset->GetRasterBand(static_cast<int>(b + 1))->SetNoDataValue(no_data);
    o.dataset->GetRasterBand(static_cast<int>(b + 1))->SetDescription(names[b].c_str());
  }
}
}  // namespace

std::string partial_path(const std::string& path) {
  return path + ".part";
}

namespace {
// The .part file of an interrupted run, opened for writing on: it must be there, on the map's grid.
GDALDataset* reopen_partial(const Output& o, const Grid& grid) {
  register_drivers();
  S2_CHECK(
      std::filesystem::exists(o.temp_path),
      "cannot continue the map: '{}' is missing (delete the .part files and their .progress file to start "
      "over)",
      o.temp_path);
  auto* d = static_cast<GDALDataset*>(GDALOpen(o.temp_path.c_str(), GA_Update));
  S2_CHECK(d != nullptr, "cannot continue the map: '{}' does not open: {}", o.temp_path,
           CPLGetLastErrorMsg());
  if (d->GetRasterXSize() != grid.width || d->GetRasterYSize() != grid.height ||
      d->GetRasterCount() != o.bands) {
    GDALClose(d);
    S2_CHECK(false, "cannot continue the map: '{}' is not {} x {} pixels of {} bands", o.temp_path,
             grid.width, grid.height, o.bands);
  }
  return d;
}
}  // namespace

MapWriter::MapWriter(const MapPaths& paths, const Grid& grid, const std::vector<std::string>& class_names,
                     const AttentionLayerNames& attention, bool continue_partial)
    : impl_(std::make_unique<Impl>()) {
  S2_CHECK(!class_names.empty() && class_names.size() < 255, "a map needs 1 to 254 classes, got {}",
           class_names.size());
  impl_->classes = static_cast<int64_t>(class_names.size());
  const bool with_attention = !paths.attention_dates.empty();
  S2_CHECK(with_attention == !attention.dates.empty() && (!with_attention || !attention.bands.empty()),
           "attention layers need both their paths and their date and band names");
  impl_->probabilities = !paths.probabilities.empty();
  impl_->attention = attention;
  // Each layer with its band count: classes, confidence, probabilities, attention dates, bands, peak.
  const std::pair<const std::string&, size_t> layers[] = {{paths.classes, 1},
                                                          {paths.confidence, kUncertaintyLayers},
                                                          {paths.probabilities, class_names.size()},
                                                          {paths.attention_dates, attention.dates.size()},
                                                          {paths.attention_bands, attention.bands.size()},
                                                          {paths.attention_peak, 1}};
  for (const auto& [path, bands] : layers) {
    if (!path.empty()) impl_->outputs.push_back({path, partial_path(path), nullptr, static_cast<int>(bands)});
  }
  if (continue_partial) {
    for (Output& o : impl_->outputs) o.dataset = reopen_partial(o, grid);
    return;
  }
  Output& cls = impl_->outputs[0];
  cls.dataset = create_geotiff(cls.temp_path, grid, 1, GDT_Byte);
  GDALRasterBand* band = cls.dataset->GetRasterBand(1);
  band->SetNoDataValue(0);
  band->SetDescription("crop class (0 = no data)");
  GDALColorTable colours;
  const GDALColorEntry none{0, 0, 0, 0};
  colours.SetColorEntry(0, &none);
  CPLStringList names;
  names.AddString("no data");
  for (int64_t k = 1; k <= impl_->classes; ++k) {
    const auto c = class_colour(k);
    const GDALColorEntry e{c[0], c[1], c[2], 255};
    colours.SetColorEntry(static_cast<int>(k), &e);
    names.AddString(class_names[static_cast<size_t>(k - 1)].c_str());
  }
  band->SetColorTable(&colours);
  band->SetCategoryNames(names.List());
  for (int64_t k = 1; k <= impl_->classes; ++k) {
    cls.dataset->SetMetadataItem(("CLASS_" + std::to_string(k)).c_str(),
                                 class_names[static_cast<size_t>(k - 1)].c_str());
  }
  add_layer(impl_->outputs[1], grid,
            {"probability of the mapped class", "margin: top-1 minus top-2 probability",
             "entropy of the class probabilities / ln K (0 certain, 1 uniform)"},
            GDT_Float32, -1, "per-pixel confidence and uncertainty of the class map (-1 = no data)");
  if (impl_->probabilities) {
    Output& cube = impl_->outputs[2];
    cube.dataset = create_geotiff(cube.temp_path, grid, static_cast<int>(impl_->classes), GDT_Float32);
    for (int64_t k = 1; k <= impl_->classes; ++k) {
      cube.dataset->GetRasterBand(static_cast<int>(k))->SetNoDataValue(-1);
      cube.dataset->GetRasterBand(static_cast<int>(k))
          ->SetDescription(class_names[static_cast<size_t>(k - 1)].c_str());
    }
  }
  if (with_attention) {
    std::vector<std::string> dates;
    for (const int32_t d : attention.dates) dates.push_back(std::to_string(d));
    add_layer(*impl_->attention_output(0), grid, dates, GDT_Float32, -1,
              "spatial attention per date, summed over bands, mean of the CBAM stages");
    add_layer(*impl_->attention_output(1), grid, attention.bands, GDT_Float32, -1,
              "spatial attention per band, summed over dates, mean of the CBAM stages");
    add_layer(*impl_->attention_output(2), grid, {"date of peak attention (YYYYMMDD)"}, GDT_Int32, 0,
              "date of peak attention");
  }
}

MapWriter::~MapWriter() {
  if (impl_->committed) {
    return;
  }
  for (Output& o : impl_->outputs) {
    if (o.dataset != nullptr) {
      GDALClose(o.dataset);
    }
    if (keep_partial_) continue;
    std::error_code ignored;
    std::filesystem::remove(o.temp_path, ignored);
    std::filesystem::remove(o.temp_path + ".aux.xml", ignored);
  }
}

void MapWriter::write(const Window& window, const std::vector<uint8_t>& classes,
                      const std::vector<float>& uncertainty, const std::vector<float>& probabilities) {
  const auto n = static_cast<size_t>(window.width * window.height);
  S2_CHECK(classes.size() == n && uncertainty.size() == n * kUncertaintyLayers,
           "map block of {} pixels got {} classes and {} uncertainty values", n, classes.size(),
           uncertainty.size());
  write_window(*impl_->outputs[0].dataset, 1, window, classes.data(), GDT_Byte, impl_->outputs[0].temp_path);
  for (size_t layer = 0; layer < kUncertaintyLayers; ++layer) {
    write_window(*impl_->outputs[1].dataset, static_cast<int>(layer + 1), window,
                 uncertainty.data() + layer * n, GDT_Float32, impl_->outputs[1].temp_path);
  }
  if (impl_->probabilities) {
    S2_CHECK(probabilities.size() == n * static_cast<size_t>(impl_->classes),
             "map block of {} pixels got {} probabilities for {} classes", n, probabilities.size(),
             impl_->classes);
    for (int64_t k = 0; k < impl_->classes; ++k) {  // [class][pixel]: each class's plane is contiguous
      write_window(*impl_->outputs[2].dataset, static_cast<int>(k + 1), window,
                   probabilities.data() + static_cast<size_t>(k) * n, GDT_Float32,
                   impl_->outputs[2].temp_path);
    }
  }
}

void MapWriter::write_attention(const Window& window, const AttentionBlock& block) {
  S2_CHECK(!impl_->attention.dates.empty(), "this map writer has no attention layers");
  const auto n = static_cast<size_t>(window.width * window.height);
  const size_t t = impl_->attention.dates.size(), b = impl_->attention.bands.size();
  S2_CHECK(block.dates.size() == n * t && block.bands.size() == n * b && block.peak.size() == n,
           "attention block of {} pixels got {} date, {} band and {} peak values", n, block.dates.size(),
           block.bands.size(), block.peak.size());
  Output &dates = *impl_->attention_output(0), &bands = *impl_->attention_output(1),
         &peak = *impl_->attention_output(2);
  for (size_t i = 0; i < t; ++i) {
    write_window(*dates.dataset, static_cast<int>(i + 1), window, block.dates.data() + i * n, GDT_Float32,
                 dates.temp_path);
  }
  for (size_t i = 0; i < b; ++i) {
    write_window(*bands.dataset, static_cast<int>(i + 1), window, block.bands.data() + i * n, GDT_Float32,
                 bands.temp_path);
  }
  write_window(*peak.dataset, 1, window, block.peak.data(), GDT_Int32, peak.temp_path);
}

void MapWriter::read(const Window& window, std::vector<uint8_t>& classes,
                     std::vector<float>& uncertainty) const {
  const auto n = static_cast<size_t>(window.width * window.height);
  classes.resize(n);
  uncertainty.resize(n * kUncertaintyLayers);
  const auto read_band = [&](const Output& o, int band, void* data, GDALDataType type) {
    const CPLErr err = o.dataset->GetRasterBand(band)->RasterIO(
        GF_Read, static_cast<int>(window.x), static_cast<int>(window.y), static_cast<int>(window.width),
        static_cast<int>(window.height), data, static_cast<int>(window.width),
        static_cast<int>(window.height), type, 0, 0);
    S2_CHECK(err == CE_None, "'{}': reading band {} back failed: {}", o.temp_path, band,
             CPLGetLastErrorMsg());
  };
  read_band(impl_->outputs[0], 1, classes.data(), GDT_Byte);
  for (size_t layer = 0; layer < kUncertaintyLayers; ++layer) {
    read_band(impl_->outputs[1], static_cast<int>(layer + 1), uncertainty.data() + layer * n, GDT_Float32);
  }
}

void MapWriter::flush() {
  for (Output& o : impl_->outputs) {
    CPLErrorReset();
    o.dataset->FlushCache(false);
    S2_CHECK(CPLGetLastErrorType() != CE_Failure, "'{}': writing failed: {}", o.temp_path,
             CPLGetLastErrorMsg());
  }
}

bool cloud_optimised_by_default(const Grid& grid) {
  return std::max(grid.width, grid.height) >= 1024;
}

void MapWriter::commit(bool cloud_optimised) {
  const std::string peak = impl_->attention.dates.empty() ? "" : impl_->attention_output(2)->final_path;
  for (size_t i = 0; i < impl_->outputs.size(); ++i) {
    Output& o = impl_->outputs[i];
    CPLErrorReset();
    GDALClose(o.dataset);  // flushes
    o.dataset = nullptr;
    S2_CHECK(CPLGetLastErrorType() != CE_Failure, "'{}': writing failed: {}", o.temp_path,
             CPLGetLastErrorMsg());
    if (cloud_optimised) o.temp_path = convert_to_cog(o.temp_path, overview_resampling(i, o, peak));
  }
  for (Output& o : impl_->outputs) {
    // GDAL keeps category names in a .aux.xml beside the GeoTIFF (QGIS reads it): it moves along.
    for (const std::string suffix : {"", ".aux.xml"}) {
      if (suffix.empty() || std::filesystem::exists(o.temp_path + suffix)) {
        std::error_code ec;
        std::filesystem::rename(o.temp_path + suffix, o.final_path + suffix, ec);
        S2_CHECK(!ec, "cannot move '{}' to '{}': {}", o.temp_path + suffix, o.final_path + suffix,
                 ec.message());
      }
    }
  }
  impl_->committed = true;
}

ClassMap read_class_map(const std::string& path) {
  DatasetPtr d = open_raster(path);
  S2_CHECK(d->GetRasterCount() >= 1 && d->GetRasterBand(1)->GetRasterDataType() == GDT_Byte,
           "'{}': a class map has a Byte first band", path);
  ClassMap m;
  m.grid = grid_of(*d);
  // Category names (the .aux.xml beside the file), else the CLASS_k items stored in the GeoTIFF itself.
  if (char** names = d->GetRasterBand(1)->GetCategoryNames(); names != nullptr && CSLCount(names) >= 2) {
    for (int i = 1; i < CSLCount(names); ++i) {
      m.class_names.emplace_back(names[i]);
    }
  } else {
    for (int k = 1; const char* name = d->GetMetadataItem(("CLASS_" + std::to_string(k)).c_str()); ++k) {
      m.class_names.emplace_back(name);
    }
  }
  S2_CHECK(!m.class_names.empty(), "'{}': the class map names no classes (no categories or CLASS_k metadata)",
           path);
  m.classes.resize(static_cast<size_t>(m.grid.width * m.grid.height));
  const CPLErr err = d->GetRasterBand(1)->RasterIO(
      GF_Read, 0, 0, static_cast<int>(m.grid.width), static_cast<int>(m.grid.height), m.classes.data(),
      static_cast<int>(m.grid.width), static_cast<int>(m.grid.height), GDT_Byte, 0, 0);
  S2_CHECK(err == CE_None, "'{}': reading the class band failed: {}", path, CPLGetLastErrorMsg());
  for (const uint8_t c : m.classes) {
    S2_CHECK(c <= m.class_names.size(), "'{}': class value {} has no category name", path, c);
  }
  return m;
}

}  // namespace s2::data
