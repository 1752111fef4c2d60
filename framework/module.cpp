#include "framework/module.h"

#include "framework/error.h"

namespace s2 {

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) {
    child->train(on);
  }
}

void Module::collect(const std::string& prefix, bool parameters, NamedTensors& out) const {
  for (const auto& [name, t] : parameters ? parameters_ : buffers_) {
    out.emplace_back(prefix + name, t);
  }
  for (const auto& [name, child] : children_) {
    child->collect(prefix + name + ".", parameters, out);
  }
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

NamedTensors Module::named_state() const {
  NamedTensors out = named_parameters();
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) {
    out.push_back(t);
  }
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& t : parameters()) {
    n += t.numel();
  }
  return n;
}

void Module::zero_grad() {
  for (Tensor& t : parameters()) {
    t.zero_grad();
  }
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  value.set_requires_grad(true);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  buffers_.emplace_back(name, value);
  return value;
}

void Module::replace_buffer(const std::string& name, Tensor value) {
  for (auto& [n, t] : buffers_) {
    if (n == name) {
      t = std::move(value);
      return;
    }
  }
  fail("module has no buffer '{}'", name);
}

void Module::to(Device device) {
  for (auto& [name, t] : named_parameters()) {
    t.move_to_(device);
  }
  for (auto& [name, t] : named_buffers()) {
    t.move_to_(device);
  }
}

}  // namespace s2
