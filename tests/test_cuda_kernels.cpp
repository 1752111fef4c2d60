// Every CUDA kernel version, executed through the CPU emulator in both thread orders, against the CPU
// kernels (or the CPU framework's autograd for the fused attention blocks). Test cases named
// "paper:" use the paper network's shapes and are labelled slow; the others use odd edge shapes
// (sizes that do not divide the tiles, batch 1, C = 1).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "framework/ops.h"
#include "framework/tensor.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pooling.h"
#include "tests/cuda_test_util.h"

using namespace s2;
using namespace s2::testing;

namespace {

struct ConvCase {
  const char* name;
  int64_t batch, c_in, h, w, c_out, k, stride;
};

Conv2dGeometry same_geometry(const ConvCase& c) {
  Conv2dGeometry g;
  g.batch = c.batch;
  g.c_in = c.c_in;
  g.h_in = c.h;
  g.w_in = c.w;
  g.c_out = c.c_out;
  g.kernel_h = g.kernel_w = c.k;
  g.stride_h = g.stride_w = c.stride;
  g.h_out = (c.h + c.stride - 1) / c.stride;
  g.w_out = (c.w + c.stride - 1) / c.stride;
  g.pad_top = std::max<int64_t>(0, ((g.h_out - 1) * c.stride + c.k - c.h) / 2);
  g.pad_left = std::max<int64_t>(0, ((g.w_out - 1) * c.stride + c.k - c.w) / 2);
  return g;
}

size_t sz(int64_t n) { return static_cast<size_t>(n); }

void check_conv(const ConvCase& c, const std::vector<int>& versions) {
  CAPTURE(c.name);
  const Conv2dGeometry g = same_geometry(c);
  const auto x = random_vector(sz(g.batch * g.c_in * g.in_pixels()), 1);
  const auto w = random_vector(sz(g.c_out * g.patch_size()), 2);
  const auto bias = random_vector(sz(g.c_out), 3);
  const auto dy = random_vector(sz(g.batch * g.c_out * g.out_pixels()), 4);

  const int threads = cpu::max_threads();
  std::vector<float> y_ref(dy.size()), dx_ref(x.size()), dw_ref(w.size()), db_ref(bias.size());
  std::vector<float> ws(std::max({cpu::conv2d_forward_workspace(g, threads),
                                  cpu::conv2d_backward_input_workspace(g, threads),
                                  cpu::conv2d_backward_weight_workspace(g, threads)}) + 1);
  cpu::conv2d_forward(g, x.data(), w.data(), bias.data(), y_ref.data(), ws.data());
  cpu::conv2d_backward_input(g, w.data(), dy.data(), dx_ref.data(), ws.data());
  cpu::conv2d_backward_weight(g, x.data(), dy.data(), dw_ref.data(), db_ref.data(), ws.data());

  const auto dx_dev = upload(x), dw_dev = upload(w), db_dev = upload(bias), ddy = upload(dy);
  cu::DeviceBuffer<float> y(y_ref.size()), dx(dx_ref.size()), dw(dw_ref.size()), db(db_ref.size());
  for (const int v : versions) {
    CAPTURE(v);
    in_both_thread_orders([&] {
      cu::conv2d_forward(v, g, dx_dev.get(), dw_dev.get(), db_dev.get(), y.get(), nullptr);
      check_close(download(y), y_ref, "conv2d forward");
      cu::conv2d_backward_input(v, g, dw_dev.get(), ddy.get(), dx.get(), nullptr);
      check_close(download(dx), dx_ref, "conv2d backward input");
      cu::conv2d_backward_weight(v, g, dx_dev.get(), ddy.get(), dw.get(), db.get(), nullptr);
      check_close(download(dw), dw_ref, "conv2d backward weight");
      check_close(download(db), db_ref, "conv2d backward bias");
    });
  }
}

// The CBAM blocks on the CPU through the framework (whose ops are gradient-checked), as reference.
Tensor tensor(const Shape& shape, const std::vector<float>& v, bool grad = true) {
  Tensor t = Tensor::from_vector(shape, v);
  t.set_requires_grad(grad);
  return t;
}

void check_channel_attention(int64_t n, int64_t c, int64_t h, int64_t w, int64_t hidden, int version) {
  CAPTURE(n);
  CAPTURE(c);
  CAPTURE(version);
  const int64_t p = h * w;
  const auto xv = random_vector(sz(n * c * p), 11), dyv = random_vector(sz(n * c * p), 12);
  const auto w1v = random_vector(sz(hidden * c), 13), b1v = random_vector(sz(hidden), 14, -0.1f, 0.1f);
  const auto w2v = random_vector(sz(c * hidden), 15), b2v = random_vector(sz(c), 16, -0.1f, 0.1f);

  Tensor x = tensor({n, c, h, w}, xv), w1 = tensor({hidden, c}, w1v), b1 = tensor({hidden}, b1v);
  Tensor w2 = tensor({c, hidden}, w2v), b2 = tensor({c}, b2v);
  auto mlp = [&](const Tensor& pooled) { return linear(relu(linear(pooled.reshape({n, c}), w1, b1)), w2, b2); };
  const Tensor att = sigmoid(add(mlp(global_avg_pool2d(x)), mlp(global_max_pool2d(x))));
  const Tensor y = mul(x, att.reshape({n, c, 1, 1}));
  y.backward(Tensor::from_vector({n, c, h, w}, dyv));

  const auto dx_in = upload(xv), d_dy = upload(dyv), d_w1 = upload(w1v), d_b1 = upload(b1v), d_w2 = upload(w2v),
             d_b2 = upload(b2v);
  cu::DeviceBuffer<float> avg(sz(n * c)), mx(sz(n * c)), att_dev(sz(n * c)), y_dev(xv.size()), dx(xv.size());
  cu::DeviceBuffer<int32_t> argmax(sz(n * c));
  cu::DeviceBuffer<float> g_w1(w1v.size()), g_b1(b1v.size()), g_w2(w2v.size()), g_b2(b2v.size());
  const ChannelMlp params{d_w1.get(), d_b1.get(), d_w2.get(), d_b2.get(), hidden};
  const ChannelAttentionSaved saved{avg.get(), mx.get(), argmax.get(), att_dev.get()};
  in_both_thread_orders([&] {
    cu::channel_attention_forward(version, n, c, p, dx_in.get(), params, saved, y_dev.get(), nullptr);
    check_close(download(y_dev), y.to_vector(), "channel attention forward");
    check_close(download(att_dev), att.to_vector(), "channel attention weights");
    for (auto* g : {&g_w1, &g_b1, &g_w2, &g_b2}) {
      cu::fill_zero(g->get(), g->size() * sizeof(float));
    }
    cu::channel_attention_backward(version, n, c, p, dx_in.get(), d_dy.get(), params, saved, dx.get(),
                                   {g_w1.get(), g_b1.get(), g_w2.get(), g_b2.get()}, nullptr);
    check_close(download(dx), x.grad().to_vector(), "channel attention dx");
    check_close(download(g_w1), w1.grad().to_vector(), "channel attention dW1");
    check_close(download(g_b1), b1.grad().to_vector(), "channel attention db1");
    check_close(download(g_w2), w2.grad().to_vector(), "channel attention dW2");
    check_close(download(g_b2), b2.grad().to_vector(), "channel attention db2");
  });
}

void check_spatial_attention(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int version) {
  CAPTURE(n);
  CAPTURE(c);
  CAPTURE(k);
  CAPTURE(version);
  const int64_t p = h * w;
  const auto xv = random_vector(sz(n * c * p), 21), dyv = random_vector(sz(n * c * p), 22);
  const auto wv = random_vector(sz(2 * k * k), 23, -0.5f, 0.5f);
  Tensor x = tensor({n, c, h, w}, xv), weight = tensor({1, 2, k, k}, wv);
  const Tensor att = sigmoid(conv2d(concat_channels({channel_mean(x), channel_max(x)}), weight, Tensor()));
  const Tensor y = mul(x, att);
  y.backward(Tensor::from_vector({n, c, h, w}, dyv));

  const auto d_x = upload(xv), d_dy = upload(dyv), d_w = upload(wv);
  cu::DeviceBuffer<float> pooled(sz(n * 2 * p)), att_dev(sz(n * p)), y_dev(xv.size()), dx(xv.size()),
      dw(wv.size());
  cu::DeviceBuffer<int32_t> argmax(sz(n * p));
  const SpatialAttentionSaved saved{pooled.get(), argmax.get(), att_dev.get()};
  in_both_thread_orders([&] {
    cu::spatial_attention_forward(version, n, c, h, w, k, d_x.get(), d_w.get(), saved, y_dev.get(), nullptr);
    check_close(download(y_dev), y.to_vector(), "spatial attention forward");
    check_close(download(att_dev), att.to_vector(), "spatial attention map");
    cu::fill_zero(dw.get(), dw.size() * sizeof(float));
    cu::spatial_attention_backward(version, n, c, h, w, k, d_x.get(), d_w.get(), d_dy.get(), saved, dx.get(),
                                   dw.get(), nullptr);
    check_close(download(dx), x.grad().to_vector(), "spatial attention dx");
    check_close(download(dw), weight.grad().to_vector(), "spatial attention dW");
  });
}

void check_bn_epilogue(const cpu::BatchNormShape& s, bool residual, bool relu, int version) {
  CAPTURE(s.channels);
  CAPTURE(residual);
  CAPTURE(relu);
  CAPTURE(version);
  const size_t total = sz(s.batch * s.channels * s.pixels), ch = sz(s.channels);
  const auto x = random_vector(total, 31, -2.0f, 3.0f), r = random_vector(total, 32), dy = random_vector(total, 33);
  const auto gamma = random_vector(ch, 34, 0.5f, 1.5f), beta = random_vector(ch, 35);
  const float eps = 1e-3f, momentum = 0.01f;

  // CPU: BN, then add and ReLU; backward masks dy by the ReLU, which is also the residual's gradient.
  std::vector<float> y_ref(total), mean_ref(ch), invstd_ref(ch), rm_ref(ch, 0.1f), rv_ref(ch, 0.9f);
  cpu::batchnorm_forward_train(s, x.data(), gamma.data(), beta.data(), eps, momentum, false, false, y_ref.data(),
                               mean_ref.data(), invstd_ref.data(), rm_ref.data(), rv_ref.data());
  std::vector<float> infer_ref(total);
  cpu::batchnorm_forward_infer(s, x.data(), gamma.data(), beta.data(), rm_ref.data(), rv_ref.data(), eps, false,
                               infer_ref.data());
  std::vector<float> dz(total);
  for (size_t i = 0; i < total; ++i) {
    y_ref[i] += residual ? r[i] : 0.0f;
    infer_ref[i] += residual ? r[i] : 0.0f;
    if (relu) {
      y_ref[i] = std::max(y_ref[i], 0.0f);
      infer_ref[i] = std::max(infer_ref[i], 0.0f);
    }
    dz[i] = relu && !(y_ref[i] > 0.0f) ? 0.0f : dy[i];
  }
  std::vector<float> dx_ref(total), dgamma_ref(ch), dbeta_ref(ch);
  cpu::batchnorm_backward(s, x.data(), nullptr, dz.data(), gamma.data(), mean_ref.data(), invstd_ref.data(),
                          dx_ref.data(), dgamma_ref.data(), dbeta_ref.data());

  const auto d_x = upload(x), d_r = upload(r), d_dy = upload(dy), d_gamma = upload(gamma), d_beta = upload(beta);
  cu::DeviceBuffer<float> y(total), mean(ch), invstd(ch), dx(total), dres(total), dgamma(ch), dbeta(ch), infer(total);
  in_both_thread_orders([&] {
    const auto rm = upload(std::vector<float>(ch, 0.1f)), rv = upload(std::vector<float>(ch, 0.9f));
    cu::bn_epilogue_forward_train(version, s, d_x.get(), residual ? d_r.get() : nullptr, d_gamma.get(),
                                  d_beta.get(), eps, momentum, false, relu, y.get(), mean.get(), invstd.get(),
                                  rm.get(), rv.get(), nullptr);
    check_close(download(y), y_ref, "bn epilogue forward");
    check_close(download(mean), mean_ref, "bn batch mean");
    check_close(download(invstd), invstd_ref, "bn 1/std");
    check_close(download(rm), rm_ref, "bn running mean");
    check_close(download(rv), rv_ref, "bn running variance");
    cu::bn_epilogue_forward_infer(version, s, d_x.get(), residual ? d_r.get() : nullptr, d_gamma.get(),
                                  d_beta.get(), rm.get(), rv.get(), eps, relu, infer.get(), nullptr);
    check_close(download(infer), infer_ref, "bn epilogue inference");
    cu::bn_epilogue_backward(version, s, d_x.get(), y.get(), d_dy.get(), d_gamma.get(), mean.get(), invstd.get(),
                             relu, dx.get(), residual ? dres.get() : nullptr, dgamma.get(), dbeta.get(), nullptr);
    check_close(download(dx), dx_ref, "bn epilogue dx");
    check_close(download(dgamma), dgamma_ref, "bn dgamma");
    check_close(download(dbeta), dbeta_ref, "bn dbeta");
    if (residual) {
      check_close(download(dres), dz, "bn epilogue dresidual");
    }
  });
}

void check_linear(int64_t batch, int64_t in, int64_t out) {
  CAPTURE(batch);
  CAPTURE(in);
  CAPTURE(out);
  const auto x = random_vector(sz(batch * in), 41), w = random_vector(sz(out * in), 42), b = random_vector(sz(out), 43);
  const auto dy = random_vector(sz(batch * out), 44);
  std::vector<float> y_ref(dy.size()), dx_ref(x.size()), dw_ref(w.size()), db_ref(b.size());
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t o = 0; o < out; ++o) {
      double s = b[sz(o)];
      for (int64_t k = 0; k < in; ++k) {
        s += double{x[sz(i * in + k)]} * w[sz(o * in + k)];
        dx_ref[sz(i * in + k)] += dy[sz(i * out + o)] * w[sz(o * in + k)];
        dw_ref[sz(o * in + k)] += dy[sz(i * out + o)] * x[sz(i * in + k)];
      }
      y_ref[sz(i * out + o)] = static_cast<float>(s);
      db_ref[sz(o)] += dy[sz(i * out + o)];
    }
  }
  const auto d_x = upload(x), d_w = upload(w), d_b = upload(b), d_dy = upload(dy);
  cu::DeviceBuffer<float> y(y_ref.size()), dx(x.size()), dw(w.size()), db(b.size());
  in_both_thread_orders([&] {
    cu::linear_forward(1, batch, in, out, d_x.get(), d_w.get(), d_b.get(), y.get(), nullptr);
    check_close(download(y), y_ref, "linear forward");
    cu::linear_backward(1, batch, in, out, d_x.get(), d_w.get(), d_dy.get(), dx.get(), dw.get(), db.get(), nullptr);
    check_close(download(dx), dx_ref, "linear dx");
    check_close(download(dw), dw_ref, "linear dW");
    check_close(download(db), db_ref, "linear db");
  });
}

}  // namespace

TEST_CASE("conv2d versions 1 and 2 match the CPU conv on edge shapes") {
  for (const ConvCase& c : {ConvCase{"paper input layer: C=1, batch 1", 1, 1, 36, 10, 64, 3, 1},
                            ConvCase{"odd sizes, 3x3", 2, 3, 7, 5, 5, 3, 1},
                            ConvCase{"1x1 skip", 1, 5, 6, 4, 3, 1, 1},
                            ConvCase{"stride 2", 2, 4, 9, 7, 6, 3, 2},
                            ConvCase{"spatial attention 7x7 2->1", 2, 2, 36, 10, 1, 7, 1},
                            ConvCase{"more than one 64-wide tile", 1, 9, 9, 11, 70, 3, 1}}) {
    check_conv(c, {1, 2});
  }
}

TEST_CASE("paper: conv2d version 2 on the paper network's shapes (version 1 on one)") {
  check_conv({"stage 1 3x3 64->64", 2, 64, 36, 10, 64, 3, 1}, {1, 2});
  check_conv({"stage 2 3x3 64->128", 2, 64, 36, 10, 128, 3, 1}, {2});
  check_conv({"stage 3 1x1 skip 128->256", 2, 128, 36, 10, 256, 1, 1}, {2});
  check_conv({"stage 3 3x3 256->256", 1, 256, 36, 10, 256, 3, 1}, {2});
}

TEST_CASE("conv2d version 3 (cuDNN) is reported as GPU-only in the emulator, not skipped silently") {
  const Conv2dGeometry g = same_geometry({"x", 1, 1, 4, 4, 1, 3, 1});
  cu::DeviceBuffer<float> x(16), w(9), y(16);
  CHECK_THROWS_WITH_AS(cu::conv2d_forward(3, g, x.get(), w.get(), nullptr, y.get(), nullptr),
                       doctest::Contains("runs on a GPU only"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(cu::conv2d_forward(9, g, x.get(), w.get(), nullptr, y.get(), nullptr),
                       doctest::Contains("unknown kernel version 9"), std::invalid_argument);
}

TEST_CASE("linear version 1 matches a double-precision reference") {
  check_linear(3, 7, 5);
  check_linear(65, 70, 5);
}

TEST_CASE("channel attention versions 1 and 2 match the framework on edge shapes") {
  for (const int v : {1, 2}) {
    check_channel_attention(1, 8, 5, 3, 1, v);   // batch 1, one hidden unit
    check_channel_attention(3, 40, 7, 5, 5, v);  // pixels not a multiple of the warp
  }
}

TEST_CASE("paper: channel attention on stage shapes") {
  for (const int v : {1, 2}) {
    check_channel_attention(2, 64, 36, 10, 8, v);
    check_channel_attention(2, 256, 36, 10, 32, v);
  }
}

TEST_CASE("spatial attention versions 1 and 2 match the framework on edge shapes") {
  for (const int v : {1, 2}) {
    check_spatial_attention(1, 1, 5, 3, 7, v);  // C = 1, map smaller than the kernel
    check_spatial_attention(2, 6, 9, 4, 3, v);
  }
}

TEST_CASE("paper: spatial attention 7x7 on stage shapes") {
  for (const int v : {1, 2}) {
    check_spatial_attention(2, 64, 36, 10, 7, v);
    check_spatial_attention(2, 256, 36, 10, 7, v);
  }
}

TEST_CASE("BN epilogue versions 1 and 2 match the CPU BN, add and ReLU") {
  for (const int v : {1, 2}) {
    for (const bool residual : {false, true}) {
      for (const bool relu : {false, true}) {
        check_bn_epilogue({3, 5, 7}, residual, relu, v);
      }
    }
    check_bn_epilogue({1, 1, 300}, true, true, v);
  }
}

TEST_CASE("paper: BN epilogue on a stage-3 residual output") {
  for (const int v : {1, 2}) {
    check_bn_epilogue({4, 256, 360}, true, true, v);
  }
}

TEST_CASE("global average pooling, softmax cross-entropy and Adam match the CPU kernels") {
  in_both_thread_orders([] {
    const int64_t rows = 70, pixels = 37;
    const auto x = random_vector(sz(rows * pixels), 51), dy = random_vector(sz(rows), 52);
    std::vector<float> y_ref(sz(rows)), dx_ref(x.size());
    cpu::global_avg_pool_forward(rows, pixels, x.data(), y_ref.data());
    cpu::global_avg_pool_backward(rows, pixels, dy.data(), dx_ref.data());
    const auto d_x = upload(x), d_dy = upload(dy);
    cu::DeviceBuffer<float> y(sz(rows)), dx(x.size());
    cu::global_avg_pool_forward(rows, pixels, d_x.get(), y.get(), nullptr);
    check_close(download(y), y_ref, "global average pool");
    cu::global_avg_pool_backward(rows, pixels, d_dy.get(), dx.get(), nullptr);
    check_close(download(dx), dx_ref, "global average pool backward");
  });
  in_both_thread_orders([] {
    const int64_t batch = 37, classes = 5;
    const auto logits = random_vector(sz(batch * classes), 53, -4.0f, 4.0f);
    const auto weights = random_vector(sz(classes), 54, 0.5f, 2.0f);
    std::vector<int32_t> labels(sz(batch));
    for (int64_t i = 0; i < batch; ++i) {
      labels[sz(i)] = static_cast<int32_t>((i * 7) % classes);
    }
    for (const bool weighted : {false, true}) {
      CAPTURE(weighted);
      cpu::CrossEntropyOptions options;
      options.class_weights = weighted ? weights.data() : nullptr;
      std::vector<float> probs_ref(logits.size()), dlogits_ref(logits.size());
      const float loss_ref = cpu::softmax_cross_entropy_forward(batch, classes, logits.data(), labels.data(),
                                                                options, probs_ref.data());
      cpu::softmax_cross_entropy_backward(batch, classes, probs_ref.data(), labels.data(), options, 0.5f,
                                          dlogits_ref.data());
      const auto d_logits = upload(logits), d_weights = upload(weights);
      const auto d_labels = upload(labels);
      cu::DeviceBuffer<float> probs(logits.size()), loss(1), dlogits(logits.size());
      const float* w = weighted ? d_weights.get() : nullptr;
      cu::softmax_cross_entropy_forward(batch, classes, d_logits.get(), d_labels.get(), w, probs.get(), loss.get(),
                                        nullptr);
      check_close(download(probs), probs_ref, "softmax");
      check_close(download(loss), {loss_ref}, "cross-entropy loss");
      cu::softmax_cross_entropy_backward(batch, classes, probs.get(), d_labels.get(), w, 0.5f, dlogits.get(),
                                         nullptr);
      check_close(download(dlogits), dlogits_ref, "cross-entropy gradient");
    }
  });
  in_both_thread_orders([] {
    const int64_t n = 1000;
    for (const bool decoupled : {false, true}) {
      const cpu::AdamStep step{1e-3f, 0.9f, 0.999f, 1e-7f, 0.01f, decoupled, 3};
      auto param = random_vector(sz(n), 55), m = random_vector(sz(n), 56, 0.0f, 0.1f);
      auto v = random_vector(sz(n), 57, 0.0f, 0.1f);
      const auto grad = random_vector(sz(n), 58);
      const auto d_param = upload(param), d_grad = upload(grad), d_m = upload(m), d_v = upload(v);
      cpu::adam_update(n, param.data(), grad.data(), m.data(), v.data(), step);
      cu::adam_update(n, d_param.get(), d_grad.get(), d_m.get(), d_v.get(), step, nullptr);
      check_close(download(d_param), param, "adam parameters", 1e-6);
      check_close(download(d_m), m, "adam first moment", 1e-6);
      check_close(download(d_v), v, "adam second moment", 1e-6);
    }
  });
}
