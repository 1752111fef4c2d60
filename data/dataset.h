#pragma once
// Pixel time series in memory: N samples of T dates x B bands (date-major), with class labels and
// a group id per sample (parcel or polygon) for honest grouped splits.
#include <cstdint>
#include <string>
#include <vector>

#include "framework/module.h"
#include "framework/random.h"
#include "framework/tensor.h"

namespace s2::data {

struct PixelDataset {
  int64_t timesteps = 0, bands = 0;
  std::vector<float> values;  // [N, T, B]
  std::vector<int32_t> labels;
  std::vector<int64_t> groups;
  std::vector<int32_t> xs, ys;           // pixel column and row in the source raster (empty for tables)
  std::vector<double> lats, lons;        // WGS84 degrees per sample, empty when the data has none
  std::vector<std::string> group_names;  // a group id's name (a region), when groups came as names
  std::vector<std::string> class_names;  // index = label
  std::string source;                    // where the samples came from, for messages

  // Samples held; labels are empty for unlabelled data (e.g. pixels of a map).
  int64_t size() const {
    const int64_t per = timesteps * bands;
    return per > 0 ? static_cast<int64_t>(values.size()) / per : 0;
  }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  const float* sample(int64_t i) const { return values.data() + i * timesteps * bands; }
  bool has_coordinates() const { return !lats.empty(); }
  PixelDataset subset(const std::vector<int64_t>& indices) const;
  // Appends sample i's label, group, raster position and coordinates from `from` (not its values): what
  // every selection of samples carries along.
  void append_sample_info(const PixelDataset& from, int64_t i);
  std::vector<int64_t> class_counts() const;
};

// Keeps the classes with at least `min_pixels` samples in at least `min_groups` groups, renumbered in
// their old order; the names of the dropped classes go to `dropped`.
PixelDataset filter_classes(const PixelDataset& d, int64_t min_pixels, int64_t min_groups,
                            std::vector<std::string>* dropped = nullptr);

// Linear interpolation of regularly spaced series from T to `steps` dates (first and last kept).
PixelDataset resample_regular(const PixelDataset& d, int64_t steps);

// Per-band standardisation with statistics from one split (the training split) only.
struct BandNormaliser {
  std::vector<float> mean, stddev;
  static BandNormaliser fit(const PixelDataset& train);
  void apply(PixelDataset& d) const;
  NamedTensors state() const;
  static BandNormaliser from_state(const NamedTensors& state, const std::string& source);
};

// A batch as the model takes it: x (n, 1, T, B), labels, and where the samples are, (n, 2) latitude and
// longitude in degrees (undefined when the data has no coordinates).
struct Batch {
  Tensor x;
  std::vector<int32_t> labels;
  Tensor location;
};
Batch make_batch(const PixelDataset& d, const std::vector<int64_t>& order, int64_t begin, int64_t end);
// Samples [begin, end) of a batch, a copy (a shard of it for data-parallel training).
Batch slice_batch(const Batch& batch, int64_t begin, int64_t end);

// 0..n-1 in a seeded random order.
std::vector<int64_t> shuffled_indices(int64_t n, Generator& generator);

}  // namespace s2::data
