#include "experiments/interop/onnx_graph.h"

#include <fmt/format.h>

#include "experiments/interop/protobuf_writer.h"

namespace s2::experiments {

namespace {

// Field numbers and enums of onnx.proto3.
enum TensorType : uint64_t { kFloat = 1, kInt64 = 7 };
enum AttributeType : uint64_t { kAttrFloat = 1, kAttrInt = 2, kAttrInts = 7 };

std::string value_info(const std::string& name, const std::vector<int64_t>& shape_after_batch) {
  ProtoWriter shape;
  shape.message(1, ProtoWriter().bytes(2, "batch"));  // Dimension.dim_param
  for (const int64_t d : shape_after_batch)
    shape.message(1, ProtoWriter().varint(1, static_cast<uint64_t>(d)));
  ProtoWriter tensor;
  tensor.varint(1, kFloat).message(2, shape);  // TypeProto.Tensor: elem_type, shape
  ProtoWriter type;
  type.message(1, tensor);  // TypeProto.tensor_type
  return ProtoWriter().bytes(1, name).message(2, type).str();
}

std::string tensor_proto(const std::string& name, const std::vector<int64_t>& dims, uint64_t type,
                         std::string_view raw) {
  ProtoWriter t;
  for (const int64_t d : dims) t.varint(1, static_cast<uint64_t>(d));  // dims
  t.varint(2, type).bytes(8, name).bytes(9, raw);  // data_type, name, raw_data (little endian)
  return t.str();
}

}  // namespace

std::string OnnxGraph::initializer(const std::string& name, const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  const std::string_view raw(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  initializers_ += ProtoWriter().bytes(5, tensor_proto(name, t.shape(), kFloat, raw)).str();
  return name;
}

std::string OnnxGraph::int64_initializer(const std::string& name, const std::vector<int64_t>& values) {
  const std::string_view raw(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(int64_t));
  initializers_ +=
      ProtoWriter().bytes(5, tensor_proto(name, {static_cast<int64_t>(values.size())}, kInt64, raw)).str();
  return name;
}

std::string OnnxGraph::node(const std::string& op, const std::vector<std::string>& inputs,
                            const std::map<std::string, OnnxAttribute>& attributes,
                            const std::string& output) {
  const std::string out = output.empty() ? fmt::format("{}_{}", op, next_) : output;
  ProtoWriter n;
  for (const std::string& in : inputs) n.bytes(1, in);
  n.bytes(2, out).bytes(3, fmt::format("{}_{}", op, next_++)).bytes(4, op);
  for (const auto& [name, value] : attributes) {
    ProtoWriter a;
    a.bytes(1, name);
    if (const auto* i = std::get_if<int64_t>(&value)) {
      a.varint(20, kAttrInt).varint(3, static_cast<uint64_t>(*i));
    } else if (const auto* f = std::get_if<float>(&value)) {
      a.varint(20, kAttrFloat).float32(2, *f);
    } else {
      a.varint(20, kAttrInts).packed_varints(8, std::get<std::vector<int64_t>>(value));
    }
    n.message(5, a);
  }
  nodes_ += ProtoWriter().message(1, n).str();
  return out;
}

void OnnxGraph::input(const std::string& name, const std::vector<int64_t>& shape_after_batch) {
  inputs_ += ProtoWriter().bytes(11, value_info(name, shape_after_batch)).str();
}

void OnnxGraph::output(const std::string& name, const std::vector<int64_t>& shape_after_batch) {
  outputs_ += ProtoWriter().bytes(12, value_info(name, shape_after_batch)).str();
}

std::string OnnxGraph::model(const std::string& graph_name,
                             const std::map<std::string, std::string>& metadata) const {
  // GraphProto: node (1), name (2), initializer (5), input (11), output (12); the repeated fields are
  // already serialised with their tags, and fields may come in any order.
  const std::string graph =
      nodes_ + ProtoWriter().bytes(2, graph_name).str() + initializers_ + inputs_ + outputs_;
  ProtoWriter m;
  m.varint(1, 8)  // ir_version 8: ONNX 1.10 to 1.12, opset 17's
      .bytes(2, "s2cbam")
      .bytes(3, "1")
      .bytes(7, graph)
      .message(8, ProtoWriter().bytes(1, "").varint(2, kOpset));  // opset_import: the default domain
  for (const auto& [key, value] : metadata) m.message(14, ProtoWriter().bytes(1, key).bytes(2, value));
  return m.str();
}

}  // namespace s2::experiments
