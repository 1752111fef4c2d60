#include "framework/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "framework/device.h"
#include "framework/error.h"
#include "kernels/cpu/elementwise.h"

namespace s2 {

namespace {
thread_local bool grad_mode_enabled = true;

void accumulate(Tensor& slot, const Tensor& grad) {
  if (!slot.defined()) {
    slot = grad.detach();
    return;
  }
  // Never write into a gradient that may alias a buffer the caller still holds.
  S2_CHECK(slot.device() == grad.device(), "autograd: gradients on {} and {} cannot be summed",
           device_name(slot.device()), device_name(grad.device()));
  Tensor sum = Tensor::empty(slot.shape(), slot.device());
  if (slot.device() == Device::CUDA) {
    device_kernels().add(slot.numel(), slot.data(), grad.data(), sum.data());
  } else {
    cpu::add_same_shape(slot.data(), grad.data(), sum.data(), slot.numel());
  }
  slot = sum;
}

// Nodes ordered so that every node comes before the nodes of its inputs.
std::vector<Node*> reverse_topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  visited.insert(root);
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->inputs.size()) {
      const Tensor& input = node->inputs[next_input++];
      Node* child = input.defined() ? input.grad_fn().get() : nullptr;
      if (child != nullptr && visited.insert(child).second) {
        stack.emplace_back(child, 0);
      }
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return {order.rbegin(), order.rend()};
}
}  // namespace

bool GradMode::enabled() {
  return grad_mode_enabled;
}
void GradMode::set_enabled(bool enabled) {
  grad_mode_enabled = enabled;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::enabled()) {
    return false;
  }
  for (const Tensor* t : inputs) {
    if (t != nullptr && t->requires_grad()) {
      return true;
    }
  }
  return false;
}

Tensor& attach_grad_fn(Tensor& output, std::vector<Tensor> inputs, const char* name, BackwardFn fn) {
  bool any = false;
  for (const Tensor& t : inputs) {
    any = any || t.requires_grad();
  }
  if (!any || !GradMode::enabled()) {
    return output;
  }
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(fn);
  output.set_grad_fn(std::move(node));
  return output;
}

void run_backward(const Tensor& root, const Tensor& grad_root, bool retain_graph) {
  S2_CHECK(root.requires_grad(), "backward() on a tensor that does not require grad");
  NoGradGuard no_grad;  // gradients are plain values, not part of a new graph
  if (root.grad_fn() == nullptr) {
    Tensor leaf = root;
    Tensor slot = leaf.grad();
    accumulate(slot, grad_root);
    leaf.set_grad(slot);
    return;
  }
  std::unordered_map<Node*, Tensor> pending;
  pending[root.grad_fn().get()] = grad_root;
  for (Node* node : reverse_topological_order(root.grad_fn().get())) {
    auto it = pending.find(node);
    if (it == pending.end()) {
      continue;  // no gradient reached this node
    }
    const Tensor grad_output = it->second;
    pending.erase(it);
    S2_CHECK(node->backward != nullptr,
             "backward through '{}' a second time: pass retain_graph=true to the first backward", node->name);
    std::vector<Tensor> grads = node->backward(grad_output);
    S2_CHECK(grads.size() == node->inputs.size(), "op '{}' returned {} gradients for {} inputs", node->name,
             grads.size(), node->inputs.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      Tensor& input = node->inputs[i];
      if (!grads[i].defined() || !input.requires_grad()) {
        continue;
      }
      check_same_shape(input, grads[i], node->name);
      if (input.grad_fn() != nullptr) {
        accumulate(pending[input.grad_fn().get()], grads[i]);
      } else {
        Tensor slot = input.grad();
        accumulate(slot, grads[i]);
        input.set_grad(slot);
      }
    }
    if (!retain_graph) {
      node->backward = nullptr;  // frees the saved buffers
    }
  }
}

}  // namespace s2
