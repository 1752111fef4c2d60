// Every differentiable op's backward against central finite differences.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "framework/ops.h"
#include "framework/random.h"
#include "models/cbam_crop_net.h"
#include "models/tempcnn.h"
#include "tests/gradcheck.h"

using namespace s2;
using s2::testing::distinct_tensor;
using s2::testing::gradcheck;
using s2::testing::GradcheckOptions;
using s2::testing::random_tensor;

namespace {
struct ConvCase {
  const char* name;
  Shape x, w;
  Conv2dOptions options;
  bool bias;
};
}  // namespace

TEST_CASE("conv2d backward matches finite differences") {
  const ConvCase cases[] = {
      {"3x3 same with bias", {2, 3, 5, 4}, {4, 3, 3, 3}, {}, true},
      {"3x3 same stride 2 (asymmetric padding)", {1, 2, 6, 5}, {3, 2, 3, 3}, {2, 2, Padding::Same}, false},
      {"2x3 valid stride (2,1)", {2, 2, 7, 5}, {2, 2, 2, 3}, {2, 1, Padding::Valid}, true},
      {"1x1 pointwise", {3, 4, 3, 2}, {5, 4, 1, 1}, {}, false},
      {"7x7 2->1 spatial attention", {2, 2, 6, 4}, {1, 2, 7, 7}, {}, false},
      {"batch 1, C=1", {1, 1, 4, 3}, {2, 1, 3, 3}, {}, true},
      {"even kernel same", {1, 2, 5, 5}, {2, 2, 4, 2}, {}, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Generator g(7);
    const Tensor x = random_tensor(c.x, g), w = random_tensor(c.w, g, 0.5f);
    const std::vector<Tensor> inputs =
        c.bias ? std::vector<Tensor>{x, w, random_tensor({c.w[0]}, g)} : std::vector<Tensor>{x, w};
    const auto options = c.options;
    const double worst = gradcheck(
        [options](const std::vector<Tensor>& in) {
          return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), options);
        },
        inputs);
    CHECK(worst <= 1.0);
  }
}

TEST_CASE("batch_norm2d backward matches finite differences") {
  for (bool relu : {false, true}) {
    for (bool training : {true, false}) {
      CAPTURE(relu);
      CAPTURE(training);
      Generator g(11);
      Tensor running_mean = random_tensor({3}, g, 0.1f);
      Tensor running_var = Tensor::full({3}, 1.5f);
      std::vector<Tensor> inputs{random_tensor({4, 3, 2, 3}, g), random_tensor({3}, g),
                                 random_tensor({3}, g)};
      const double worst = gradcheck(
          [&](const std::vector<Tensor>& in) {
            return batch_norm2d(in[0], in[1], in[2], running_mean, running_var, training, {}, relu);
          },
          inputs, {.eps = 1e-3f});
      CHECK(worst <= 1.0);
    }
  }
}

TEST_CASE("pointwise activations backward") {
  Generator g(3);
  CHECK(gradcheck([](const auto& in) { return relu(in[0]); }, {distinct_tensor({2, 3, 4, 2}, g)},
                  {.eps = 1e-3f}) <= 1.0);
  CHECK(gradcheck([](const auto& in) { return sigmoid(in[0]); }, {random_tensor({2, 3, 4}, g)}) <= 1.0);
  CHECK(gradcheck([](const auto& in) { return scale(in[0], -0.37f); }, {random_tensor({2, 3, 4}, g)}) <= 1.0);
}

TEST_CASE("broadcasting add and mul backward") {
  const std::pair<Shape, Shape> shapes[] = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}},  // same shape
      {{2, 3, 4, 5}, {2, 3, 1, 1}},  // channel attention scale
      {{2, 3, 4, 5}, {2, 1, 4, 5}},  // spatial attention scale
      {{2, 1, 4, 5}, {2, 3, 1, 1}},  // both sides broadcast
      {{3, 4}, {4}},                 // bias-like, fewer dimensions
      {{2, 3}, {}},                  // scalar
  };
  for (const auto& [sa, sb] : shapes) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    Generator g(5);
    std::vector<Tensor> inputs{random_tensor(sa, g), random_tensor(sb, g)};
    CHECK(gradcheck([](const auto& in) { return add(in[0], in[1]); }, inputs) <= 1.0);
    CHECK(gradcheck([](const auto& in) { return mul(in[0], in[1]); }, inputs) <= 1.0);
  }
}

TEST_CASE("pooling, channel reductions and concat backward") {
  Generator g(9);
  const auto x = [&] { return std::vector<Tensor>{distinct_tensor({2, 3, 4, 5}, g)}; };
  const GradcheckOptions tight{.eps = 1e-3f};
  CHECK(gradcheck([](const auto& in) { return global_avg_pool2d(in[0]); }, x(), tight) <= 1.0);
  CHECK(gradcheck([](const auto& in) { return global_max_pool2d(in[0]); }, x(), tight) <= 1.0);
  CHECK(gradcheck([](const auto& in) { return channel_mean(in[0]); }, x(), tight) <= 1.0);
  CHECK(gradcheck([](const auto& in) { return channel_max(in[0]); }, x(), tight) <= 1.0);
  std::vector<Tensor> parts{random_tensor({2, 1, 3, 2}, g), random_tensor({2, 3, 3, 2}, g)};
  CHECK(gradcheck([](const auto& in) { return concat_channels(in); }, parts) <= 1.0);
}

TEST_CASE("linear, reshape, reductions and dropout backward") {
  Generator g(13);
  std::vector<Tensor> lin{random_tensor({3, 4}, g), random_tensor({2, 4}, g), random_tensor({2}, g)};
  CHECK(gradcheck([](const auto& in) { return linear(in[0], in[1], in[2]); }, lin) <= 1.0);
  CHECK(gradcheck(
            [](const auto& in) {
              return in[0].reshape({6, -1});
            },
            {random_tensor({2, 3, 4}, g)}) <= 1.0);
  CHECK(gradcheck([](const auto& in) { return mean(in[0]); }, {random_tensor({3, 5}, g)}) <= 1.0);
  CHECK(gradcheck([](const auto& in) { return transpose_last2(in[0]); }, {random_tensor({2, 3, 4}, g)}) <=
        1.0);
  CHECK(gradcheck(
            [](const auto& in) {
              Generator mask_source(42);  // the same mask on every evaluation
              return dropout(in[0], 0.4f, true, mask_source);
            },
            {random_tensor({4, 6}, g)}) <= 1.0);
}

TEST_CASE("softmax cross-entropy backward, with class weights and label smoothing") {
  Generator g(17);
  const std::vector<int32_t> labels{0, 2, 1, 2};
  const CrossEntropyOptions variants[] = {
      {}, {{0.5f, 2.0f, 1.0f}, 0.0f}, {{}, 0.1f}, {{1.0f, 3.0f, 0.2f}, 0.2f}};
  for (const auto& o : variants) {
    CHECK(gradcheck([&](const auto& in) { return softmax_cross_entropy(in[0], labels, o); },
                    {random_tensor({4, 3}, g)}, {.eps = 1e-3f}) <= 1.0);
  }
}

TEST_CASE("gradcheck itself rejects a wrong backward") {
  // An op whose recorded gradient is off by a factor of 2: the checker must flag it.
  auto wrong_double = [](const std::vector<Tensor>& in) {
    Tensor y = mul(in[0].detach(), Tensor::scalar(2.0f));
    attach_grad_fn(y, {in[0]}, "wrong", [](const Tensor& dy) {
      return std::vector<Tensor>{dy.clone()};  // should be 2 * dy
    });
    return y;
  };
  Generator g(1);
  CHECK(gradcheck(wrong_double, {random_tensor({3, 2}, g)}) > 1.0);
}

TEST_CASE("Winograd conv2d backward matches finite differences") {
  // Odd sizes leave partial tiles at the bottom and right borders.
  const std::pair<Shape, Shape> cases[] = {
      {{2, 3, 5, 7}, {4, 3, 3, 3}},
      {{1, 1, 4, 4}, {1, 1, 3, 3}},
      {{3, 2, 1, 3}, {2, 2, 3, 3}},
      {{2, 3, 7, 9}, {2, 3, 3, 3}}};  // F(4x2) for 4 and 7 rows (WinogradF4x2), with an overhang at 7
  for (auto algorithm : {ConvAlgorithm::Winograd, ConvAlgorithm::WinogradF4x2}) {
    for (const auto& [xs, ws] : cases) {
      CAPTURE(shape_str(xs));
      CAPTURE(static_cast<int>(algorithm));
      Generator g(21);
      std::vector<Tensor> inputs{random_tensor(xs, g), random_tensor(ws, g, 0.5f), random_tensor({ws[0]}, g)};
      const Conv2dOptions o{.algorithm = algorithm};
      CHECK(gradcheck([o](const auto& in) { return conv2d(in[0], in[1], in[2], o); }, inputs) <= 1.0);
    }
  }
}

TEST_CASE("composites: CBAM's channel and spatial attention backward, and Geo-CBAM's FiLM") {
  Generator g(21);
  // Channel attention: x (2, 4, 3, 2), MLP 4 -> 2 -> 4 with biases. Distinct x keeps the max pooling
  // away from ties within the finite-difference step.
  std::vector<Tensor> channel{distinct_tensor({2, 4, 3, 2}, g), random_tensor({2, 4}, g, 0.5f),
                              random_tensor({2}, g, 0.1f), random_tensor({4, 2}, g, 0.5f),
                              random_tensor({4}, g, 0.1f)};
  CHECK(gradcheck([](const auto& in) { return channel_attention(in[0], in[1], in[2], in[3], in[4]); },
                  channel, {.eps = 1e-3f}) <= 1.0);
  // Spatial attention: a 3x3 kernel over mean and max of 3 channels.
  std::vector<Tensor> spatial{distinct_tensor({2, 3, 4, 3}, g), random_tensor({1, 2, 3, 3}, g, 0.5f)};
  CHECK(gradcheck([](const auto& in) { return spatial_attention(in[0], in[1]); }, spatial, {.eps = 1e-3f}) <=
        1.0);
  // Geo-CBAM's FiLM of the spatial logits (models/cbam_crop_net.cpp): per-sample scale and shift.
  std::vector<Tensor> film{distinct_tensor({2, 3, 4, 3}, g), random_tensor({1, 2, 3, 3}, g, 0.5f),
                           random_tensor({2, 1, 1, 1}, g), random_tensor({2, 1, 1, 1}, g)};
  CHECK(gradcheck(
            [](const auto& in) {
              const Tensor logits =
                  conv2d(concat_channels({channel_mean(in[0]), channel_max(in[0])}), in[1], Tensor());
              return mul(in[0], sigmoid(add(mul(logits, in[2]), in[3])));
            },
            film, {.eps = 1e-3f}) <= 1.0);
}

TEST_CASE("batch_norm2d with a residual (the residual unit's epilogue) backward") {
  // Training (batch statistics) and evaluation (running statistics, as in saliency maps of a trained
  // model); the residual's gradient is the ReLU-masked incoming one.
  for (bool training : {true, false}) {
    for (bool relu : {false, true}) {
      CAPTURE(training);
      CAPTURE(relu);
      Generator g(12);
      Tensor running_mean = Tensor::from_vector({3}, {0.1f, -0.2f, 0.3f}),
             running_var = Tensor::from_vector({3}, {0.8f, 1.2f, 1.0f});
      std::vector<Tensor> inputs{random_tensor({3, 3, 2, 2}, g), random_tensor({3}, g), random_tensor({3}, g),
                                 random_tensor({3, 3, 2, 2}, g)};
      CHECK(gradcheck(
                [&](const auto& in) {
                  return batch_norm2d(in[0], in[1], in[2], running_mean, running_var, training, {}, relu,
                                      in[3]);
                },
                inputs, {.eps = 1e-3f}) <= 1.0);
    }
  }
}

TEST_CASE("a node feeding two branches accumulates both gradients: x * sigmoid(x), and x + relu(x) * x") {
  Generator g(13);
  CHECK(gradcheck([](const auto& in) { return mul(in[0], sigmoid(in[0])); }, {random_tensor({2, 5}, g)}) <=
        1.0);
  CHECK(gradcheck([](const auto& in) { return add(in[0], mul(relu(in[0]), in[0])); },
                  {distinct_tensor({3, 4}, g)}) <= 1.0);
}

TEST_CASE("edge shapes: pooling with one channel or one pixel, linear without bias") {
  Generator g(14);
  for (const Shape& s : {Shape{2, 1, 3, 4}, Shape{2, 3, 1, 1}}) {
    CAPTURE(shape_str(s));
    const std::vector<Tensor> x{distinct_tensor(s, g)};
    for (const auto& op :
         std::vector<s2::testing::OpFn>{[](const auto& in) { return global_avg_pool2d(in[0]); },
                                        [](const auto& in) { return global_max_pool2d(in[0]); },
                                        [](const auto& in) { return channel_mean(in[0]); },
                                        [](const auto& in) { return channel_max(in[0]); }}) {
      CHECK(gradcheck(op, x, {.eps = 1e-3f}) <= 1.0);
    }
  }
  CHECK(gradcheck([](const auto& in) { return linear(in[0], in[1], Tensor()); },
                  {random_tensor({3, 4}, g), random_tensor({2, 4}, g)}) <= 1.0);
}

TEST_CASE("a tiny CBAM network end to end: every parameter's gradient") {
  // Widths {2, 4}, 5 dates x 3 bands, batch 2: every layer of the paper network's kinds, small enough to
  // difference every parameter. Batch norm in training mode; inputs distinct to keep max pools stable.
  models::CbamCropNetConfig config;
  config.timesteps = 5, config.bands = 3, config.classes = 3, config.stem_width = 2,
  config.stage_widths = {2, 4};
  config.reduction = 2, config.spatial_kernel = 3;
  manual_seed(4);
  models::CbamCropNet net(config);
  Generator g(15);
  const Tensor x = distinct_tensor({2, 1, 5, 3}, g);
  const auto params = net.named_parameters();
  std::vector<Tensor> inputs;
  for (const auto& [name, p] : params) inputs.push_back(p);
  // The op reads the parameters through the network itself (they are its tensors, perturbed in place).
  const double worst =
      gradcheck([&](const std::vector<Tensor>&) { return net.forward(x); }, inputs, {.eps = 1e-3f});
  CHECK(worst <= 1.0);
}

namespace {
// The worst finite-difference error over every parameter of a tiny model of 5 dates x 3 bands taking
// two samples' locations; its geo layers and attention gates (zero at the start) first get small random
// weights so that every path through them carries a gradient.
double located_gradcheck(models::Classifier& net, Generator& g) {
  for (auto& [name, p] : net.named_parameters()) {
    if (name.find("geo") != std::string::npos || name.find("gate") != std::string::npos)
      p.copy_from(random_tensor(p.shape(), g, 0.2f));
  }
  const Tensor x = distinct_tensor({2, 1, 5, 3}, g);
  const Tensor where = Tensor::from_vector({2, 2}, {51.0f, 4.0f, -3.0f, 33.5f});
  std::vector<Tensor> inputs;
  for (const auto& [name, p] : net.named_parameters()) inputs.push_back(p);
  return gradcheck([&](const std::vector<Tensor>&) { return net.forward_at(x, where); }, inputs,
                   {.eps = 1e-3f});
}
}  // namespace

TEST_CASE("a tiny Geo-CBAM network end to end: every parameter's gradient, the geo layers' included") {
  // As above, for each place the location enters; the geo layers (zero at the start) get small random
  // weights so that every path through them carries a gradient (small: a FiLM scale far from 1 sharpens
  // the spatial sigmoid until ReLU and max kinks fall inside the finite-difference step). The FiLM
  // composite alone, at any scale, is checked in "composites: ... Geo-CBAM's FiLM" above.
  for (const auto geo :
       {models::GeoAttention::Channel, models::GeoAttention::Spatial, models::GeoAttention::Head}) {
    const std::string variant = models::geo_attention_name(geo);
    CAPTURE(variant);
    models::CbamCropNetConfig config;
    config.timesteps = 5, config.bands = 3, config.classes = 3, config.stem_width = 2,
    config.stage_widths = {2, 4};
    config.reduction = 2, config.spatial_kernel = 3;
    config.geo = geo;
    config.location = {.scales = 2, .min_wavelength_km = 1000};
    manual_seed(4);
    models::CbamCropNet net(config);
    Generator g(16);
    CHECK(located_gradcheck(net, g) <= 1.0);
  }
}

TEST_CASE(
    "a tiny TempCBAM end to end: every parameter's gradient, with and without Geo-CBAM's entries and "
    "residual and gated attention") {
  // 2 blocks of 4 filters over 5 dates x 3 bands, CBAM with a 3 x 1 date kernel after each; dropout 0 so
  // that every evaluation is the same function. Geo layers get small random weights, as above.
  using models::AttentionJoin;
  for (const auto& [geo, join] : {std::pair{models::GeoAttention::None, AttentionJoin::Multiply},
                                  std::pair{models::GeoAttention::Both, AttentionJoin::Multiply},
                                  std::pair{models::GeoAttention::None, AttentionJoin::Residual},
                                  std::pair{models::GeoAttention::None, AttentionJoin::Gated}}) {
    const std::string variant =
        fmt::format("{}, {}", models::geo_attention_name(geo), models::attention_join_name(join));
    CAPTURE(variant);
    models::TempCnnConfig config;
    config.timesteps = 5, config.bands = 3, config.classes = 3, config.filters = 4, config.kernel_size = 3,
    config.conv_layers = 2, config.dense_units = 4, config.dropout = 0.0f;
    config.attention = models::Attention::Cbam, config.reduction = 2, config.attention_kernel = 3;
    config.geo = geo, config.location = {.scales = 2, .min_wavelength_km = 1000};
    config.attention_join = join;
    manual_seed(5);
    models::TempCnn net(config);
    // 24 tensors, and 3 geo entries per block or 1 gate per block.
    CHECK(net.named_parameters().size() == (geo != models::GeoAttention::None ? 30u
                                            : join == AttentionJoin::Gated    ? 26u
                                                                              : 24u));
    Generator g(17);
    CHECK(located_gradcheck(net, g) <= 1.0);
  }
}
