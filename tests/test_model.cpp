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

TEST_CASE("TempCBAM: TempCNN with CBAM over its filters and dates after each block") {
  // Per block: the channel MLP 64 -> 8 -> 64 with biases (1096) and the 7 x 1 date kernel over the
  // channel mean and max (14).
  const int64_t mlp = 64 * 8 + 8 + 8 * 64 + 64, dates = 2 * 7;
  manual_seed(7);
  auto tempcnn = make_model({.kind = "tempcnn"}, 36, 10, 5);
  const int64_t base = tempcnn->num_parameters();
  auto tempcbam = [](Attention attention, GeoAttention geo) {
    models::ModelConfig config{.kind = "tempcbam"};
    config.cbam.attention = attention, config.cbam.geo = geo;
    manual_seed(7);
    return make_model(config, 36, 10, 5);
  };
  CHECK(tempcbam(Attention::Cbam, GeoAttention::None)->num_parameters() == base + 3 * (mlp + dates));
  CHECK(tempcbam(Attention::ChannelOnly, GeoAttention::None)->num_parameters() == base + 3 * mlp);
  CHECK(tempcbam(Attention::SpatialOnly, GeoAttention::None)->num_parameters() == base + 3 * dates);

  Generator g(11);
  Tensor x = Tensor::empty({4, 36, 10});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = g.normal();
  NoGradGuard no_grad;
  // Without attention it is TempCNN: the same layers and draws, so the same logits bit for bit.
  auto none = tempcbam(Attention::None, GeoAttention::None);
  tempcnn->eval(), none->eval();
  CHECK(none->forward(x).to_vector() == tempcnn->forward(x).to_vector());

  auto plain = tempcbam(Attention::Cbam, GeoAttention::None);
  plain->eval();
  const std::vector<float> logits = plain->forward(x).to_vector();
  CHECK(logits.size() == 4 * 5);
  CHECK(logits != tempcnn->forward(x).to_vector());  // the attention is wired in
  CHECK_FALSE(plain->uses_location());
  CHECK_FALSE(plain->has_cuda_kernels());

  // Residual attention, x (1 + a): the same parameters and draws, each block's attended maps plus its
  // input, so the same weights give other logits.
  models::ModelConfig residual_config{.kind = "tempcbam"};
  residual_config.cbam.attention = Attention::Cbam;
  residual_config.tempcnn.attention_join = models::AttentionJoin::Residual;
  manual_seed(7);
  auto residual = make_model(residual_config, 36, 10, 5);
  residual->eval();
  CHECK(residual->num_parameters() == plain->num_parameters());
  const auto named = plain->named_state(), residual_named = residual->named_state();
  REQUIRE(named.size() == residual_named.size());
  for (size_t i = 0; i < named.size(); ++i)
    CHECK(named[i].second.to_vector() == residual_named[i].second.to_vector());
  CHECK(residual->forward(x).to_vector() != logits);

  // Gated attention, x (1 + g a): one gate per filter and block, all zero at the start, so that an
  // untrained gated TempCBAM is TempCNN with its weights, bit for bit (x + 0 a = x).
  models::ModelConfig gated_config = residual_config;
  gated_config.tempcnn.attention_join = models::AttentionJoin::Gated;
  manual_seed(7);
  auto gated = make_model(gated_config, 36, 10, 5);
  gated->eval();
  CHECK(gated->num_parameters() == plain->num_parameters() + 3 * 64);
  auto backbone = make_model({.kind = "tempcnn"}, 36, 10, 5);
  backbone->eval();
  const auto gated_named = gated->named_state();
  int64_t copied = 0;
  for (auto& [name, t] : backbone->named_state()) {
    for (const auto& [gated_name, gated_t] : gated_named) {
      if (gated_name == name) t.copy_from(gated_t), ++copied;
    }
  }
  CHECK(copied == static_cast<int64_t>(backbone->named_state().size()));
  CHECK(backbone->forward(x).to_vector() != tempcnn->forward(x).to_vector());  // other draws, other weights
  const std::vector<float> backbone_logits = backbone->forward(x).to_vector();
  CHECK(gated->forward(x).to_vector() == backbone_logits);
  // Open gates let the attention in.
  for (auto& [name, p] : gated->named_parameters()) {
    if (name.find("gate") == std::string::npos) continue;
    CHECK(p.shape() == Shape{1, 64, 1, 1});
    for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = 0.5f;
  }
  CHECK(gated->forward(x).to_vector() != backbone_logits);

  // Geo-CBAM's entries: E x 8 per block (channel) and 2 x E per block (dates), all zero at the start,
  // so an untrained geo TempCBAM is TempCBAM of its seed wherever the samples are.
  const int64_t e = models::LocationEncoding{}.features();
  auto geo = tempcbam(Attention::Cbam, GeoAttention::Both);
  geo->eval();
  CHECK(geo->uses_location());
  CHECK(geo->num_parameters() == plain->num_parameters() + 3 * (e * 8 + 2 * e));
  const Tensor where = Tensor::from_vector({4, 2}, {51.0f, 4.0f, -3.0f, 33.5f, 10.0f, 10.0f, 60.0f, -100.0f});
  CHECK(geo->forward_at(x, where).to_vector() == logits);
  CHECK_THROWS_WITH_AS(geo->forward(x), doctest::Contains("needs where each sample is"), Error);
  // With geo weights, the place reaches the logits.
  for (auto& [name, p] : geo->named_parameters()) {
    if (name.find("geo") == std::string::npos) continue;
    for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = 0.5f * g.normal();
  }
  const Tensor elsewhere = Tensor::from_vector({4, 2}, {-10.0f, 120.0f, 0.0f, 0.0f, 45.0f, 5.0f, 1.0f, 1.0f});
  CHECK(geo->forward_at(x, where).to_vector() != geo->forward_at(x, elsewhere).to_vector());
  CHECK(tempcbam(Attention::Cbam, GeoAttention::Head)->num_parameters() == plain->num_parameters() + e * 5);
  // TempCNN has no attention for the location to enter.
  CHECK_THROWS_WITH_AS(
      models::TempCnn({.geo = GeoAttention::Channel}),
      doctest::Contains("geo 'channel' needs the attention it enters, and attention is 'none'"), Error);
}

TEST_CASE("attention over dates alone: a k x 1 spatial kernel equals its float64 statement") {
  // TempCBAM's maps are (C, T, 1); the spatial attention's 3 x 1 kernel over the channel mean and max,
  // zero-padded at both ends of the series, then the sigmoid, scales each date.
  models::CbamCropNetConfig config;
  config.spatial_kernel = 3, config.spatial_kernel_w = 1;
  models::SpatialAttention attention(config);
  const auto params = attention.named_parameters();
  REQUIRE(params.size() == 1);
  Tensor w = params[0].second;
  REQUIRE(w.shape() == Shape{1, 2, 3, 1});
  const std::vector<double> weights{0.5, -0.25, 0.75, -1.0, 0.125, 0.5};  // mean taps, then max taps
  for (int64_t i = 0; i < 6; ++i) w.data()[i] = static_cast<float>(weights[static_cast<size_t>(i)]);
  const int64_t c = 3, t = 5;
  Tensor x = Tensor::empty({1, c, t, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>((7 * i) % 11 - 5) / 4.0f;
  NoGradGuard no_grad;
  const std::vector<float> map = attention.map(x).to_vector();
  REQUIRE(map.size() == static_cast<size_t>(t));
  for (int64_t d = 0; d < t; ++d) {
    double logit = 0, magnitude = 0;
    for (int64_t k = -1; k <= 1; ++k) {
      const int64_t at = d + k;
      if (at < 0 || at >= t) continue;
      double mean = 0, largest = -1e300;
      for (int64_t ch = 0; ch < c; ++ch) {
        const double v = x.data()[ch * t + at];
        mean += v / static_cast<double>(c), largest = std::max(largest, v);
      }
      logit += weights[static_cast<size_t>(k + 1)] * mean + weights[static_cast<size_t>(k + 4)] * largest;
      magnitude += std::abs(weights[static_cast<size_t>(k + 1)] * mean) +
                   std::abs(weights[static_cast<size_t>(k + 4)] * largest);
    }
    const double expected = 1.0 / (1.0 + std::exp(-logit));
    // The mean (c terms), the 6-tap conv and the sigmoid's exp, add and divide; the sigmoid's slope is at
    // most 1/4, and its own roundings are relative to its value.
    const int64_t chain = c + 1 + 6 + 3;
    CAPTURE(d);
    CHECK(std::abs(map[static_cast<size_t>(d)] - expected) <=
          float32_gamma(chain) * (0.25 * magnitude + expected));
  }
  // The scaled maps: the series times the map, date by date.
  const std::vector<float> scaled = attention.forward(x).to_vector();
  for (int64_t i = 0; i < x.numel(); ++i)
    CHECK(scaled[static_cast<size_t>(i)] == x.data()[i] * map[static_cast<size_t>(i % t)]);
}
