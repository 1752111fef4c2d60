#include "data/npy.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "data/csv.h"
#include "framework/atomic_file.h"
#include "framework/error.h"

namespace s2::data {

namespace {
template <typename T>
void convert(const char* raw, size_t count, std::vector<double>& out) {
  for (size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, raw + i * sizeof(T), sizeof(T));
    out.push_back(static_cast<double>(v));
  }
}

// One integer per line (a header line that is not a number is skipped).
std::vector<double> read_csv_column(const std::string& path) {
  std::vector<double> out;
  for (const auto& [line_no, line] : read_lines(path, "file")) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    if (line_no == 1 && ec != std::errc()) continue;
    S2_CHECK(ec == std::errc() && end == line.data() + line.size(), "{}:{}: '{}' is not an integer", path,
             line_no, line);
    out.push_back(static_cast<double>(v));
  }
  return out;
}

// The lines of a text file, without line ends and blank lines.
std::vector<std::string> text_lines(const std::string& path) {
  std::vector<std::string> out;
  for (auto& line : read_lines(path, "file")) out.push_back(std::move(line.text));
  return out;
}

bool is_integer(const std::string& s) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

std::vector<double> read_column(const std::string& path);

// Group ids of `samples` samples from integers (.npy or .csv) or from names in a .csv, one per line
// (regions, farms): a name's id is its order of first appearance, and the names are kept. A names file
// with one line more than there are samples starts with a header.
void read_groups(const std::string& path, int64_t samples, PixelDataset& d) {
  std::vector<std::string> lines = path.ends_with(".csv") ? text_lines(path) : std::vector<std::string>{};
  const bool names = lines.size() > 1 && !std::all_of(lines.begin() + 1, lines.end(), is_integer);
  if (!names) {
    for (double g : read_column(path)) d.groups.push_back(static_cast<int64_t>(g));
  } else {
    if (static_cast<int64_t>(lines.size()) == samples + 1) lines.erase(lines.begin());
    for (const std::string& name : lines) {
      const auto at = std::find(d.group_names.begin(), d.group_names.end(), name);
      d.groups.push_back(at - d.group_names.begin());
      if (at == d.group_names.end()) d.group_names.push_back(name);
    }
  }
  S2_CHECK(static_cast<int64_t>(d.groups.size()) == samples, "'{}' has {} group {} for {} samples", path,
           d.groups.size(), names ? "names" : "ids", samples);
}

std::vector<double> read_column(const std::string& path) {
  if (path.ends_with(".csv")) return read_csv_column(path);
  NpyArray a = read_npy(path);
  S2_CHECK(a.shape.size() == 1, "'{}' must be one-dimensional, has shape ({})", path,
           fmt::join(a.shape, ", "));
  return a.values;
}
}  // namespace

NpyArray read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  S2_CHECK(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, "'{}' is not a .npy file (bad magic)",
           path);
  const int major = static_cast<unsigned char>(bytes[6]);
  S2_CHECK(major >= 1 && major <= 3, "'{}': .npy format version {} is not supported", path, major);
  const size_t len_bytes = major == 1 ? 2 : 4;
  size_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i)
    header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  const size_t data_start = 8 + len_bytes + header_len;
  S2_CHECK(data_start <= bytes.size(), "'{}': truncated header", path);
  const std::string header = bytes.substr(8 + len_bytes, header_len);
  std::smatch m;
  S2_CHECK(std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([<>|=])([fiub])(\d{1,2})')")),
           "'{}': no dtype in header {}", path, header);
  const std::string order = m[1], kind = m[2];
  const int size = std::stoi(m[3]);
  S2_CHECK(order != ">" || size == 1, "'{}': big-endian data is not supported", path);
  S2_CHECK(std::regex_search(header, std::regex(R"('fortran_order'\s*:\s*False)")),
           "'{}': Fortran-order arrays are not supported; save with np.ascontiguousarray", path);
  S2_CHECK(std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")),
           "'{}': no shape in header", path);
  NpyArray a;
  const std::string dims = m[1];
  // Comma-separated dimensions, each a non-negative integer ("(3,)" and "()" included).
  std::string item;
  std::stringstream items(dims);
  while (std::getline(items, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    int64_t d = -1;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), d);
    S2_CHECK(ec == std::errc() && end == item.data() + item.size() && d >= 0,
             "'{}': shape ({}) has the dimension '{}', not a non-negative integer", path, dims, item);
    a.shape.push_back(d);
  }
  size_t count = 1;
  for (int64_t d : a.shape) count *= static_cast<size_t>(d);
  S2_CHECK(bytes.size() - data_start == count * static_cast<size_t>(size),
           "'{}': truncated or padded: shape ({}) of {}-byte values needs {} bytes, file has {}", path,
           fmt::join(a.shape, ", "), size, count * static_cast<size_t>(size), bytes.size() - data_start);
  const char* raw = bytes.data() + data_start;
  a.values.reserve(count);
  const std::string dtype = kind + std::to_string(size);
  if (dtype == "f4")
    convert<float>(raw, count, a.values);
  else if (dtype == "f8")
    convert<double>(raw, count, a.values);
  else if (dtype == "i1")
    convert<int8_t>(raw, count, a.values);
  else if (dtype == "i2")
    convert<int16_t>(raw, count, a.values);
  else if (dtype == "i4")
    convert<int32_t>(raw, count, a.values);
  else if (dtype == "i8")
    convert<int64_t>(raw, count, a.values);
  else if (dtype == "u1" || dtype == "b1")  // NumPy's bool is one byte, 0 or 1
    convert<uint8_t>(raw, count, a.values);
  else if (dtype == "u2")
    convert<uint16_t>(raw, count, a.values);
  else if (dtype == "u4")
    convert<uint32_t>(raw, count, a.values);
  else if (dtype == "u8")
    convert<uint64_t>(raw, count, a.values);
  else
    fail("'{}': dtype {} is not supported", path, dtype);
  return a;
}

PixelDataset read_npy_dataset(const std::string& values_path, const std::string& labels_path,
                              const std::vector<std::string>& class_names, const std::string& groups_path) {
  S2_CHECK(!labels_path.empty(), "'{}': a labels file (.npy or .csv) is needed beside the values",
           values_path);
  const NpyArray x = read_npy(values_path);
  S2_CHECK(x.shape.size() == 3, "'{}' must have shape (N, T, B), has ({})", values_path,
           fmt::join(x.shape, ", "));
  const std::vector<double> labels = read_column(labels_path);
  S2_CHECK(static_cast<int64_t>(labels.size()) == x.shape[0], "'{}' has {} labels for {} samples in '{}'",
           labels_path, labels.size(), x.shape[0], values_path);
  S2_CHECK(!class_names.empty(), "'{}': the config must name the classes of the label values", labels_path);
  PixelDataset d;
  d.source = values_path;
  d.timesteps = x.shape[1];
  d.bands = x.shape[2];
  d.class_names = class_names;
  const auto per_sample = static_cast<size_t>(d.timesteps * d.bands), per_date = static_cast<size_t>(d.bands);
  for (size_t i = 0; i < x.values.size(); ++i) {
    const auto v = static_cast<float>(x.values[i]);  // a float64 beyond float32's range turns infinite here
    // NaN is a date the point was not seen (a gap, filled in time later); infinity is no observation.
    S2_CHECK(!std::isinf(v), "'{}': value {} of sample {} (date {}, band {}) is infinite in float32",
             values_path, x.values[i], i / per_sample, i % per_sample / per_date + 1, i % per_date + 1);
    d.values.push_back(v);
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    const double l = labels[i];
    S2_CHECK(l >= 0 && l < static_cast<double>(class_names.size()) && l == std::floor(l),
             "'{}': unknown label {} of sample {} (the config names {} classes)", labels_path, l, i,
             class_names.size());
    d.labels.push_back(static_cast<int32_t>(l));
  }
  if (groups_path.empty()) {
    for (int64_t i = 0; i < x.shape[0]; ++i) d.groups.push_back(i);
  } else {
    read_groups(groups_path, x.shape[0], d);
  }
  return d;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& values) {
  int64_t count = 1;
  std::string dims;
  for (const int64_t d : shape) {
    count *= d;
    dims += std::to_string(d) + ",";
  }
  S2_CHECK(count == static_cast<int64_t>(values.size()), "write_npy {}: shape holds {} values, got {}", path,
           count, values.size());
  if (shape.size() > 1) dims.pop_back();  // (3,) for one dimension, (2, 3) otherwise
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic, version, header length, header padded with spaces to a multiple of 64 bytes, ending in '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  const auto len = static_cast<uint16_t>(header.size());
  bytes += static_cast<char>(len & 0xff);
  bytes += static_cast<char>(len >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  write_file_atomic(path, bytes);
}

}  // namespace s2::data
