#pragma once
// Writes a crop map as GeoTIFFs on the grid of the input rasters, block by block: the class map
// (Byte, 1..K, 0 = no data, with a colour table and the class names as categories), the top-class
// probability (Float32, -1 = no data), optionally the full class-probability cube and, for attention
// models, the attention layers (Float32 per date and per band, -1 = no data; the date of peak
// attention as Int32 YYYYMMDD, 0 = no data). Files are
// written under temporary names (<path>.part) and renamed by commit(); without commit (an error,
// Ctrl-C) they are deleted unless kept for a later run to continue, so a final name never holds a
// half-written map.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/raster_series.h"

namespace s2::data {

// Colour of class k (1-based) in the map's colour table and quick-look.
std::array<uint8_t, 3> class_colour(int64_t k);

struct MapPaths {
  std::string classes, confidence, probabilities;  // probabilities empty = not written
  // Attention layers, all three or none: per date (summed over bands), per band (summed over dates),
  // and the date of the peak.
  std::string attention_dates, attention_bands, attention_peak;
};
// <stem>.tif, <stem>_confidence.tif, <stem>_probabilities.tif and <stem>_attention_{dates,bands,peak}.tif
// for an output named <stem>.tif.
MapPaths map_paths(const std::string& output, bool probabilities, bool attention = false);

// What the attention layers' bands are: the regular dates (YYYYMMDD, also the peak layer's values) and
// the band names.
struct AttentionLayerNames {
  std::vector<int32_t> dates;
  std::vector<std::string> bands;
};

// One window of attention: [date][pixel] and [band][pixel] planes (-1 = no data) and the peak date per
// pixel (0 = no data).
struct AttentionBlock {
  std::vector<float> dates, bands;
  std::vector<int32_t> peak;
};

// The bands of <stem>_confidence.tif, per pixel (-1 = no data): the probability of the mapped class, the
// margin (top-1 minus top-2 probability) and the entropy of the class probabilities divided by ln K
// (0 = certain, 1 = uniform).
inline constexpr size_t kUncertaintyLayers = 3;
// Fills pixel p of those layers ([layer][pixel], n pixels) from its k class probabilities, found at
// probs[0], probs[stride], ..., and its mapped class c (0-based).
void set_uncertainty(const float* probs, size_t stride, int64_t k, int64_t c, std::vector<float>& layers,
                     size_t n, size_t p);

// The temporary file a map layer is written to before commit() gives it its final name: <path>.part.
std::string partial_path(const std::string& path);

class MapWriter {
 public:
  // With `continue_partial`, the layers' .part files of an interrupted run are opened and written on,
  // instead of created: an error names a missing one or one of another size.
  MapWriter(const MapPaths& paths, const Grid& grid, const std::vector<std::string>& class_names,
            const AttentionLayerNames& attention = {}, bool continue_partial = false);
  ~MapWriter();
  MapWriter(const MapWriter&) = delete;
  MapWriter& operator=(const MapWriter&) = delete;

  // One window of results, each plane window.width * window.height values in row order: classes 0..K
  // (0 = no data); the kUncertaintyLayers planes of the confidence file, [layer][pixel]; and the
  // [class][pixel] probabilities (ignored when the cube is not written).
  void write(const Window& window, const std::vector<uint8_t>& classes, const std::vector<float>& uncertainty,
             const std::vector<float>& probabilities);
  // The window's attention layers (when the paths name them).
  void write_attention(const Window& window, const AttentionBlock& block);
  // The class and uncertainty planes of a window already written (the blocks of an interrupted run).
  void read(const Window& window, std::vector<uint8_t>& classes, std::vector<float>& uncertainty) const;
  // Writes every cached block to the .part files, so that a run stopped after this continues from here.
  void flush();
  // Without commit, the .part files stay for a later run to continue (else the destructor deletes them).
  void keep_partial() { keep_partial_ = true; }
  // Flushes and moves every file to its final name; with `cloud_optimised`, first rewrites each as a
  // Cloud Optimised GeoTIFF with overviews (class map by mode, dates by nearest, the rest by mean).
  void commit(bool cloud_optimised = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool keep_partial_ = false;
};

// Whether a map on `grid` is written as COG unless asked otherwise: 1024 pixels a side or more.
bool cloud_optimised_by_default(const Grid& grid);

// A class map as written by MapWriter (or any Byte GeoTIFF with category names).
struct ClassMap {
  Grid grid;
  std::vector<uint8_t> classes;          // per pixel, 0 = no data
  std::vector<std::string> class_names;  // of classes 1..K
};
// Errors name the file: unreadable, not one Byte band, or no category names.
ClassMap read_class_map(const std::string& path);

}  // namespace s2::data
