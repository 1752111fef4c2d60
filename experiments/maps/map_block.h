#pragma once
// One map block's results, as predict_map writes them, and as bytes: blocks computed on other MPI ranks
// travel to rank 0, which alone writes the map, in block order.
#include <cstdint>
#include <string>
#include <vector>

#include "data/map_writer.h"
#include "data/raster_series.h"

namespace s2::experiments {

struct MapBlock {
  data::Window window;
  std::vector<uint8_t> classes;      // 0 = no data
  std::vector<float> uncertainty;    // data::kUncertaintyLayers planes
  std::vector<float> probabilities;  // [class][pixel]; empty when the cube is not written
  data::AttentionBlock attention;    // empty without attention layers
  int64_t mapped = 0;                // pixels with a class
  double io_seconds = 0, preprocess_seconds = 0, network_seconds = 0;
};

std::string map_block_bytes(const MapBlock& block);
// `source` names the bytes in errors.
MapBlock parse_map_block(const std::string& bytes, const std::string& source);

}  // namespace s2::experiments
