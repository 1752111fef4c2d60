#pragma once
// An ONNX model built node by node and written as a ModelProto (onnx.proto3, IR version 8, opset 17):
// float32 initialisers, nodes with int, ints and float attributes, one float32 input of shape
// (batch, ...) and float32 outputs, and metadata properties.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "framework/tensor.h"

namespace s2::experiments {

using OnnxAttribute = std::variant<int64_t, float, std::vector<int64_t>>;

class OnnxGraph {
 public:
  static constexpr int64_t kOpset = 17;

  // A constant tensor; returns its name.
  std::string initializer(const std::string& name, const Tensor& t);
  std::string int64_initializer(const std::string& name, const std::vector<int64_t>& values);
  // A node of `op` on `inputs`; returns its single output's name (`output`, or a fresh one).
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::map<std::string, OnnxAttribute>& attributes = {},
                   const std::string& output = "");
  // The graph input (dimension 0 symbolic, "batch") and outputs (shapes left to the runtime).
  void input(const std::string& name, const std::vector<int64_t>& shape_after_batch);
  void output(const std::string& name, const std::vector<int64_t>& shape_after_batch);

  // The serialised ModelProto.
  std::string model(const std::string& graph_name, const std::map<std::string, std::string>& metadata) const;

 private:
  std::string nodes_, initializers_, inputs_, outputs_;  // serialised repeated fields of GraphProto
  int64_t next_ = 0;
};

}  // namespace s2::experiments
