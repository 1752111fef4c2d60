#pragma once
// Little-endian binary records (the checkpoint format, results passed between MPI ranks): a writer that
// appends values, and a reader that checks every read against the end and names its source in errors.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "framework/error.h"

namespace s2 {

class ByteWriter {
 public:
  template <typename T>
  void put(T value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void put_str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes_ += s;
  }
  void put_floats(const float* data, uint64_t count) {
    bytes_.append(reinterpret_cast<const char*>(data), count * sizeof(float));
  }
  // A vector of plain values as put_str writes bytes: their length in bytes, then the bytes.
  template <typename T>
  void put_array(const std::vector<T>& values) {
    put<uint64_t>(values.size() * sizeof(T));
    bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  // `source` begins every error message ("checkpoint 'model.ckpt'").
  ByteReader(const std::string& bytes, size_t pos, std::string source)
      : bytes_(bytes), pos_(pos), source_(std::move(source)) {}

  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string get_str(const char* what) {
    const auto n = get<uint64_t>(what);
    need(n, what);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }

  // What put_array wrote; a length that is not a whole number of values is an error.
  template <typename T>
  std::vector<T> get_array(const char* what) {
    const auto n = get<uint64_t>(what);
    need(n, what);
    S2_CHECK(n % sizeof(T) == 0, "{}: {} bytes of {} is not a whole number of values", source_, n, what);
    std::vector<T> values(n / sizeof(T));
    if (n > 0) std::memcpy(values.data(), bytes_.data() + pos_, n);  // an empty vector's data() may be null
    pos_ += n;
    return values;
  }

  void get_floats(float* dst, uint64_t count, const std::string& what) {
    S2_CHECK(count <= (bytes_.size() - pos_) / sizeof(float), "{}: data of {} runs past the end", source_,
             what);
    std::memcpy(dst, bytes_.data() + pos_, count * sizeof(float));
    pos_ += count * sizeof(float);
  }

  size_t pos() const { return pos_; }
  const std::string& source() const { return source_; }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  void need(uint64_t n, const char* what) {
    S2_CHECK(n <= bytes_.size() - pos_, "{}: truncated while reading {}", source_, what);
  }
  const std::string& bytes_;
  size_t pos_;
  std::string source_;
};

}  // namespace s2
