#include "experiments/maps/map_block.h"

#include "framework/byte_codec.h"

namespace s2::experiments {

std::string map_block_bytes(const MapBlock& b) {
  ByteWriter w;
  for (const int64_t v : {b.window.x, b.window.y, b.window.width, b.window.height, b.mapped})
    w.put<int64_t>(v);
  for (const double v : {b.io_seconds, b.preprocess_seconds, b.network_seconds}) w.put<double>(v);
  w.put_array(b.classes);
  w.put_array(b.uncertainty);
  w.put_array(b.probabilities);
  w.put_array(b.attention.dates);
  w.put_array(b.attention.bands);
  w.put_array(b.attention.peak);
  return std::move(w.bytes());
}

MapBlock parse_map_block(const std::string& bytes, const std::string& source) {
  ByteReader r(bytes, 0, source);
  MapBlock b;
  for (int64_t* v : {&b.window.x, &b.window.y, &b.window.width, &b.window.height, &b.mapped})
    *v = r.get<int64_t>("block header");
  for (double* v : {&b.io_seconds, &b.preprocess_seconds, &b.network_seconds})
    *v = r.get<double>("block timings");
  b.classes = r.get_array<uint8_t>("classes");
  b.uncertainty = r.get_array<float>("uncertainty");
  b.probabilities = r.get_array<float>("probabilities");
  b.attention.dates = r.get_array<float>("attention per date");
  b.attention.bands = r.get_array<float>("attention per band");
  b.attention.peak = r.get_array<int32_t>("attention peak");
  S2_CHECK(r.at_end(), "{}: unexpected bytes after the block", source);
  return b;
}

}  // namespace s2::experiments
