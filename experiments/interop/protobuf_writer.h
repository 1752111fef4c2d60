#pragma once
// The protobuf wire format, as much of it as an ONNX file needs: varints, 32-bit floats, and
// length-delimited strings and messages. A message is built bottom-up: each nested message is written
// to its own ProtoWriter and added to its parent as bytes. (Writing this ourselves keeps the build free
// of protoc, libprotobuf and the ONNX schema for what is a few hundred bytes of framing around the
// weights; the file is checked by onnxruntime in scripts/onnx_reference.py.)
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace s2::experiments {

class ProtoWriter {
 public:
  // Field `field` as a varint (int32, int64, enum, bool).
  ProtoWriter& varint(int field, uint64_t v) {
    tag(field, 0);
    raw_varint(v);
    return *this;
  }
  ProtoWriter& float32(int field, float v) {
    tag(field, 5);
    char b[4];
    std::memcpy(b, &v, 4);  // little endian, as the wire format wants (x86, ARM)
    bytes_.append(b, 4);
    return *this;
  }
  // A string, bytes or an embedded message.
  ProtoWriter& bytes(int field, std::string_view v) {
    tag(field, 2);
    raw_varint(v.size());
    bytes_.append(v);
    return *this;
  }
  ProtoWriter& message(int field, const ProtoWriter& m) { return bytes(field, m.str()); }
  // A packed repeated int64 field.
  ProtoWriter& packed_varints(int field, const std::vector<int64_t>& values) {
    ProtoWriter inner;
    for (const int64_t v : values) inner.raw_varint(static_cast<uint64_t>(v));
    return bytes(field, inner.str());
  }
  const std::string& str() const { return bytes_; }

 private:
  void tag(int field, int wire_type) {
    raw_varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire_type));
  }
  void raw_varint(uint64_t v) {
    while (v >= 0x80) {
      bytes_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    bytes_ += static_cast<char>(v);
  }
  std::string bytes_;
};

}  // namespace s2::experiments
