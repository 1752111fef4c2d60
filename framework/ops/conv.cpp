#include <algorithm>
#include <optional>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/ops/device_op_util.h"
#include "framework/ops/op_util.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv2d_winograd.h"

namespace s2 {

// The CUDA halves: kernels from the selected device backend, backward functions on the device too.
namespace {
namespace cuda {
using namespace device_op;

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g) {
  require_device({&x, &weight, &bias}, "conv2d");
  const int v = device_kernel_versions().of(VersionedOp::Conv2d);
  Tensor y = device_empty({g.batch, g.c_out, g.h_out, g.w_out});
  k().conv2d_forward(v, g, x.data(), weight.data(), ptr(bias), y.data());
  attach_grad_fn(y, {x, weight, bias}, "conv2d(cuda)",
                 [g, v, xs = x.detach(), ws = weight.detach(), has_bias = bias.defined(),
                  need_dx = x.requires_grad()](const Tensor& dy) {
                   Tensor dx, dw = device_empty(ws.shape()), db;
                   if (need_dx) {
                     dx = device_empty(xs.shape());
                     k().conv2d_backward_input(v, g, ws.data(), dy.data(), dx.data());
                   }
                   if (has_bias) {
                     db = device_empty({g.c_out});
                   }
                   k().conv2d_backward_weight(v, g, xs.data(), dy.data(), dw.data(), ptr(db));
                   return std::vector<Tensor>{dx, dw, db};
                 });
  return y;
}

}  // namespace cuda
}  // namespace

namespace {
// Keras/TensorFlow 'same': output = ceil(input / stride), padding split with the extra at the end.
void same_padding(int64_t in, int64_t kernel, int64_t stride, int64_t& out, int64_t& pad_before) {
  out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - in, 0);
  pad_before = total / 2;
}
}  // namespace

Conv2dGeometry conv2d_geometry(const Shape& x, const Shape& w, const Conv2dOptions& o) {
  S2_CHECK(x.size() == 4 && w.size() == 4, "conv2d: input {} and weight {} must both be 4-D", shape_str(x),
           shape_str(w));
  S2_CHECK(x[1] == w[1], "conv2d: input {} has {} channels but weight {} expects {}", shape_str(x), x[1],
           shape_str(w), w[1]);
  S2_CHECK(o.stride_h > 0 && o.stride_w > 0, "conv2d: strides must be positive");
  Conv2dGeometry g;
  g.batch = x[0], g.c_in = x[1], g.h_in = x[2], g.w_in = x[3];
  g.c_out = w[0], g.kernel_h = w[2], g.kernel_w = w[3];
  g.stride_h = o.stride_h, g.stride_w = o.stride_w;
  if (o.padding == Padding::Same) {
    same_padding(g.h_in, g.kernel_h, g.stride_h, g.h_out, g.pad_top);
    same_padding(g.w_in, g.kernel_w, g.stride_w, g.w_out, g.pad_left);
  } else {
    S2_CHECK(g.h_in >= g.kernel_h && g.w_in >= g.kernel_w,
             "conv2d: 'valid' kernel {}x{} is larger than input {}", g.kernel_h, g.kernel_w, shape_str(x));
    g.h_out = (g.h_in - g.kernel_h) / g.stride_h + 1;
    g.w_out = (g.w_in - g.kernel_w) / g.stride_w + 1;
  }
  return g;
}

namespace {
// The Winograd tile for the options, or none for im2col + GEMM.
std::optional<cpu::WinogradTile> winograd_tile(const Conv2dGeometry& g, ConvAlgorithm algorithm) {
  const bool applies = cpu::winograd_applies(g);
  const bool asked = algorithm == ConvAlgorithm::Winograd || algorithm == ConvAlgorithm::WinogradF4x2;
  S2_CHECK(!asked || applies,
           "conv2d: Winograd needs a 3x3 stride-1 'same' convolution, got kernel {}x{} stride {}x{}",
           g.kernel_h, g.kernel_w, g.stride_h, g.stride_w);
  if (algorithm == ConvAlgorithm::Winograd) return cpu::kWinogradF2x2;
  if (algorithm == ConvAlgorithm::WinogradF4x2) return cpu::winograd_tile_f4x2(g);
  // Below 16 channels the transforms cost more than the multiplies they save.
  if (algorithm == ConvAlgorithm::Auto && applies && g.c_in >= 16 && g.c_out >= 16) {
    return cpu::winograd_tile_f4x2(g);
  }
  return std::nullopt;
}

// The same convolution seen from its output: what backward-input computes, by Winograd.
Conv2dGeometry transposed(Conv2dGeometry g) {
  std::swap(g.c_in, g.c_out);
  return g;
}

using Tile = std::optional<cpu::WinogradTile>;

void forward(const Conv2dGeometry& g, Tile tile, const float* x, const float* w, const float* b, float* y) {
  const int threads = cpu::max_threads();
  if (tile) {
    Tensor u = detail::workspace(cpu::winograd_filter_floats(g, *tile));
    cpu::winograd_transform_filter(g, *tile, w, false, u.data());
    Tensor ws = detail::workspace(cpu::winograd_workspace(g, *tile, threads));
    cpu::conv2d_winograd(g, *tile, x, u.data(), b, y, ws.data());
    return;
  }
  Tensor ws = detail::workspace(cpu::conv2d_forward_workspace(g, threads));
  cpu::conv2d_forward(g, x, w, b, y, ws.data());
}

void backward_input(const Conv2dGeometry& g, Tile tile, const float* w, const float* dy, float* dx) {
  const int threads = cpu::max_threads();
  if (tile) {
    Tensor u = detail::workspace(cpu::winograd_filter_floats(g, *tile));
    cpu::winograd_transform_filter(g, *tile, w, true, u.data());
    Tensor ws = detail::workspace(cpu::winograd_workspace(transposed(g), *tile, threads));
    cpu::conv2d_winograd(transposed(g), *tile, dy, u.data(), nullptr, dx, ws.data());
    return;
  }
  Tensor ws = detail::workspace(cpu::conv2d_backward_input_workspace(g, threads));
  cpu::conv2d_backward_input(g, w, dy, dx, ws.data());
}

// Backward-weight is F(2x2, 3x3) whatever the forward's tile.
void backward_weight(const Conv2dGeometry& g, Tile tile, const float* x, const float* dy, float* dw,
                     float* db) {
  const int threads = cpu::max_threads();
  if (tile) {
    Tensor ws = detail::workspace(cpu::winograd_backward_weight_workspace(g, threads));
    cpu::conv2d_winograd_backward_weight(g, x, dy, dw, ws.data());
    if (db != nullptr) cpu::conv2d_backward_bias(g, dy, db);
    return;
  }
  Tensor ws = detail::workspace(cpu::conv2d_backward_weight_workspace(g, threads));
  cpu::conv2d_backward_weight(g, x, dy, dw, db, ws.data());
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  S2_CHECK(x.defined() && weight.defined() && x.ndim() == 4 && weight.ndim() == 4,
           "conv2d: input and weight must have 4 dimensions");
  const Conv2dGeometry g = conv2d_geometry(x.shape(), weight.shape(), options);
  if (bias.defined()) {
    S2_CHECK(bias.shape() == Shape{g.c_out}, "conv2d: bias {} must be ({})", shape_str(bias.shape()),
             g.c_out);
  }
  if (x.device() == Device::CUDA) {
    return cuda::conv2d(x, weight, bias, g);
  }
  detail::check_rank(x, 4, "conv2d", "input");
  detail::check_rank(weight, 4, "conv2d", "weight");
  const Tile tile = winograd_tile(g, options.algorithm);
  Tensor y = Tensor::empty({g.batch, g.c_out, g.h_out, g.w_out});
  forward(g, tile, x.data(), weight.data(), bias.defined() ? bias.data() : nullptr, y.data());
  const Tensor xs = x.detach(), ws_ = weight.detach();
  const bool has_bias = bias.defined();
  attach_grad_fn(y, {x, weight, bias}, "conv2d",
                 [g, xs, ws_, has_bias, tile, need_dx = x.requires_grad()](const Tensor& dy) {
                   Tensor dx, dw = Tensor::empty(ws_.shape()), db;
                   if (need_dx) {
                     dx = Tensor::empty(xs.shape());
                     backward_input(g, tile, ws_.data(), dy.data(), dx.data());
                   }
                   if (has_bias) {
                     db = Tensor::empty({g.c_out});
                   }
                   backward_weight(g, tile, xs.data(), dy.data(), dw.data(), has_bias ? db.data() : nullptr);
                   return std::vector<Tensor>{dx, dw, db};
                 });
  return y;
}

}  // namespace s2
