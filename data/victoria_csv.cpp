#include "data/victoria_csv.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <string_view>

#include "data/coordinates.h"
#include "framework/error.h"

namespace s2::data {

namespace {
std::vector<std::string_view> split_commas(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma - start));
    if (comma == std::string_view::npos) {
      return fields;
    }
    start = comma + 1;
  }
}

template <typename T>
T parse_number(std::string_view field, const std::string& path, int64_t line, size_t column) {
  while (!field.empty() && (field.front() == ' ' || field.front() == '"')) field.remove_prefix(1);
  while (!field.empty() && (field.back() == ' ' || field.back() == '"' || field.back() == '\r')) {
    field.remove_suffix(1);
  }
  if constexpr (std::is_floating_point_v<T>) {
    // An empty field, NaN or NA is a date the point was not seen: a gap, filled in time later.
    if (field.empty() || field == "nan" || field == "NaN" || field == "NA")
      return std::numeric_limits<T>::quiet_NaN();
  }
  T value{};
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  S2_CHECK(ec == std::errc() && end == field.data() + field.size() && !field.empty(),
           "{}:{}: column {}: '{}' is not a number", path, line, column + 1, field);
  if constexpr (std::is_floating_point_v<T>) {
    S2_CHECK(std::isfinite(value), "{}:{}: column {}: value {} is infinite", path, line, column + 1, field);
  }
  return value;
}
}  // namespace

PixelDataset read_pixel_csv(const std::string& path, const PixelCsvOptions& options) {
  std::ifstream in(path);
  S2_CHECK(in.good(), "cannot open pixel CSV '{}'", path);
  std::string line;
  S2_CHECK(static_cast<bool>(std::getline(in, line)), "pixel CSV '{}' is empty", path);
  const auto header = split_commas(line);
  const size_t columns = header.size();
  // Columns after the label and the object id named lat/lon (data/coordinates.h) are where the sample
  // is; all others are values.
  size_t lat = 0, lon = 0;
  for (size_t c = 2; c < columns; ++c) {
    const CoordinateColumn kind = coordinate_column(header[c]);
    if (kind == CoordinateColumn::Latitude) lat = c;
    if (kind == CoordinateColumn::Longitude) lon = c;
  }
  S2_CHECK((lat == 0) == (lon == 0), "{}:1: the header names a {} column but no {} column", path,
           lat != 0 ? "latitude" : "longitude", lat != 0 ? "longitude" : "latitude");
  const size_t value_columns = columns < 2 ? 0 : columns - 2 - (lat != 0 ? 2 : 0);
  S2_CHECK(columns > 2 && value_columns > 0 && value_columns % static_cast<size_t>(options.bands) == 0,
           "{}:1: {} value columns are not a whole number of dates of {} bands", path, value_columns,
           options.bands);
  PixelDataset d;
  d.source = path;
  d.bands = options.bands;
  d.timesteps = static_cast<int64_t>(value_columns) / options.bands;
  std::vector<int64_t> raw_labels;
  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") {
      continue;
    }
    const auto fields = split_commas(line);
    S2_CHECK(fields.size() == columns, "{}:{}: {} columns, the header has {}", path, line_no, fields.size(),
             columns);
    raw_labels.push_back(parse_number<int64_t>(fields[0], path, line_no, 0));
    d.groups.push_back(parse_number<int64_t>(fields[1], path, line_no, 1));
    for (size_t c = 2; c < columns; ++c) {
      if (c == lat || c == lon) continue;
      d.values.push_back(parse_number<float>(fields[c], path, line_no, c));
    }
    if (lat != 0) {
      d.lats.push_back(parse_number<double>(fields[lat], path, line_no, lat));
      d.lons.push_back(parse_number<double>(fields[lon], path, line_no, lon));
    }
  }
  S2_CHECK(!raw_labels.empty(), "pixel CSV '{}' has a header but no samples", path);
  check_coordinates({d.lats, d.lons}, path);
  if (!options.class_names.empty()) {
    // Labels are class indices into the given names, so several files share one mapping.
    d.class_names = options.class_names;
    for (int64_t l : raw_labels) {
      S2_CHECK(l >= 0 && l < static_cast<int64_t>(d.class_names.size()),
               "'{}': unknown label {} (the config names {} classes)", path, l, d.class_names.size());
      d.labels.push_back(static_cast<int32_t>(l));
    }
    return d;
  }
  std::map<int64_t, int32_t> index;
  for (int64_t l : raw_labels) {
    index.emplace(l, 0);
  }
  int32_t next = 0;
  for (auto& [label, i] : index) {
    i = next++;
    d.class_names.push_back(std::to_string(label));
  }
  for (int64_t l : raw_labels) {
    d.labels.push_back(index[l]);
  }
  return d;
}

}  // namespace s2::data
