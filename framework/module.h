#pragma once
// Modules own named parameters (trained), buffers (state such as running statistics) and
// submodules, and switch between training and evaluation behaviour.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "framework/tensor.h"

namespace s2 {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Dotted names, depth first in registration order: "stage1.conv1.weight".
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  // Parameters, then buffers: everything a trained module's state is (checkpoints, checksums, exports).
  NamedTensors named_state() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;
  void zero_grad();
  // Moves every parameter and buffer to `device` in place (optimisers built before still see them).
  void to(Device device);

 protected:
  Tensor register_parameter(const std::string& name, Tensor value);
  Tensor register_buffer(const std::string& name, Tensor value);
  // Replaces a registered buffer by `value`, whose shape may differ (state whose size is known only
  // once fitted, such as a tree ensemble's serialised trees).
  void replace_buffer(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void collect(const std::string& prefix, bool parameters, NamedTensors& out) const;

  bool training_ = true;
  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace s2
