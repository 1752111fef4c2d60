#pragma once
// Float32 tensors with contiguous storage tagged by device. Views (reshape) share storage.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace s2 {

enum class Device { CPU, CUDA };
const char* device_name(Device device);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);

// Owns one allocator block; returns it to the cache on destruction.
struct Storage {
  Storage(size_t numel, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  float* data = nullptr;
  size_t numel = 0;
  Device device = Device::CPU;
};

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;

  static Tensor empty(const Shape& shape, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, Device device = Device::CPU);
  static Tensor full(const Shape& shape, float value, Device device = Device::CPU);
  static Tensor ones(const Shape& shape) { return full(shape, 1.0f); }
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
  static Tensor scalar(float value) { return full({}, value); }

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t ndim() const { return static_cast<int64_t>(shape().size()); }
  // Size of one dimension; negative indices count from the end.
  int64_t size(int64_t dim) const;
  int64_t numel() const;
  Device device() const;

  float* data();
  const float* data() const;
  float item() const;
  std::vector<float> to_vector() const;

  // A view with a new shape over the same storage (gradients flow through it).
  Tensor reshape(const Shape& shape) const;
  // A new tensor with a copy of the data and no autograd history.
  Tensor clone() const;
  // The same storage with no autograd history.
  Tensor detach() const;
  void fill_(float value);
  // Copies other's values (same shape, any device) into this tensor.
  void copy_from(const Tensor& other);
  // This tensor on `device`: itself when already there, else a copy with no autograd history.
  Tensor to(Device device) const;
  // Moves the storage to `device` in place, so that every holder of this tensor (modules,
  // optimisers) sees it there. For parameters and buffers; drops the gradient.
  void move_to_(Device device);

  bool requires_grad() const;
  Tensor& set_requires_grad(bool value);
  // The accumulated gradient of a leaf tensor (undefined before the first backward).
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  void zero_grad();
  const std::shared_ptr<Node>& grad_fn() const;
  void set_grad_fn(std::shared_ptr<Node> node);

  // Back-propagates from this scalar. Frees graph buffers unless retain_graph is set.
  void backward(bool retain_graph = false) const;
  // Back-propagates an explicit gradient of the same shape as this tensor.
  void backward(const Tensor& grad_output, bool retain_graph = false) const;

  bool same_as(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl* impl() const { return impl_.get(); }

 private:
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  Shape shape;
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
};

// Throws a clear error naming both shapes when they differ.
void check_same_shape(const Tensor& a, const Tensor& b, const char* what);

}  // namespace s2
