#pragma once
// The progress of a map being written: a small text file beside its .part files that says how many
// blocks (in row order) they hold and with what settings they were made, so that an interrupted
// predict_map continues where it stopped instead of starting over.
#include <cstdint>
#include <optional>
#include <string>

namespace s2::experiments {

struct MapProgress {
  std::string fingerprint;  // of the model, the input, the grid and the options that shape the files
  int64_t blocks_done = 0;
  int64_t blocks_total = 0;
};

// <output>.part.progress, beside the class map's .part file.
std::string map_progress_path(const std::string& output);
// The progress file at `path`, or nothing when there is none; errors name a damaged one.
std::optional<MapProgress> read_map_progress(const std::string& path);
void write_map_progress(const std::string& path, const MapProgress& progress);

}  // namespace s2::experiments
