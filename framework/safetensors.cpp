#include "framework/safetensors.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>

#include "framework/atomic_file.h"
#include "framework/error.h"

namespace s2 {

static_assert(std::endian::native == std::endian::little, "safetensors data are little endian");

namespace {

std::string json_quote(const std::string& s) {
  std::string q = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      q += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    } else {
      q += c;
    }
  }
  return q + "\"";
}

// A reader of the JSON subset a safetensors header uses: objects, arrays, strings and integers.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  struct Entry {
    std::string dtype;
    std::vector<int64_t> shape;
    int64_t begin = -1, end = -1;
  };

  void parse(std::vector<std::pair<std::string, Entry>>& entries,
             std::map<std::string, std::string>& metadata) {
    expect('{');
    if (peek() == '}') {
      ++i_;
      return finish();
    }
    do {
      const std::string name = string();
      expect(':');
      if (name == "__metadata__") {
        expect('{');
        if (peek() != '}') {
          do {
            const std::string key = string();
            expect(':');
            metadata[key] = string();
          } while (comma());
        }
        expect('}');
      } else {
        entries.emplace_back(name, entry(name));
      }
    } while (comma());
    expect('}');
    finish();
  }

 private:
  Entry entry(const std::string& name) {
    Entry e;
    expect('{');
    do {
      const std::string key = string();
      expect(':');
      if (key == "dtype") {
        e.dtype = string();
      } else if (key == "shape") {
        e.shape = integers();
      } else if (key == "data_offsets") {
        const std::vector<int64_t> range = integers();
        if (range.size() != 2)
          fail(fmt::format("tensor '{}' has {} data offsets, not 2", name, range.size()));
        e.begin = range[0], e.end = range[1];
      } else {
        fail(fmt::format("tensor '{}' has an unknown key '{}'", name, key));
      }
    } while (comma());
    expect('}');
    if (e.dtype.empty() || e.begin < 0)
      fail(fmt::format("tensor '{}' lacks its dtype or data_offsets", name));
    return e;
  }
  std::vector<int64_t> integers() {
    std::vector<int64_t> v;
    expect('[');
    if (peek() == ']') {
      ++i_;
      return v;
    }
    do {
      skip_space();
      const size_t start = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      if (i_ == start || i_ - start > 15) fail("expected a non-negative integer");
      v.push_back(std::stoll(s_.substr(start, i_ - start)));
    } while (comma());
    expect(']');
    return v;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\') {
        if (i_ >= s_.size()) break;
        c = s_[i_++];
        if (c == 'n')
          c = '\n';
        else if (c == 't')
          c = '\t';
        else if (c == 'u') {
          if (i_ + 4 > s_.size()) fail("a \\u escape is cut short");
          // Exactly four hex digits, read by hand: std::stoul would accept "+1 x" and throw on "zzzz".
          unsigned code = 0;
          for (int d = 0; d < 4; ++d) {
            const char h = s_[i_++];
            const int v = h >= '0' && h <= '9'   ? h - '0'
                          : h >= 'a' && h <= 'f' ? h - 'a' + 10
                          : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                 : -1;
            if (v < 0) fail("a \\u escape needs four hex digits");
            code = code * 16 + static_cast<unsigned>(v);
          }
          if (code > 0x7f) fail("a non-ASCII \\u escape (not written by s2cbam or safetensors)");
          c = static_cast<char>(code);
        } else if (c != '"' && c != '\\' && c != '/') {
          fail(fmt::format("an unknown escape \\{}", c));
        }
      }
      out += c;
    }
    expect('"');
    return out;
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  char peek() {
    skip_space();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("expected '{}' at byte {} of the header", c, i_));
    ++i_;
  }
  bool comma() {
    if (peek() != ',') return false;
    ++i_;
    return true;
  }
  void finish() {
    if (peek() != '\0') fail(fmt::format("unexpected text after the header's object at byte {}", i_));
  }
  [[noreturn]] void fail(const std::string& why) {
    throw Error(fmt::format("'{}': bad safetensors header: {}", path_, why));
  }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1u, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // subnormal
  else if (exponent == 31)
    magnitude = mantissa ? NAN : INFINITY;
  else
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  return sign ? -magnitude : magnitude;
}

}  // namespace

void save_safetensors(const std::string& path, const SafeTensors& file) {
  std::string header = "{";
  if (!file.metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : file.metadata) {
      header += fmt::format("{}{}:{}", first ? "" : ",", json_quote(key), json_quote(value));
      first = false;
    }
    header += "},";
  }
  std::string data;
  const auto add = [&](const std::string& name, const char* dtype, const std::vector<int64_t>& shape,
                       const void* bytes, size_t size) {
    header += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}},",
                          json_quote(name), dtype, fmt::join(shape, ","), data.size(), data.size() + size);
    data.append(static_cast<const char*>(bytes), size);
  };
  for (const auto& [name, t] : file.tensors) {
    const std::vector<float> v = t.to_vector();
    add(name, "F32", t.shape(), v.data(), v.size() * sizeof(float));
  }
  for (const auto& [name, value] : file.integers) add(name, "I64", {}, &value, sizeof value);
  if (header.back() == ',') header.pop_back();
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data start 8-byte aligned
  const uint64_t size = header.size();
  std::string bytes(reinterpret_cast<const char*>(&size), sizeof size);
  write_file_atomic(path, bytes + header + data);
}

SafeTensors load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  S2_CHECK(in, "cannot open '{}'", path);
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  S2_CHECK(bytes.size() >= 8, "'{}' is too short for a safetensors file ({} bytes)", path, bytes.size());
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  S2_CHECK(header_size <= bytes.size() - 8, "'{}': the header claims {} bytes but the file has {} after it",
           path, header_size, bytes.size() - 8);
  const std::string header = bytes.substr(8, header_size);
  std::vector<std::pair<std::string, HeaderParser::Entry>> entries;
  SafeTensors file;
  HeaderParser(header, path).parse(entries, file.metadata);
  const char* data = bytes.data() + 8 + header_size;
  const auto data_size = static_cast<int64_t>(bytes.size() - 8 - header_size);
  for (const auto& [name, e] : entries) {
    int64_t numel = 1;
    for (const int64_t d : e.shape) {
      S2_CHECK(d >= 0 && (d == 0 || numel <= (int64_t{1} << 40) / std::max<int64_t>(d, 1)),
               "'{}': tensor '{}' has an impossible shape", path, name);
      numel *= d;
    }
    const int64_t width = e.dtype == "F64" || e.dtype == "I64"    ? 8
                          : e.dtype == "F32"                      ? 4
                          : e.dtype == "F16" || e.dtype == "BF16" ? 2
                                                                  : 0;
    S2_CHECK(width > 0, "'{}': tensor '{}' has dtype {}; s2cbam reads F32, F64, F16, BF16 and I64", path,
             name, e.dtype);
    S2_CHECK(e.begin <= e.end && e.end <= data_size && e.end - e.begin == numel * width,
             "'{}': tensor '{}' has the byte range [{}, {}), which is not its {} values of {} bytes within "
             "the {} data "
             "bytes",
             path, name, e.begin, e.end, numel, width, data_size);
    const char* p = data + e.begin;
    if (e.dtype == "I64") {
      S2_CHECK(numel == 1, "'{}': int64 tensor '{}' is not a scalar (s2cbam models hold only float tensors)",
               path, name);
      int64_t v = 0;
      std::memcpy(&v, p, 8);
      file.integers.emplace_back(name, v);
      continue;
    }
    std::vector<float> values(static_cast<size_t>(numel));
    for (size_t i = 0; i < values.size(); ++i) {
      if (e.dtype == "F32") {
        std::memcpy(&values[i], p + 4 * i, 4);
      } else if (e.dtype == "F64") {
        double d = 0;
        std::memcpy(&d, p + 8 * i, 8);
        values[i] = static_cast<float>(d);
      } else {
        uint16_t h = 0;
        std::memcpy(&h, p + 2 * i, 2);
        if (e.dtype == "BF16") {
          const uint32_t word = static_cast<uint32_t>(h) << 16;
          std::memcpy(&values[i], &word, 4);
        } else {
          values[i] = half_to_float(h);
        }
      }
    }
    file.tensors.emplace_back(name, Tensor::from_vector(e.shape, values));
  }
  return file;
}

}  // namespace s2
