#pragma once
// One versioned binary checkpoint: named tensors (model weights and buffers, optimiser state,
// normalisation statistics, by prefix), the step, and the run's config text.
//
// Layout (little endian): "S2CBAMCK" | u32 version | u64 payload bytes | u32 CRC-32 of payload |
// payload = u64 step | str config | str metadata | u64 count | count x (str name | u32 rank | i64 dims[rank]
// | f32 data[numel]), where str = u64 length + bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "framework/module.h"

namespace s2 {

struct Checkpoint {
  static constexpr uint32_t kVersion = 1;
  uint64_t step = 0;
  std::string config;
  std::string metadata;  // TOML lines describing the data the model expects (dates, bands, classes)
  NamedTensors tensors;

  const Tensor& get(const std::string& name) const;
  bool has(const std::string& name) const;
  // Adds every tensor of `items` under "prefix.name".
  void add(const std::string& prefix, const NamedTensors& items);
  // Copies every "prefix.name" tensor into the matching tensor of `items`, checking shapes.
  void restore(const std::string& prefix, const NamedTensors& items, const std::string& path) const;
  // The tensors stored under "prefix." with the prefix removed.
  NamedTensors with_prefix(const std::string& prefix) const;
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Throws s2::Error naming the file for a missing, truncated, corrupt or foreign file.
Checkpoint load_checkpoint(const std::string& path);
// The same in memory (a checkpoint passed between MPI ranks): the file's bytes, and back; `path` names
// the source in errors.
std::string checkpoint_bytes(const Checkpoint& checkpoint);
Checkpoint parse_checkpoint(const std::string& bytes, const std::string& path);

uint32_t crc32(const void* data, size_t size);

// 64-bit FNV-1a over bytes fed in order, as 16 hex digits: the checksums and fingerprints below.
class Fnv1a {
 public:
  Fnv1a& add(const void* data, size_t size);
  Fnv1a& add(const std::string& s) { return add(s.data(), s.size()); }
  template <typename T>
  Fnv1a& add(const std::vector<T>& v) {
    add(v.size());
    return add(v.data(), v.size() * sizeof(T));
  }
  Fnv1a& add(uint64_t v) { return add(&v, sizeof v); }
  std::string hex() const;

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

// A fingerprint of trained weights for comparing runs by one line: 64-bit FNV-1a over every tensor's
// name, shape and float bits, in order, as 16 hex digits. Identical weights give identical checksums;
// training is bit-reproducible for a config and seed (README, "Determinism"), so two users can compare
// their runs by it.
std::string weights_checksum(const NamedTensors& tensors);

}  // namespace s2
