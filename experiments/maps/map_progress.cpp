#include "experiments/maps/map_progress.h"

#include <fmt/format.h>

#include <filesystem>
#include <sstream>

#include "data/map_writer.h"
#include "framework/atomic_file.h"
#include "framework/error.h"

namespace s2::experiments {

std::string map_progress_path(const std::string& output) {
  return data::partial_path(output) + ".progress";
}

std::optional<MapProgress> read_map_progress(const std::string& path) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  std::istringstream in(read_file(path));
  MapProgress p;
  std::string key_fingerprint, key_done, key_total;
  in >> key_fingerprint >> p.fingerprint >> key_done >> p.blocks_done >> key_total >> p.blocks_total;
  S2_CHECK(
      in && key_fingerprint == "fingerprint" && key_done == "blocks_done" && key_total == "blocks_total" &&
          p.blocks_done >= 0 && p.blocks_done <= p.blocks_total,
      "'{}' is not a map progress file (fingerprint, blocks_done, blocks_total); delete it and the .part "
      "files beside it to start the map over",
      path);
  return p;
}

void write_map_progress(const std::string& path, const MapProgress& p) {
  write_file_atomic(path, fmt::format("fingerprint {}\nblocks_done {}\nblocks_total {}\n", p.fingerprint,
                                      p.blocks_done, p.blocks_total));
}

}  // namespace s2::experiments
