#pragma once
// Define-by-run reverse-mode autograd. Every op that produces a tensor from inputs that need
// gradients attaches a Node; backward() walks the nodes in reverse topological order.
#include <functional>
#include <memory>
#include <vector>

#include "framework/tensor.h"

namespace s2 {

// Maps the gradient of a node's output to one gradient per input (undefined = no gradient).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  const char* name = "";
  std::vector<Tensor> inputs;
  BackwardFn backward;  // its captures are the saved buffers; cleared after backward
};

class GradMode {
 public:
  static bool enabled();
  static void set_enabled(bool enabled);
};

// Disables graph recording in its scope (inference, optimiser updates).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when an op on these inputs must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Records `fn` as the way to differentiate `output` with respect to `inputs`, when any input needs a
// gradient and grad mode is on. Returns output for chaining.
Tensor& attach_grad_fn(Tensor& output, std::vector<Tensor> inputs, const char* name, BackwardFn fn);

void run_backward(const Tensor& root, const Tensor& grad_root, bool retain_graph);

}  // namespace s2
