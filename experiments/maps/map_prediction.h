#pragma once
// Crop maps from image time series: a trained checkpoint applied block by block to a folder of
// per-date GeoTIFFs with the preprocessing the model was trained with (band selection, SCL masking,
// resampling to its T dates, normalisation), written as georeferenced GeoTIFFs plus an SVG quick-look.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "experiments/maps/map_smoothing.h"
#include "experiments/training/saved_model.h"

namespace s2::experiments {

struct MapOptions {
  std::string input;         // a folder of YYYY-MM-DD.tif files, or a folder holding them in s2/, or
                             // with `dates`, one multi-band stack (data::read_raster_stack)
  std::string dates;         // the stack's dates file; empty = `input` is a folder
  std::string output;        // the class map, <stem>.tif; confidence and cube go beside it
  std::string quicklook;     // SVG path; empty = <stem>.svg
  int64_t block_size = 256;  // pixels per block side: memory stays bounded whatever the raster size
  int64_t batch_size = 256;
  bool probabilities = false;  // also write the class-probability cube
  bool attention = false;      // also write the attention layers (CBAM models with spatial attention)
  bool warp = false;           // warp dates on another grid onto the first date's (else: error)
  // Also write <stem>_smoothed.tif and <stem>_smoothed_confidence.tif from the probability cube (which
  // is then written whatever `probabilities` says), smoothed as experiments/maps/map_smoothing says.
  bool smooth = false;
  SmoothingOptions smoothing;
  // Cloud Optimised GeoTIFFs with overviews; unset = for maps of 1024 pixels a side or more.
  std::optional<bool> cloud_optimised;
  bool progress = true;
  // > 0: stop, as if interrupted, after this many more blocks; the next run continues (a trial of a
  // large map, or a run cut into sessions).
  int64_t max_blocks = 0;
};

struct MapStats {
  int64_t width = 0, height = 0, mapped = 0, no_data = 0, blocks = 0;
  double io_seconds = 0, preprocess_seconds = 0, network_seconds = 0, total_seconds = 0;
};

// <stem>_smoothed.tif for a map <stem>.tif.
std::string smoothed_map_path(const std::string& output);

// The folder holding the dated GeoTIFFs of `input`.
std::string series_folder(const std::string& input);

// Writes the map. Under MPI, ranks compute blocks in turn and rank 0 writes them in row order: the
// same bytes as one process. `stop` (set by a Ctrl-C handler) ends it between blocks with an error,
// leaving no file under a final name; the blocks done stay in the .part files with a progress file
// (map_progress.h), and the same call continues from them.
MapStats predict_map(SavedModel& model, const MapOptions& options, const std::atomic<bool>* stop = nullptr);

// An SVG picture of a class map (nearest-neighbour downsampled to at most `max_side` cells a side)
// with a legend, and beside it the uncertainty (the normalised entropy) when `uncertainty` is not
// empty. classes and uncertainty: width * height values, 0 and -1 = no data.
std::string map_quicklook_svg(const std::vector<uint8_t>& classes, const std::vector<float>& uncertainty,
                              int64_t width, int64_t height, const std::vector<std::string>& class_names,
                              const std::string& title, int64_t max_side = 512);

}  // namespace s2::experiments
