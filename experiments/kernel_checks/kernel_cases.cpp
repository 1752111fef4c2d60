#include "experiments/kernel_checks/kernel_cases.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>

#include "experiments/kernel_checks/case_buffers.h"
#include "framework/device.h"
#include "framework/ops.h"
#include "framework/tensor.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/pooling.h"
#include "kernels/cuda/versioned_ops.h"
#include "kernels/rounding_bound.h"

namespace s2 {

namespace {

size_t sz(int64_t n) {
  return static_cast<size_t>(n);
}

std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) {
    x = dist(rng);
  }
  return v;
}

// Post-ReLU-like values on a coarse grid (multiples of 0.5, negatives clamped to 0): most maxima over
// channels or pixels tie, as they do after a ReLU, so the kernels' arg-max tie rule is exercised.
void make_ties(std::vector<float>& v) {
  for (float& x : v) x = std::max(0.0f, std::round(2.0f * x) / 2.0f);
}

Tensor leaf(const Shape& shape, const std::vector<float>& v) {
  Tensor t = Tensor::from_vector(shape, v);
  t.set_requires_grad(true);
  return t;
}

std::vector<float> abs_of(const std::vector<float>& v) {
  std::vector<float> a(v.size());
  std::transform(v.begin(), v.end(), a.begin(), [](float x) { return std::abs(x); });
  return a;
}

// Sets the same chain length, with the largest |expected| as the magnitude, for every output.
void bound_all(KernelCase& c, int64_t chain) {
  for (const auto& [name, values] : c.expected) c.bounds[name].chain = chain;
}

std::string dims_text(std::initializer_list<int64_t> values, const char* sep) {
  std::string s;
  for (const int64_t v : values) {
    if (!s.empty()) {
      s.append(sep);
    }
    s.append(std::to_string(v));
  }
  return s;
}

}  // namespace

const std::vector<float>& KernelCase::input(const std::string& name) const {
  const auto it = inputs.find(name);
  if (it == inputs.end()) {
    throw std::logic_error("kernel case " + op + " has no input '" + name + "'");
  }
  return it->second;
}

namespace {
// Each op's launch takes its typed parameters first (bound by the builder with std::bind_front), then
// the kernel table, the case's device buffers by name and the kernel version; it returns the body that
// runs forward and backward (or the update).
std::function<void()> launch_conv2d(const Conv2dGeometry& g, const DeviceKernels& kernels, CaseBuffers& b,
                                    int v) {
  float *x = b.get("x"), *w = b.get("w"), *bias = b.get("bias"), *dy = b.get("dy");
  float *y = b.get("y"), *dx = b.get("dx"), *dw = b.get("dw"), *db = b.get("dbias");
  return [=, &kernels] {
    kernels.conv2d_forward(v, g, x, w, bias, y);
    kernels.conv2d_backward_input(v, g, w, dy, dx);
    kernels.conv2d_backward_weight(v, g, x, dy, dw, db);
  };
}
}  // namespace

KernelCase conv2d_case(int64_t batch, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t kernel,
                       int64_t stride) {
  KernelCase c;
  c.op = "conv2d";
  c.shape = "N" + std::to_string(batch) + " C" + std::to_string(c_in) + "->" + std::to_string(c_out) + " " +
            dims_text({h, w}, "x") + " k" + std::to_string(kernel) +
            (stride > 1 ? " s" + std::to_string(stride) : "");
  const Tensor xt = Tensor::zeros({batch, c_in, h, w});
  Conv2dOptions options;
  options.stride_h = options.stride_w = stride;
  const Conv2dGeometry g = conv2d_geometry(xt.shape(), {c_out, c_in, kernel, kernel}, options);
  c.inputs["x"] = random_vector(sz(batch * c_in * h * w), 1);
  c.inputs["w"] = random_vector(sz(c_out * g.patch_size()), 2);
  c.inputs["bias"] = random_vector(sz(c_out), 3);
  c.inputs["dy"] = random_vector(sz(batch * c_out * g.out_pixels()), 4);
  const int threads = cpu::max_threads();
  std::vector<float> ws(
      std::max({cpu::conv2d_forward_workspace(g, threads), cpu::conv2d_backward_input_workspace(g, threads),
                cpu::conv2d_backward_weight_workspace(g, threads)}) +
      1);
  auto& e = c.expected;
  e["y"].resize(c.inputs["dy"].size());
  e["dx"].resize(c.inputs["x"].size());
  e["dw"].resize(c.inputs["w"].size());
  e["dbias"].resize(sz(c_out));
  cpu::conv2d_forward(g, c.input("x").data(), c.input("w").data(), c.input("bias").data(), e["y"].data(),
                      ws.data());
  cpu::conv2d_backward_input(g, c.input("w").data(), c.input("dy").data(), e["dx"].data(), ws.data());
  cpu::conv2d_backward_weight(g, c.input("x").data(), c.input("dy").data(), e["dw"].data(), e["dbias"].data(),
                              ws.data());
  // Term magnitudes: the same convolutions of the absolute values. Chains: a patch (+ the bias); the
  // output channels of a patch plus col2im's overlapping adds; every sample's pixels.
  const auto ax = abs_of(c.input("x")), aw = abs_of(c.input("w")), ab = abs_of(c.input("bias")),
             ady = abs_of(c.input("dy"));
  auto& b = c.bounds;
  b["y"] = {g.patch_size() + 1, std::vector<float>(e["y"].size())};
  b["dx"] = {g.c_out * kernel * kernel + kernel * kernel, std::vector<float>(e["dx"].size())};
  b["dw"] = {batch * g.out_pixels(), std::vector<float>(e["dw"].size())};
  b["dbias"] = {batch * g.out_pixels(), std::vector<float>(e["dbias"].size())};
  cpu::conv2d_forward(g, ax.data(), aw.data(), ab.data(), b["y"].magnitude.data(), ws.data());
  cpu::conv2d_backward_input(g, aw.data(), ady.data(), b["dx"].magnitude.data(), ws.data());
  cpu::conv2d_backward_weight(g, ax.data(), ady.data(), b["dw"].magnitude.data(), b["dbias"].magnitude.data(),
                              ws.data());
  c.flops = 3.0 * g.forward_flops();
  c.bytes =
      4.0 * static_cast<double>(2 * c.input("x").size() + 3 * c.input("dy").size() + 2 * c.input("w").size());
  c.launch = std::bind_front(launch_conv2d, g);
  return c;
}

namespace {
// Each op's launch takes its typed parameters first (bound by the builder with std::bind_front), then
// the kernel table, the case's device buffers by name and the kernel version; it returns the body that
// runs forward and backward (or the update).
struct LinearDims {
  int64_t batch, in, out;
};
std::function<void()> launch_linear(LinearDims d, const DeviceKernels& kernels, CaseBuffers& b, int v) {
  const int64_t n = d.batch, in = d.in, out = d.out;  // (clang 14 cannot capture structured bindings)
  float *x = b.get("x"), *w = b.get("w"), *bias = b.get("b"), *dy = b.get("dy");
  float *y = b.get("y"), *dx = b.get("dx"), *dw = b.get("dw"), *db = b.get("db");
  return [=, &kernels] {
    kernels.linear_forward(v, n, in, out, x, w, bias, y);
    kernels.linear_backward(v, n, in, out, x, w, dy, dx, dw, db);
  };
}
}  // namespace

KernelCase linear_case(int64_t batch, int64_t in, int64_t out) {
  KernelCase c;
  c.op = "linear";
  c.shape = "N" + std::to_string(batch) + " " + std::to_string(in) + "->" + std::to_string(out);
  c.inputs["x"] = random_vector(sz(batch * in), 41);
  c.inputs["w"] = random_vector(sz(out * in), 42);
  c.inputs["b"] = random_vector(sz(out), 43);
  c.inputs["dy"] = random_vector(sz(batch * out), 44);
  Tensor x = leaf({batch, in}, c.input("x")), w = leaf({out, in}, c.input("w")),
         b = leaf({out}, c.input("b"));
  const Tensor y = linear(x, w, b);
  y.backward(Tensor::from_vector({batch, out}, c.input("dy")));
  c.expected = {{"y", y.to_vector()},
                {"dx", x.grad().to_vector()},
                {"dw", w.grad().to_vector()},
                {"db", b.grad().to_vector()}};
  // Term magnitudes from the absolute values; chains: in (+ the bias), out, and the batch.
  const auto ax = abs_of(c.input("x")), aw = abs_of(c.input("w")), ady = abs_of(c.input("dy"));
  auto& bd = c.bounds;
  bd["y"] = {in + 1, std::vector<float>(sz(batch * out))};
  const auto abs_b = abs_of(c.input("b"));
  for (int64_t i = 0; i < batch; ++i) std::copy_n(abs_b.data(), out, bd["y"].magnitude.data() + i * out);
  cpu::gemm(false, true, batch, out, in, ax.data(), in, aw.data(), in, true, bd["y"].magnitude.data(), out);
  bd["dx"] = {out, std::vector<float>(sz(batch * in))};
  cpu::gemm(false, false, batch, in, out, ady.data(), out, aw.data(), in, false, bd["dx"].magnitude.data(),
            in);
  bd["dw"] = {batch, std::vector<float>(sz(out * in))};
  cpu::gemm(true, false, out, in, batch, ady.data(), out, ax.data(), in, false, bd["dw"].magnitude.data(),
            in);
  bd["db"] = {batch, std::vector<float>(sz(out), 0.0f)};
  for (int64_t i = 0; i < batch * out; ++i) bd["db"].magnitude[sz(i % out)] += ady[sz(i)];
  c.flops = 6.0 * static_cast<double>(batch * in * out);
  c.bytes = 4.0 * static_cast<double>(3 * batch * in + 3 * in * out + 3 * batch * out);
  c.launch = std::bind_front(launch_linear, LinearDims{batch, in, out});
  return c;
}

namespace {
// Each op's launch takes its typed parameters first (bound by the builder with std::bind_front), then
// the kernel table, the case's device buffers by name and the kernel version; it returns the body that
// runs forward and backward (or the update).
struct ChannelAttentionDims {
  int64_t batch, channels, pixels, hidden;
};
std::function<void()> launch_channel_attention(ChannelAttentionDims d, const DeviceKernels& kernels,
                                               CaseBuffers& b, int v) {
  const int64_t n = d.batch, ch = d.channels, p = d.pixels, hidden = d.hidden;
  const ChannelMlp mlp{b.get("w1"), b.get("b1"), b.get("w2"), b.get("b2"), hidden};
  const ChannelAttentionSaved saved{b.buffer("avg", static_cast<size_t>(n * ch)),
                                    b.buffer("max", static_cast<size_t>(n * ch)),
                                    b.int_buffer(static_cast<size_t>(n * ch)), b.get("att")};
  const ChannelMlpGrads grads{b.get("dw1"), b.get("db1"), b.get("dw2"), b.get("db2")};
  float* workspace = b.buffer("workspace", static_cast<size_t>(channel_attention_workspace(n, ch)));
  float *x = b.get("x"), *dy = b.get("dy"), *y = b.get("y"), *dx = b.get("dx");
  return [=, &b, &kernels] {
    kernels.channel_attention_forward(v, n, ch, p, x, mlp, saved, y);
    for (const char* g : {"dw1", "db1", "dw2", "db2"}) {
      b.zero(g);
    }
    kernels.channel_attention_backward(v, n, ch, p, x, dy, mlp, saved, dx, grads, workspace);
  };
}
}  // namespace

KernelCase channel_attention_case(int64_t n, int64_t ch, int64_t h, int64_t w, int64_t hidden, bool ties) {
  KernelCase c;
  c.op = "channel_attention";
  c.shape = "N" + std::to_string(n) + " C" + std::to_string(ch) + " " + dims_text({h, w}, "x") + " hidden " +
            std::to_string(hidden) + (ties ? " ties" : "");
  const int64_t p = h * w;
  c.inputs["x"] = random_vector(sz(n * ch * p), 11);
  if (ties) make_ties(c.inputs["x"]);
  c.inputs["dy"] = random_vector(sz(n * ch * p), 12);
  c.inputs["w1"] = random_vector(sz(hidden * ch), 13);
  c.inputs["b1"] = random_vector(sz(hidden), 14, -0.1f, 0.1f);
  c.inputs["w2"] = random_vector(sz(ch * hidden), 15);
  c.inputs["b2"] = random_vector(sz(ch), 16, -0.1f, 0.1f);
  Tensor x = leaf({n, ch, h, w}, c.input("x")), w1 = leaf({hidden, ch}, c.input("w1"));
  Tensor b1 = leaf({hidden}, c.input("b1")), w2 = leaf({ch, hidden}, c.input("w2")),
         b2 = leaf({ch}, c.input("b2"));
  const Tensor att = channel_attention_weights(x, w1, b1, w2, b2);
  const Tensor y = mul(x, att.reshape({n, ch, 1, 1}));
  y.backward(Tensor::from_vector({n, ch, h, w}, c.input("dy")));
  c.expected = {{"y", y.to_vector()},           {"att", att.to_vector()},
                {"dx", x.grad().to_vector()},   {"dw1", w1.grad().to_vector()},
                {"db1", b1.grad().to_vector()}, {"dw2", w2.grad().to_vector()},
                {"db2", b2.grad().to_vector()}};
  // Chains: pooling over the pixels, the MLP (C then hidden, with biases), the sum and the sigmoid
  // (10 roundings at most), and the scaling; backward runs the same chain back and sums over the batch.
  const int64_t forward_chain = p + ch + hidden + 14;
  bound_all(c, 2 * forward_chain + n + 12);
  c.bounds["y"].chain = c.bounds["att"].chain = forward_chain;
  const auto elems = static_cast<double>(n * ch * p);
  c.flops = 6.0 * elems + 16.0 * static_cast<double>(n * ch * hidden);
  c.bytes = 4.0 * 6.0 * elems;  // forward: read x twice, write y; backward: read x, dy, write dx
  c.launch = std::bind_front(launch_channel_attention, ChannelAttentionDims{n, ch, p, hidden});
  return c;
}

namespace {
// Each op's launch takes its typed parameters first (bound by the builder with std::bind_front), then
// the kernel table, the case's device buffers by name and the kernel version; it returns the body that
// runs forward and backward (or the update).
struct SpatialAttentionDims {
  int64_t batch, channels, h, w, kernel;
};
std::function<void()> launch_spatial_attention(SpatialAttentionDims d, const DeviceKernels& kernels,
                                               CaseBuffers& b, int v) {
  const int64_t n = d.batch, ch = d.channels, h = d.h, w = d.w, k = d.kernel;
  const SpatialAttentionSaved saved{b.buffer("pooled", static_cast<size_t>(n * 2 * h * w)),
                                    b.int_buffer(static_cast<size_t>(n * h * w)), b.get("att")};
  float* workspace = b.buffer("workspace", static_cast<size_t>(spatial_attention_workspace(n, h * w)));
  float *x = b.get("x"), *dy = b.get("dy"), *weight = b.get("w"), *y = b.get("y"), *dx = b.get("dx"),
        *dw = b.get("dw");
  return [=, &b, &kernels] {
    kernels.spatial_attention_forward(v, n, ch, h, w, k, x, weight, saved, y);
    b.zero("dw");
    kernels.spatial_attention_backward(v, n, ch, h, w, k, x, weight, dy, saved, dx, dw, workspace);
  };
}
}  // namespace

KernelCase spatial_attention_case(int64_t n, int64_t ch, int64_t h, int64_t w, int64_t k, bool ties) {
  KernelCase c;
  c.op = "spatial_attention";
  c.shape = "N" + std::to_string(n) + " C" + std::to_string(ch) + " " + dims_text({h, w}, "x") + " k" +
            std::to_string(k) + (ties ? " ties" : "");
  const int64_t p = h * w;
  c.inputs["x"] = random_vector(sz(n * ch * p), 21);
  if (ties) make_ties(c.inputs["x"]);
  c.inputs["dy"] = random_vector(sz(n * ch * p), 22);
  c.inputs["w"] = random_vector(sz(2 * k * k), 23, -0.5f, 0.5f);
  Tensor x = leaf({n, ch, h, w}, c.input("x")), weight = leaf({1, 2, k, k}, c.input("w"));
  const Tensor att = spatial_attention_map(x, weight);
  const Tensor y = mul(x, att);
  y.backward(Tensor::from_vector({n, ch, h, w}, c.input("dy")));
  c.expected = {{"y", y.to_vector()},
                {"att", att.to_vector()},
                {"dx", x.grad().to_vector()},
                {"dw", weight.grad().to_vector()}};
  // Chains: the channel mean (C + 1), the 2 x k x k conv, the sigmoid (10 at most), the scaling; the
  // backward goes the same way back, and dw also sums over the batch and pixels.
  const int64_t forward_chain = ch + 2 * k * k + 12;
  bound_all(c, 2 * forward_chain + 12);
  c.bounds["y"].chain = c.bounds["att"].chain = forward_chain;
  c.bounds["dw"].chain = 2 * forward_chain + n * p;
  const auto elems = static_cast<double>(n * ch * p);
  c.flops = 6.0 * elems + 12.0 * static_cast<double>(n * p * k * k);
  c.bytes = 4.0 * 6.0 * elems;
  c.launch = std::bind_front(launch_spatial_attention, SpatialAttentionDims{n, ch, h, w, k});
  return c;
}

namespace {
// Each op's launch takes its typed parameters first (bound by the builder with std::bind_front), then
// the kernel table, the case's device buffers by name and the kernel version; it returns the body that
// runs forward and backward (or the update).
struct BnEpilogueParams {
  cpu::BatchNormShape shape;
  bool residual, relu, unbiased;
};
std::function<void()> launch_bn_epilogue(BnEpilogueParams params, const DeviceKernels& kernels,
                                         CaseBuffers& b, int v) {
  const cpu::BatchNormShape s = params.shape;
  const bool relu = params.relu, unbiased = params.unbiased;
  float* residual = params.residual ? b.get("residual") : nullptr;
  float* dresidual = params.residual ? b.get("dresidual") : nullptr;
  float *x = b.get("x"), *dy = b.get("dy"), *gamma = b.get("gamma"), *beta = b.get("beta");
  float *y = b.get("y"), *mean = b.get("save_mean"), *invstd = b.get("save_invstd");
  float *rm = b.get("running_mean"), *rv = b.get("running_var"), *infer = b.get("infer");
  float *dx = b.get("dx"), *dgamma = b.get("dgamma"), *dbeta = b.get("dbeta");
  return [=, &kernels] {
    kernels.bn_epilogue_forward_train(v, s, x, residual, gamma, beta, 1e-3f, 0.01f, unbiased, relu, y, mean,
                                      invstd, rm, rv);
    kernels.bn_epilogue_forward_infer(v, s, x, residual, gamma, beta, rm, rv, 1e-3f, relu, infer);
    kernels.bn_epilogue_backward(v, s, x, y, dy, gamma, mean, invstd, relu, dx, dresidual, dgamma, dbeta);
  };
}
}  // namespace

KernelCase bn_epilogue_case(int64_t n, int64_t ch, int64_t p, bool residual, bool relu, bool unbiased) {
  KernelCase c;
  c.op = "bn_epilogue";
  c.shape = "N" + std::to_string(n) + " C" + std::to_string(ch) + " P" + std::to_string(p) +
            (residual ? " +residual" : "") + (relu ? " +relu" : "") + (unbiased ? " unbiased" : "");
  const size_t total = sz(n * ch * p), chs = sz(ch);
  c.inputs["x"] = random_vector(total, 31, -2.0f, 3.0f);
  c.inputs["residual"] = random_vector(total, 32);
  c.inputs["dy"] = random_vector(total, 33);
  c.inputs["gamma"] = random_vector(chs, 34, 0.5f, 1.5f);
  c.inputs["beta"] = random_vector(chs, 35);
  c.inputs["running_mean"] = std::vector<float>(chs, 0.1f);
  c.inputs["running_var"] = std::vector<float>(chs, 0.9f);
  const cpu::BatchNormShape s{n, ch, p};
  const auto& x = c.input("x");
  const auto& r = c.input("residual");
  const auto& dy = c.input("dy");
  auto& e = c.expected;
  std::vector<float> y(total), infer(total), mean(chs), invstd(chs), rm = c.input("running_mean"),
                                                                     rv = c.input("running_var");
  // BN alone on the CPU, then the add and the ReLU; backward masks dy by the ReLU output, and that
  // masked gradient is also the residual's gradient.
  cpu::batchnorm_forward_train(s, x.data(), nullptr, c.input("gamma").data(), c.input("beta").data(), 1e-3f,
                               0.01f, unbiased, false, y.data(), mean.data(), invstd.data(), rm.data(),
                               rv.data());
  cpu::batchnorm_forward_infer(s, x.data(), nullptr, c.input("gamma").data(), c.input("beta").data(),
                               rm.data(), rv.data(), 1e-3f, false, infer.data());
  std::vector<float> dz(total);
  for (size_t i = 0; i < total; ++i) {
    y[i] += residual ? r[i] : 0.0f;
    infer[i] += residual ? r[i] : 0.0f;
    if (relu) {
      y[i] = std::max(y[i], 0.0f);
      infer[i] = std::max(infer[i], 0.0f);
    }
    dz[i] = relu && !(y[i] > 0.0f) ? 0.0f : dy[i];
  }
  std::vector<float> dx(total), dgamma(chs), dbeta(chs);
  cpu::batchnorm_backward(s, x.data(), nullptr, dz.data(), c.input("gamma").data(), mean.data(),
                          invstd.data(), dx.data(), nullptr, dgamma.data(), dbeta.data());
  e = {{"y", y},
       {"save_mean", mean},
       {"save_invstd", invstd},
       {"running_mean", rm},
       {"running_var", rv},
       {"infer", infer},
       {"dx", dx},
       {"dgamma", dgamma},
       {"dbeta", dbeta}};
  if (residual) {
    e["dresidual"] = dz;
  }
  // Chains: the batch statistics sum N x P values twice (mean, then variance), normalisation, scale
  // and shift, residual and ReLU take 8 more; the backward sums N x P twice more on top of them.
  const int64_t stats = 2 * n * p + 8;
  bound_all(c, 2 * stats + 12);
  for (const char* name : {"y", "save_mean", "save_invstd", "running_mean", "running_var"})
    c.bounds[name].chain = stats;
  c.bounds["infer"].chain = 8;
  c.bounds["dresidual"].chain = 1;
  c.flops = 20.0 * static_cast<double>(total);
  c.bytes = 4.0 * static_cast<double>(total) * (residual ? 9.0 : 7.0);
  c.launch = std::bind_front(launch_bn_epilogue, BnEpilogueParams{s, residual, relu, unbiased});
  return c;
}

namespace {
// Each op's launch takes its typed parameters first (bound by the builder with std::bind_front), then
// the kernel table, the case's device buffers by name and the kernel version; it returns the body that
// runs forward and backward (or the update).
std::function<void()> launch_avg_pool(int64_t rows, int64_t pixels, const DeviceKernels& kernels,
                                      CaseBuffers& b, int /*version: the op has one*/) {
  float *x = b.get("x"), *dy = b.get("dy"), *y = b.get("y"), *dx = b.get("dx");
  return [=, &kernels] {
    kernels.global_avg_pool_forward(rows, pixels, x, y);
    kernels.global_avg_pool_backward(rows, pixels, dy, dx);
  };
}
}  // namespace

KernelCase avg_pool_case(int64_t rows, int64_t pixels) {
  KernelCase c;
  c.op = "avg_pool";
  c.shape = std::to_string(rows) + " rows x " + std::to_string(pixels) + " pixels";
  c.inputs["x"] = random_vector(sz(rows * pixels), 51);
  c.inputs["dy"] = random_vector(sz(rows), 52);
  auto& e = c.expected;
  e["y"].resize(sz(rows));
  e["dx"].resize(sz(rows * pixels));
  cpu::global_avg_pool_forward(rows, pixels, c.input("x").data(), e["y"].data());
  cpu::global_avg_pool_backward(rows, pixels, c.input("dy").data(), e["dx"].data());
  c.bounds["y"] = {pixels + 1, std::vector<float>(sz(rows))};
  cpu::global_avg_pool_forward(rows, pixels, abs_of(c.input("x")).data(), c.bounds["y"].magnitude.data());
  c.bounds["dx"].chain = 1;
  c.flops = 2.0 * static_cast<double>(rows * pixels);
  c.bytes = 8.0 * static_cast<double>(rows * pixels);
  c.launch = std::bind_front(launch_avg_pool, rows, pixels);
  return c;
}

namespace {
// Each op's launch takes its typed parameters first (bound by the builder with std::bind_front), then
// the kernel table, the case's device buffers by name and the kernel version; it returns the body that
// runs forward and backward (or the update).
struct CrossEntropyParams {
  int64_t batch, classes;
  bool weighted;
  std::vector<int32_t> labels;
};
std::function<void()> launch_cross_entropy(const CrossEntropyParams& params, const DeviceKernels& kernels,
                                           CaseBuffers& b, int /*version: the op has one*/) {
  const int64_t n = params.batch, classes = params.classes;
  const float* weights = params.weighted ? b.get("weights") : nullptr;
  const int32_t* labels = b.int_buffer(params.labels.size(), params.labels);
  float *logits = b.get("logits"), *probs = b.get("probs"), *loss = b.get("loss"),
        *dlogits = b.get("dlogits");
  return [=, &kernels] {
    kernels.softmax_cross_entropy_forward(n, classes, logits, labels, weights, probs, loss);
    kernels.softmax_cross_entropy_backward(n, classes, probs, labels, weights, 0.5f, dlogits);
  };
}
}  // namespace

KernelCase cross_entropy_case(int64_t batch, int64_t classes, bool class_weights) {
  KernelCase c;
  c.op = "cross_entropy";
  c.shape = "N" + std::to_string(batch) + " " + std::to_string(classes) + " classes" +
            (class_weights ? " weighted" : "");
  c.inputs["logits"] = random_vector(sz(batch * classes), 53, -4.0f, 4.0f);
  c.inputs["weights"] = random_vector(sz(classes), 54, 0.5f, 2.0f);
  for (int64_t i = 0; i < batch; ++i) {
    c.labels.push_back(static_cast<int32_t>((i * 7) % classes));
  }
  cpu::CrossEntropyOptions options;
  options.class_weights = class_weights ? c.input("weights").data() : nullptr;
  auto& e = c.expected;
  e["probs"].resize(sz(batch * classes));
  e["dlogits"].resize(sz(batch * classes));
  e["loss"] = {cpu::softmax_cross_entropy_forward(batch, classes, c.input("logits").data(), c.labels.data(),
                                                  options, e["probs"].data())};
  cpu::softmax_cross_entropy_backward(batch, classes, e["probs"].data(), c.labels.data(), options, 0.5f,
                                      e["dlogits"].data());
  // Chains: exp and log (10 roundings at most each) and the class sum; the loss sums over the batch.
  bound_all(c, classes + 24);
  c.bounds["loss"].chain = batch * (classes + 24) + batch;
  c.flops = 10.0 * static_cast<double>(batch * classes);
  c.bytes = 12.0 * static_cast<double>(batch * classes);
  c.launch =
      std::bind_front(launch_cross_entropy, CrossEntropyParams{batch, classes, class_weights, c.labels});
  return c;
}

namespace {
// Each op's launch takes its typed parameters first (bound by the builder with std::bind_front), then
// the kernel table, the case's device buffers by name and the kernel version; it returns the body that
// runs forward and backward (or the update).
std::function<void()> launch_adam(int64_t n, const cpu::AdamStep& step, const DeviceKernels& kernels,
                                  CaseBuffers& b, int /*version: the op has one*/) {
  float *param = b.get("param"), *grad = b.get("grad"), *m = b.get("m"), *vv = b.get("v");
  return [=, &kernels] { kernels.adam_update(n, param, grad, m, vv, step); };
}
}  // namespace

KernelCase adam_case(int64_t n, bool decoupled) {
  KernelCase c;
  c.op = "adam";
  c.shape = std::to_string(n) + " parameters" + (decoupled ? " AdamW" : "");
  c.inputs["param"] = random_vector(sz(n), 55);
  c.inputs["m"] = random_vector(sz(n), 56, 0.0f, 0.1f);
  c.inputs["v"] = random_vector(sz(n), 57, 0.0f, 0.1f);
  c.inputs["grad"] = random_vector(sz(n), 58);
  // The reference is Adam as Kingma and Ba state it (with PyTorch's placement of epsilon and its coupled
  // or decoupled weight decay), in float64 and written here: independent of kernels/adam_math.h, which
  // both the CPU and the CUDA kernel share.
  // Step 3, so that bias correction matters; weight decay on, coupled (Adam) or decoupled (AdamW).
  const cpu::AdamStep a{1e-3f, 0.9f, 0.999f, 1e-7f, 0.01f, decoupled, 3};
  std::vector<float> param(sz(n)), m(sz(n)), v(sz(n));
  const double bc1 = 1.0 - std::pow(static_cast<double>(a.beta1), static_cast<double>(a.step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(a.beta2), static_cast<double>(a.step));
  for (size_t i = 0; i < sz(n); ++i) {
    double p = c.input("param")[i], g = c.input("grad")[i];
    if (a.decoupled) {
      p -= static_cast<double>(a.lr) * a.weight_decay * p;
    } else {
      g += static_cast<double>(a.weight_decay) * p;
    }
    const double mi = a.beta1 * static_cast<double>(c.input("m")[i]) + (1.0 - a.beta1) * g;
    const double vi = a.beta2 * static_cast<double>(c.input("v")[i]) + (1.0 - a.beta2) * g * g;
    p -= a.lr * (mi / bc1) / (std::sqrt(vi / bc2) + a.eps);
    param[i] = static_cast<float>(p), m[i] = static_cast<float>(mi), v[i] = static_cast<float>(vi);
  }
  c.expected = {{"param", param}, {"m", m}, {"v", v}};
  // Elementwise, 12 roundings at most; magnitudes: each moment's two terms, and the parameter plus
  // its decay and its step (|step| <= lr / bias correction 1 of beta1^3 is below 3 lr; see adam_math.h).
  auto& bd = c.bounds;
  bd["m"] = {12, std::vector<float>(sz(n))};
  bd["v"] = {12, std::vector<float>(sz(n))};
  bd["param"] = {12, std::vector<float>(sz(n))};
  for (size_t i = 0; i < sz(n); ++i) {
    const float g = std::abs(c.input("grad")[i]) + a.weight_decay * std::abs(c.input("param")[i]);
    bd["m"].magnitude[i] = a.beta1 * std::abs(c.input("m")[i]) + (1.0f - a.beta1) * g;
    bd["v"].magnitude[i] = a.beta2 * std::abs(c.input("v")[i]) + (1.0f - a.beta2) * g * g;
    bd["param"].magnitude[i] = std::abs(c.input("param")[i]) * (1.0f + a.lr * a.weight_decay) + 3.0f * a.lr;
  }
  c.flops = 12.0 * static_cast<double>(n);
  c.bytes = 28.0 * static_cast<double>(n);
  c.launch = std::bind_front(launch_adam, n, a);
  return c;
}

namespace {
// Each op's launch takes its typed parameters first (bound by the builder with std::bind_front), then
// the kernel table, the case's device buffers by name and the kernel version; it returns the body that
// runs forward and backward (or the update).
constexpr float kElementwiseScale = -0.37f;  // not a power of two: the product rounds

std::function<void()> launch_elementwise(int64_t n, const DeviceKernels& kernels, CaseBuffers& b,
                                         int /*version: the op has one*/) {
  float *a = b.get("a"), *bb = b.get("b"), *sum = b.get("sum"), *filled = b.get("filled"),
        *scaled = b.get("scaled");
  return [=, &kernels] {
    kernels.add(n, a, bb, sum);
    kernels.fill(n, 0.25f, filled);
    kernels.scale(n, kElementwiseScale, a, scaled);
  };
}
}  // namespace

KernelCase elementwise_case(int64_t n) {
  KernelCase c;
  c.op = "elementwise";
  c.shape = std::to_string(n) + " values";
  c.inputs["a"] = random_vector(sz(n), 61);
  c.inputs["b"] = random_vector(sz(n), 62);
  std::vector<float> sum(sz(n));
  for (size_t i = 0; i < sum.size(); ++i) {
    sum[i] = c.input("a")[i] + c.input("b")[i];
  }
  // The scaled reference is the float64 product (exact for two floats), rounded once.
  std::vector<float> scaled(sz(n)), scaled_magnitude(sz(n));
  for (size_t i = 0; i < scaled.size(); ++i) {
    const double exact = static_cast<double>(c.input("a")[i]) * kElementwiseScale;
    scaled[i] = static_cast<float>(exact);
    scaled_magnitude[i] = static_cast<float>(std::abs(exact));
  }
  c.expected = {{"sum", sum}, {"filled", std::vector<float>(sz(n), 0.25f)}, {"scaled", scaled}};
  c.bounds["sum"] = {1, abs_of(c.input("a"))};
  for (size_t i = 0; i < sz(n); ++i) c.bounds["sum"].magnitude[i] += std::abs(c.input("b")[i]);
  c.bounds["filled"] = {1, std::vector<float>(sz(n), 0.0f)};  // a fill is exact
  c.bounds["scaled"] = {1, scaled_magnitude};                 // one rounding of the product
  c.flops = 2.0 * static_cast<double>(n);
  c.bytes = 24.0 * static_cast<double>(n);
  c.launch = std::bind_front(launch_elementwise, n);
  return c;
}

std::vector<KernelCase> paper_kernel_cases(int64_t batch) {
  // The paper network: input 36x10x1, stages of 64, 128 and 256 filters, CBAM reduction 8, 5 classes.
  std::vector<KernelCase> cases;
  cases.push_back(conv2d_case(batch, 1, 36, 10, 64, 3));
  for (const int64_t c : {64, 128, 256}) {
    const int64_t c_in = c == 64 ? 64 : c / 2;
    cases.push_back(conv2d_case(batch, c_in, 36, 10, c, 3));
    cases.push_back(conv2d_case(batch, c, 36, 10, c, 3));
    cases.push_back(conv2d_case(batch, c_in, 36, 10, c, 1));
    cases.push_back(bn_epilogue_case(batch, c, 360, true, true));
    cases.push_back(channel_attention_case(batch, c, 36, 10, c / 8));
    cases.push_back(spatial_attention_case(batch, c, 36, 10, 7));
  }
  cases.push_back(avg_pool_case(batch * 256, 360));
  cases.push_back(linear_case(batch, 256, 5));
  cases.push_back(cross_entropy_case(batch, 5, false));
  cases.push_back(adam_case(1250851, false));
  cases.push_back(elementwise_case(1250851));  // gradient accumulation over the parameters
  return cases;
}

ErrorStats compare_outputs(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) {
    throw std::logic_error("compare_outputs: " + std::to_string(got.size()) + " values against " +
                           std::to_string(want.size()));
  }
  ErrorStats s;
  for (size_t i = 0; i < want.size(); ++i) {
    s.max_abs = std::max(s.max_abs, std::abs(static_cast<double>(got[i]) - want[i]));
    s.max_ref = std::max(s.max_ref, std::abs(static_cast<double>(want[i])));
  }
  return s;
}

BoundCheck check_output(const KernelCase& c, const std::string& name, const std::vector<float>& got,
                        MathMode math) {
  const std::vector<float>& want = c.expected.at(name);
  const auto it = c.bounds.find(name);
  if (it == c.bounds.end()) throw std::logic_error("kernel case " + c.op + " has no error bound for " + name);
  const KernelCase::Bound& b = it->second;
  if (got.size() != want.size() || (!b.magnitude.empty() && b.magnitude.size() != want.size())) {
    throw std::logic_error("check_output: " + c.op + " " + name + " sizes differ");
  }
  const double max_ref = compare_outputs(want, want).max_ref;
  // The magnitudes are float32 sums of same-signed terms, themselves within gamma(chain) of exact.
  const double inflate = 1.0 + float32_gamma(b.chain);
  BoundCheck r;
  for (size_t i = 0; i < want.size(); ++i) {
    const double err = std::abs(static_cast<double>(got[i]) - want[i]);
    const double magnitude = b.magnitude.empty() ? max_ref : b.magnitude[i];
    const double bound = math == MathMode::Fp32
                             ? float32_difference_bound(b.chain, magnitude * inflate)
                             : reduced_precision_difference_bound(
                                   b.chain, magnitude * inflate,
                                   math == MathMode::Tf32 ? kTf32UnitRoundoff : kBf16UnitRoundoff);
    r.max_abs = std::max(r.max_abs, err);
    if (err > 0.0 || std::isnan(err)) {
      r.ratio = std::max(r.ratio, bound > 0.0 && !std::isnan(err) ? err / bound : INFINITY);
    }
  }
  return r;
}

std::string kernel_version_table() {
  std::string table = "| op | version | kernels |\n|---|---|---|\n";
  for (const auto& op : kVersionedOps) {  // the lists are the same in either build
    for (const KernelVersion& v : case_versions(emulated_kernels(), std::string(op.name))) {
      table += fmt::format("| {} | {}{} | {} |\n", op.name, v.number,
                           v.number == op.default_version ? " (default)" : "", v.name);
    }
  }
  return table;
}

}  // namespace s2
