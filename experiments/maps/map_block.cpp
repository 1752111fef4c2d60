#include "experiments/maps/map_block.h"

#include <cstring>

#include "framework/byte_codec.h"

namespace s2::experiments {

namespace {
template <typename T>
std::vector<T> get_values(ByteReader& r, const char* what) {
  const std::string bytes = r.get_str(what);  // a length in bytes, then the values
  S2_CHECK(bytes.size() % sizeof(T) == 0, "{}: {} bytes of {} is not a whole number of values", r.source(),
           bytes.size(), what);
  std::vector<T> v(bytes.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());  // an empty vector's data() may be null
  return v;
}
}  // namespace

std::string map_block_bytes(const MapBlock& b) {
  ByteWriter w;
  for (const int64_t v : {b.window.x, b.window.y, b.window.width, b.window.height, b.mapped})
    w.put<int64_t>(v);
  for (const double v : {b.io_seconds, b.preprocess_seconds, b.network_seconds}) w.put<double>(v);
  // Each array as a length in bytes and the bytes, which get_values reads back as a string.
  const auto put_array = [&](const auto& v) {
    w.put<uint64_t>(v.size() * sizeof(v[0]));
    w.bytes().append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0]));
  };
  put_array(b.classes);
  put_array(b.uncertainty);
  put_array(b.probabilities);
  put_array(b.attention.dates);
  put_array(b.attention.bands);
  put_array(b.attention.peak);
  return std::move(w.bytes());
}

MapBlock parse_map_block(const std::string& bytes, const std::string& source) {
  ByteReader r(bytes, 0, source);
  MapBlock b;
  for (int64_t* v : {&b.window.x, &b.window.y, &b.window.width, &b.window.height, &b.mapped})
    *v = r.get<int64_t>("block header");
  for (double* v : {&b.io_seconds, &b.preprocess_seconds, &b.network_seconds})
    *v = r.get<double>("block timings");
  b.classes = get_values<uint8_t>(r, "classes");
  b.uncertainty = get_values<float>(r, "uncertainty");
  b.probabilities = get_values<float>(r, "probabilities");
  b.attention.dates = get_values<float>(r, "attention per date");
  b.attention.bands = get_values<float>(r, "attention per band");
  b.attention.peak = get_values<int32_t>(r, "attention peak");
  S2_CHECK(r.at_end(), "{}: unexpected bytes after the block", source);
  return b;
}

}  // namespace s2::experiments
