#pragma once
// Pixel CSV layout of the Victoria data: header, then `label,object_id,v0,v1,...` per row, the values
// date-major (all bands of date 1, then date 2, ...). Two columns the header names lat and lon (or
// latitude, longitude) hold each sample's WGS84 coordinates instead of values.
#include <string>

#include "data/dataset.h"

namespace s2::data {

struct PixelCsvOptions {
  int64_t bands = 10;
  // With names, a label value is the index of its name; without, label values become indices in
  // sorted order and are their own names.
  std::vector<std::string> class_names = {};
};

// Throws s2::Error naming the file, line and column for malformed rows or infinite values. An empty
// value field, NaN or NA is a gap (NaN), for data/gap_filling.
PixelDataset read_pixel_csv(const std::string& path, const PixelCsvOptions& options = {});

}  // namespace s2::data
