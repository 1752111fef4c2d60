// The paper network's structure: parameter count, stage shapes and ablation variants.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "framework/autograd.h"
#include "framework/error.h"
#include "framework/random.h"
#include "kernels/rounding_bound.h"
#include "models/cbam_crop_net.h"
#include "models/factory.h"

using namespace s2;
using namespace s2::models;

TEST_CASE("the paper network has 1,250,851 trainable parameters for 5 classes and 36x10 input") {
  CbamCropNet net({});
  CHECK(net.num_parameters() == 1250851);
}

TEST_CASE("stage shapes of the paper network") {
  CbamCropNet net({});
  NoGradGuard no_grad;
  const auto shapes = net.stage_shapes(Tensor::zeros({2, 36, 10}));
  const std::vector<std::pair<std::string, Shape>> expected{
      {"stem", {2, 64, 36, 10}},    {"stage1", {2, 64, 36, 10}}, {"stage2", {2, 128, 36, 10}},
      {"stage3", {2, 256, 36, 10}}, {"pool", {2, 256}},          {"logits", {2, 5}}};
  CHECK(shapes == expected);
}

TEST_CASE("ablation variants change exactly the parts they name") {
  const int64_t paper = CbamCropNet({}).num_parameters();
  const int64_t cbam_params = (1096 + 98) + (4240 + 98) + (16672 + 98);
  CHECK(CbamCropNet({.attention = Attention::None}).num_parameters() == paper - cbam_params);
  CHECK(CbamCropNet({.attention = Attention::ChannelOnly}).num_parameters() == paper - 3 * 98);
  CHECK(CbamCropNet({.attention = Attention::SpatialOnly}).num_parameters() == paper - (1096 + 4240 + 16672));
  CHECK(CbamCropNet({.residual_skip = false}).num_parameters() == paper - (64 * 64 + 64 * 128 + 128 * 256));
  CHECK(CbamCropNet({.spatial_kernel = 3}).num_parameters() == paper - 3 * (98 - 18));
  // Any T x B and class count.
  CbamCropNet other({.timesteps = 73, .bands = 4, .classes = 8, .stage_widths = {16, 32}});
  NoGradGuard no_grad;
  CHECK(other.forward(Tensor::zeros({3, 73, 4})).shape() == Shape{3, 8});
  CHECK_THROWS_WITH_AS(other.forward(Tensor::zeros({3, 36, 10})), doctest::Contains("got (3, 36, 10)"),
                       Error);
  CHECK_THROWS_AS(parse_attention("self"), Error);
}

TEST_CASE("baselines: TempCNN and the plain CNN from the factory") {
  auto tempcnn = make_model({.kind = "tempcnn"}, 36, 10, 5);
  // 3 convs (10->64, 64->64, 64->64, kernel 5, bias) + 3 BN + dense 64*36->256 + BN + head 256->5.
  const int64_t expected =
      (10 * 64 * 5 + 64) + 2 * (64 * 64 * 5 + 64) + 3 * 128 + (64 * 36 * 256 + 256) + 512 + (256 * 5 + 5);
  CHECK(tempcnn->num_parameters() == expected);
  NoGradGuard no_grad;
  tempcnn->eval();
  CHECK(tempcnn->forward(Tensor::zeros({4, 36, 10})).shape() == Shape{4, 5});
  auto plain = make_model({.kind = "plain_cnn"}, 36, 10, 5);
  CHECK(plain->num_parameters() == CbamCropNet({}).num_parameters() - (1096 + 98) - (4240 + 98) -
                                       (16672 + 98) - (64 * 64 + 64 * 128 + 128 * 256));
  CHECK_THROWS_WITH_AS(make_model({.kind = "vit"}, 36, 10, 5), doctest::Contains("unknown model kind 'vit'"),
                       Error);
}

TEST_CASE("the factory keeps the batch-norm options set in each model's own config") {
  // The running mean after one training-mode forward is momentum x the batch mean (from zero): a
  // momentum of 1 gives twice what 0.5 gives, for the paper network and for TempCNN alike.
  auto stem_running_mean = [](models::ModelConfig config, float momentum) {
    config.cbam.batch_norm.momentum = momentum;
    config.tempcnn.batch_norm.momentum = momentum;
    manual_seed(3);
    auto model = models::make_model(config, 12, 4, 3);
    Generator g(5);
    Tensor x = Tensor::empty({4, 12, 4});
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = g.normal() + 2.0f;
    model->forward(x);
    for (const auto& [name, t] : model->named_buffers()) {
      if (name.find("running_mean") != std::string::npos) return t.to_vector();
    }
    FAIL("no running_mean buffer");
    return std::vector<float>{};
  };
  for (const char* kind : {"cbam", "tempcnn"}) {
    CAPTURE(kind);
    models::ModelConfig config;
    config.kind = kind;
    const auto full = stem_running_mean(config, 1.0f), half = stem_running_mean(config, 0.5f);
    REQUIRE(full.size() == half.size());
    for (size_t i = 0; i < full.size(); ++i) CHECK(half[i] == doctest::Approx(0.5f * full[i]).epsilon(1e-5));
    float largest = 0.0f;
    for (const float v : full) largest = std::max(largest, std::abs(v));
    CHECK(largest > 1e-3f);  // the check above is not 0 == 0
  }
}

TEST_CASE("the forward pass equals an independent float64 statement of the network") {
  // scripts/forward_reference.py states the network with PyTorch's functional ops in float64 and sets
  // parameter p element j to ((7 j + 13 p) mod 17 - 8) / 16 and input (n, k) to ((31 n + 11 k) mod 23 - 11) /
  // 8, exact in float32. Its logits (torch 2.15.0) are committed here.
  models::CbamCropNetConfig config;
  config.timesteps = 5, config.bands = 3, config.classes = 3, config.stem_width = 2,
  config.stage_widths = {2, 4};
  config.reduction = 2, config.spatial_kernel = 3;
  models::CbamCropNet net(config);
  const auto params = net.named_parameters();
  const std::vector<std::string> order{"stem_conv.weight", "stem_conv.bias", "stem_bn.gamma", "stem_bn.beta"};
  REQUIRE(params.size() == 4 + 2 * 12 + 2);
  for (size_t p = 0; p < order.size(); ++p) CHECK(params[p].first == order[p]);
  CHECK(params[4].first == "stage1.unit1.conv1.weight");
  CHECK(params[11].first == "stage1.cbam.channel.fc1.weight");
  CHECK(params.back().first == "head.bias");
  for (size_t p = 0; p < params.size(); ++p) {
    Tensor t = params[p].second;
    for (int64_t j = 0; j < t.numel(); ++j)
      t.data()[j] = static_cast<float>((7 * j + 13 * static_cast<int64_t>(p)) % 17 - 8) / 16.0f;
  }
  Tensor x = Tensor::empty({2, 1, 5, 3});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t k = 0; k < 15; ++k)
      x.data()[n * 15 + k] = static_cast<float>((31 * n + 11 * k) % 23 - 11) / 8.0f;
  const std::vector<double> reference{-0.336029883009, 0.182310629327, -0.501031815274,
                                      -0.335888450304, 0.179936837652, -0.500155908689};
  const std::vector<float> logits = net.forward(x).to_vector();
  // One float32 evaluation of the network's rounding chain against float64, sized by the largest logit.
  const double bound = float32_gamma(models::rounding_chain(config, 2, true)) * 0.501031815274;
  for (size_t i = 0; i < reference.size(); ++i) {
    CAPTURE(i);
    CHECK(std::abs(logits[i] - reference[i]) <= bound);
  }
}

TEST_CASE("weight initialisation conventions draw from the distributions they name (issue #20)") {
  // Each bound below is a property of every draw, so a wrong distribution or a wrong fan fails it; the
  // "near the bound" checks hold for any seed with probability above 1 - 0.9^576 (uniform draws).
  auto param = [](CbamCropNet& net, const std::string& name) {
    for (const auto& [n, t] : net.named_parameters())
      if (n == name) return t.to_vector();
    FAIL("no parameter " << name);
    return std::vector<float>{};
  };
  auto max_abs = [](const std::vector<float>& v) {
    float m = 0.0f;
    for (const float x : v) m = std::max(m, std::abs(x));
    return m;
  };
  const double he_stem_cut = 2.0 * std::sqrt(2.0 / 9.0) / 0.87962566103423978;  // fan_in 1 x 3 x 3
  const double glorot_stem = std::sqrt(6.0 / (9.0 + 576.0)), glorot_head = std::sqrt(6.0 / (256.0 + 5.0));
  manual_seed(1);
  CbamCropNet he({.init = WeightInit::He});
  CHECK(max_abs(param(he, "stem_conv.weight")) <= he_stem_cut);
  CHECK(max_abs(param(he, "stem_conv.weight")) > glorot_stem);  // He's stem is wider than Glorot's
  CHECK(max_abs(param(he, "stem_conv.bias")) == 0.0f);
  CHECK(max_abs(param(he, "head.weight")) <= glorot_head);

  manual_seed(1);
  CbamCropNet keras({.init = WeightInit::Keras});
  const float keras_stem = max_abs(param(keras, "stem_conv.weight"));
  CHECK(keras_stem <= glorot_stem);
  CHECK(keras_stem > 0.9 * glorot_stem);
  CHECK(max_abs(param(keras, "stem_conv.bias")) == 0.0f);

  manual_seed(1);
  CbamCropNet torch({.init = WeightInit::Torch});
  // PyTorch: weight and bias uniform in +-1/sqrt(fan_in), for convs and linears alike.
  const std::vector<std::pair<std::string, double>> fan_in{{"stem_conv", 9},
                                                           {"stage1.unit1.conv1", 576},
                                                           {"stage3.unit1.conv2", 2304},
                                                           {"stage1.unit1.skip", 64},
                                                           {"stage2.cbam.channel.fc1", 128},
                                                           {"stage2.cbam.channel.fc2", 16},
                                                           {"stage3.cbam.spatial.conv", 98},
                                                           {"head", 256}};
  for (const auto& [layer, fan] : fan_in) {
    CAPTURE(layer);
    const double bound = 1.0 / std::sqrt(fan);
    const auto w = param(torch, layer + ".weight");
    CHECK(max_abs(w) <= bound);
    if (w.size() >= 576) CHECK(max_abs(w) > 0.9 * bound);
  }
  for (const std::string biased : {"stem_conv", "stage2.cbam.channel.fc1", "head"}) {
    CAPTURE(biased);
    const auto b = param(torch, biased + ".bias");
    const double bound = 1.0 / std::sqrt(biased == "stem_conv" ? 9.0 : (biased == "head" ? 256.0 : 128.0));
    CHECK(max_abs(b) <= bound);
    CHECK(max_abs(b) > 0.0f);  // drawn, not zero as under Keras's convention
  }
  // The standard deviation of 589,824 uniform draws is bound / sqrt(3) to within 5 of its sampling
  // standard errors (relative error sqrt((kurtosis - 1) / 4n), kurtosis 9/5 for a uniform).
  const auto w = param(torch, "stage3.unit1.conv2.weight");
  double sq = 0;
  for (const float x : w) sq += static_cast<double>(x) * x;
  const double n = static_cast<double>(w.size()), expected = 1.0 / std::sqrt(2304.0) / std::sqrt(3.0);
  CHECK(std::abs(std::sqrt(sq / n) / expected - 1.0) <= 5.0 * std::sqrt(0.8 / (4.0 * n)));

  CHECK(parse_weight_init("torch") == WeightInit::Torch);
  CHECK(std::string(weight_init_name(WeightInit::Keras)) == "keras");
  CHECK_THROWS_WITH_AS(parse_weight_init("xavier"), doctest::Contains("unknown init 'xavier'"), Error);
}

TEST_CASE("the stem and attention-MLP biases can be left out, and the network still runs") {
  const int64_t paper = CbamCropNet({}).num_parameters();
  CHECK(CbamCropNet({.stem_bias = false}).num_parameters() == paper - 64);
  // fc1 (C/8) and fc2 (C) biases in each of the three stages.
  CHECK(CbamCropNet({.mlp_bias = false}).num_parameters() == paper - (8 + 64) - (16 + 128) - (32 + 256));
  CbamCropNet bare({.timesteps = 5,
                    .bands = 3,
                    .classes = 2,
                    .stem_width = 4,
                    .stage_widths = {4, 8},
                    .reduction = 2,
                    .stem_bias = false,
                    .mlp_bias = false});
  Tensor x = Tensor::empty({2, 5, 3});
  Generator g(4);
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = g.normal();
  const Tensor loss = softmax_cross_entropy(bare.forward(x), {0, 1});
  loss.backward();
  for (const auto& [name, p] : bare.named_parameters()) {
    CAPTURE(name);
    CHECK(p.grad().defined());
  }
}
