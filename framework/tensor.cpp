#include "framework/tensor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "framework/allocator.h"
#include "framework/autograd.h"
#include "framework/device.h"
#include "framework/error.h"

namespace s2 {

const char* device_name(Device device) {
  return device == Device::CPU ? "cpu" : "cuda";
}

std::string shape_str(const Shape& shape) {
  return fmt::format("({})", fmt::join(shape, ", "));
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    S2_CHECK(d >= 0, "negative dimension in shape {}", shape_str(shape));
    n *= d;
  }
  return n;
}

namespace {
CachingAllocator& allocator_of(Device device) {
  return device == Device::CPU ? CachingAllocator::host() : CachingAllocator::device();
}

// Copies bytes between any two devices.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (dst_device == Device::CPU && src_device == Device::CPU) {
    std::memcpy(dst, src, bytes);
  } else if (dst_device == Device::CPU) {
    device_kernels().copy_to_host(dst, src, bytes);
  } else if (src_device == Device::CPU) {
    device_kernels().copy_to_device(dst, src, bytes);
  } else {
    device_kernels().copy_on_device(dst, src, bytes);
  }
}
}  // namespace

Storage::Storage(size_t count, Device dev) : numel(count), device(dev) {
  data = static_cast<float*>(allocator_of(dev).allocate(count * sizeof(float)));
}

Storage::~Storage() {
  allocator_of(device).release(data, numel * sizeof(float));
}

Tensor Tensor::empty(const Shape& shape, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)), device);
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, Device device) {
  return full(shape, 0.0f, device);
}

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  S2_CHECK(shape_numel(shape) == static_cast<int64_t>(values.size()),
           "from_vector: shape {} holds {} values but {} were given", shape_str(shape), shape_numel(shape),
           values.size());
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

const Shape& Tensor::shape() const {
  S2_CHECK(defined(), "use of an undefined tensor");
  return impl_->shape;
}

int64_t Tensor::size(int64_t dim) const {
  const int64_t n = ndim();
  const int64_t d = dim < 0 ? dim + n : dim;
  S2_CHECK(d >= 0 && d < n, "dimension {} out of range for shape {}", dim, shape_str(shape()));
  return impl_->shape[static_cast<size_t>(d)];
}

int64_t Tensor::numel() const {
  return shape_numel(shape());
}
Device Tensor::device() const {
  return impl_->storage->device;
}

float* Tensor::data() {
  S2_CHECK(defined(), "use of an undefined tensor");
  return impl_->storage->data + impl_->offset;
}

const float* Tensor::data() const {
  S2_CHECK(defined(), "use of an undefined tensor");
  return impl_->storage->data + impl_->offset;
}

float Tensor::item() const {
  S2_CHECK(numel() == 1, "item() needs a tensor with one element, got shape {}", shape_str(shape()));
  float v = 0.0f;
  copy_bytes(&v, Device::CPU, data(), device(), sizeof(float));
  return v;
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  copy_bytes(v.data(), Device::CPU, data(), device(), v.size() * sizeof(float));
  return v;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  return Tensor(std::move(impl));
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  Shape resolved = new_shape;
  int64_t known = 1;
  int infer_at = -1;
  for (size_t i = 0; i < resolved.size(); ++i) {
    if (resolved[i] == -1) {
      S2_CHECK(infer_at < 0, "reshape {} -> {}: only one -1 allowed", shape_str(shape()),
               shape_str(new_shape));
      infer_at = static_cast<int>(i);
    } else {
      known *= resolved[i];
    }
  }
  if (infer_at >= 0 && known > 0) {
    resolved[static_cast<size_t>(infer_at)] = numel() / known;
  }
  S2_CHECK(shape_numel(resolved) == numel(), "reshape {} -> {}: element counts differ", shape_str(shape()),
           shape_str(new_shape));
  Tensor view = detach();
  view.impl_->shape = resolved;
  if (requires_grad() && GradMode::enabled()) {
    const Shape original = shape();
    attach_grad_fn(view, {*this}, "reshape",
                   [original](const Tensor& g) -> std::vector<Tensor> { return {g.reshape(original)}; });
  }
  return view;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), device());
  t.copy_from(*this);
  return t;
}

void Tensor::fill_(float value) {
  if (device() == Device::CUDA) {
    device_kernels().fill(numel(), value, data());
  } else {
    std::fill_n(data(), numel(), value);
  }
}

void Tensor::copy_from(const Tensor& other) {
  check_same_shape(*this, other, "copy_from");
  copy_bytes(data(), device(), other.data(), other.device(), static_cast<size_t>(numel()) * sizeof(float));
}

Tensor Tensor::to(Device target) const {
  if (device() == target) {
    return *this;
  }
  Tensor t = empty(shape(), target);
  t.copy_from(*this);
  return t;
}

void Tensor::move_to_(Device target) {
  if (device() == target) {
    return;
  }
  const Tensor moved = to(target);
  impl_->storage = moved.impl_->storage;
  impl_->offset = 0;
  impl_->grad = Tensor();
}

bool Tensor::requires_grad() const {
  return defined() && impl_->requires_grad;
}

Tensor& Tensor::set_requires_grad(bool value) {
  S2_CHECK(impl_->grad_fn == nullptr || value,
           "cannot clear requires_grad on a non-leaf tensor; use detach()");
  impl_->requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const {
  return impl_->grad;
}
void Tensor::set_grad(const Tensor& grad) {
  impl_->grad = grad;
}

void Tensor::zero_grad() {
  impl_->grad = Tensor();
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  return impl_->grad_fn;
}

void Tensor::set_grad_fn(std::shared_ptr<Node> node) {
  impl_->grad_fn = std::move(node);
  impl_->requires_grad = impl_->grad_fn != nullptr || impl_->requires_grad;
}

void Tensor::backward(bool retain_graph) const {
  S2_CHECK(numel() == 1, "backward() without a gradient needs a scalar, got shape {}", shape_str(shape()));
  run_backward(*this, Tensor::full(shape(), 1.0f, device()), retain_graph);
}

void Tensor::backward(const Tensor& grad_output, bool retain_graph) const {
  check_same_shape(*this, grad_output, "backward(grad_output)");
  run_backward(*this, grad_output, retain_graph);
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* what) {
  S2_CHECK(a.shape() == b.shape(), "{}: shape mismatch {} vs {}", what, shape_str(a.shape()),
           shape_str(b.shape()));
}

}  // namespace s2
