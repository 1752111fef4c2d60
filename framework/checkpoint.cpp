#include "framework/checkpoint.h"

#include <array>
#include <cmath>
#include <cstring>

#include "framework/atomic_file.h"
#include "framework/byte_codec.h"
#include "framework/error.h"

namespace s2 {

namespace {
constexpr char kMagic[8] = {'S', '2', 'C', 'B', 'A', 'M', 'C', 'K'};
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 4;

}  // namespace

uint32_t crc32(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) {
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      }
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

const Tensor& Checkpoint::get(const std::string& name) const {
  for (const auto& [key, t] : tensors) {
    if (key == name) {
      return t;
    }
  }
  fail("checkpoint has no tensor '{}'", name);
}

bool Checkpoint::has(const std::string& name) const {
  for (const auto& [key, t] : tensors) {
    if (key == name) {
      return true;
    }
  }
  return false;
}

void Checkpoint::add(const std::string& prefix, const NamedTensors& items) {
  for (const auto& [name, t] : items) {
    tensors.emplace_back(prefix + "." + name, t.detach());
  }
}

void Checkpoint::restore(const std::string& prefix, const NamedTensors& items,
                         const std::string& path) const {
  for (const auto& [name, target] : items) {
    const std::string key = prefix + "." + name;
    S2_CHECK(has(key), "checkpoint '{}': tensor '{}' is missing (written by another model?)", path, key);
    const Tensor& source = get(key);
    S2_CHECK(source.shape() == target.shape(), "checkpoint '{}': tensor '{}' has shape {}, model expects {}",
             path, key, shape_str(source.shape()), shape_str(target.shape()));
    Tensor dst = target;
    dst.copy_from(source);
  }
}

NamedTensors Checkpoint::with_prefix(const std::string& prefix) const {
  NamedTensors out;
  const std::string p = prefix + ".";
  for (const auto& [key, t] : tensors) {
    if (key.starts_with(p)) {
      out.emplace_back(key.substr(p.size()), t);
    }
  }
  return out;
}

std::string checkpoint_bytes(const Checkpoint& ck) {
  ByteWriter payload;
  payload.put<uint64_t>(ck.step);
  payload.put_str(ck.config);
  payload.put_str(ck.metadata);
  payload.put<uint64_t>(ck.tensors.size());
  for (const auto& [name, t] : ck.tensors) {
    payload.put_str(name);
    payload.put<uint32_t>(static_cast<uint32_t>(t.ndim()));
    for (int64_t d : t.shape()) payload.put<int64_t>(d);
    const Tensor host = t.to(Device::CPU);  // device tensors are saved through a host copy
    payload.put_floats(host.data(), static_cast<uint64_t>(host.numel()));
  }
  ByteWriter file;
  file.bytes().assign(kMagic, sizeof(kMagic));
  file.put<uint32_t>(Checkpoint::kVersion);
  file.put<uint64_t>(payload.bytes().size());
  file.put<uint32_t>(crc32(payload.bytes().data(), payload.bytes().size()));
  return file.bytes() + payload.bytes();
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  write_file_atomic(path, checkpoint_bytes(checkpoint));
}

Checkpoint load_checkpoint(const std::string& path) {
  return parse_checkpoint(read_file(path), path);
}

Checkpoint parse_checkpoint(const std::string& bytes, const std::string& path) {
  S2_CHECK(bytes.size() >= sizeof(kMagic) && std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) == 0,
           "'{}' is not an s2cbam checkpoint (bad magic bytes)", path);
  S2_CHECK(bytes.size() >= kHeaderBytes, "checkpoint '{}': truncated header ({} bytes)", path, bytes.size());
  const std::string source = fmt::format("checkpoint '{}'", path);
  ByteReader header(bytes, sizeof(kMagic), source);
  const auto version = header.get<uint32_t>("version");
  S2_CHECK(version == Checkpoint::kVersion,
           "checkpoint '{}': version {} is not supported (this build reads {})", path, version,
           Checkpoint::kVersion);
  const auto payload_size = header.get<uint64_t>("payload size");
  const auto crc = header.get<uint32_t>("checksum");
  S2_CHECK(bytes.size() - kHeaderBytes == payload_size,
           "checkpoint '{}': truncated or padded: header says {} payload bytes, file has {}", path,
           payload_size, bytes.size() - kHeaderBytes);
  S2_CHECK(crc32(bytes.data() + kHeaderBytes, payload_size) == crc,
           "checkpoint '{}': checksum mismatch (file is corrupt)", path);
  ByteReader r(bytes, kHeaderBytes, source);
  Checkpoint ck;
  ck.step = r.get<uint64_t>("step");
  ck.config = r.get_str("config");
  ck.metadata = r.get_str("metadata");
  const auto count = r.get<uint64_t>("tensor count");
  for (uint64_t i = 0; i < count; ++i) {
    std::string name = r.get_str("tensor name");
    const auto rank = r.get<uint32_t>("tensor rank");
    S2_CHECK(rank <= 8, "checkpoint '{}': tensor '{}' has implausible rank {}", path, name, rank);
    Shape shape(rank);
    for (auto& d : shape) {
      d = r.get<int64_t>("tensor shape");
      S2_CHECK(d >= 0 && d < (int64_t{1} << 40), "checkpoint '{}': tensor '{}' has a bad dimension {}", path,
               name, d);
    }
    Tensor t = Tensor::empty(shape);
    r.get_floats(t.data(), static_cast<uint64_t>(t.numel()), fmt::format("tensor '{}'", name));
    // A valid checksum only says the bytes are as written: a diverged run's NaN weights are refused here.
    for (int64_t k = 0; k < t.numel(); ++k) {
      S2_CHECK(std::isfinite(t.data()[k]),
               "checkpoint '{}': tensor '{}' holds a NaN or infinite value (element {})", path, name, k);
    }
    ck.tensors.emplace_back(std::move(name), t);
  }
  S2_CHECK(r.pos() == bytes.size(), "checkpoint '{}': {} unexpected bytes after the last tensor", path,
           bytes.size() - r.pos());
  return ck;
}

Fnv1a& Fnv1a::add(const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) h_ = (h_ ^ bytes[i]) * 0x100000001b3ULL;
  return *this;
}

std::string Fnv1a::hex() const {
  return fmt::format("{:016x}", h_);
}

std::string weights_checksum(const NamedTensors& tensors) {
  Fnv1a h;  // the byte stream (name, shape, values, no lengths) is the published checksums' own
  for (const auto& [name, tensor] : tensors) {
    h.add(name);
    for (const int64_t d : tensor.shape()) h.add(&d, sizeof d);
    const std::vector<float> values = tensor.to_vector();
    h.add(values.data(), values.size() * sizeof(float));
  }
  return h.hex();
}

}  // namespace s2
