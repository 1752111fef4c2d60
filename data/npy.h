#pragma once
// NumPy .npy arrays, as researchers already keep their pixel time series: values (N, T, B) of any
// float or integer type, and labels (N) in a .npy or a one-column .csv.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace s2::data {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> values;  // converted from the file's dtype, C order
};

// Reads little-endian <f4/<f8/<i1..<i8/<u1..<u8 and bool (|b1, as 0 and 1) arrays in C order (format
// versions 1 to 3).
NpyArray read_npy(const std::string& path);

// Writes a little-endian float32 array (format version 1, C order) atomically: what NumPy's
// np.load reads, for handing tensors to other frameworks.
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& values);

// Values (N, T, B) and labels as class indices into `class_names` (from .npy or .csv). Samples are
// their own groups unless `groups_path` (.npy or .csv, one id per sample, or a .csv of one name per
// sample such as a region, kept as the group names) is given. NaN values are
// gaps (data/gap_filling); infinite ones are errors.
PixelDataset read_npy_dataset(const std::string& values_path, const std::string& labels_path,
                              const std::vector<std::string>& class_names,
                              const std::string& groups_path = "");

}  // namespace s2::data
