#pragma once
// .npy bytes for tests, written by hand so that any header (also an impossible shape) can be claimed.
#include <fmt/format.h>

#include <string>
#include <vector>

namespace s2::testing {

// A .npy file as NumPy writes it: magic, version 1.0, a padded header dict, then the raw values.
template <typename T>
inline std::string npy_bytes(const char* descr, const std::string& shape, const std::vector<T>& values) {
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return out;
}

}  // namespace s2::testing
