// End-to-end learning on real Victoria pixels, and run-to-run determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "data/victoria_csv.h"
#include "experiments/training/trainer.h"
#include "framework/error.h"
#include "framework/optim.h"
#include "framework/random.h"
#include "models/cbam_crop_net.h"
#include "tests/temp_files.h"

using namespace s2;

namespace {
// Three land-cover classes of the real Victoria training pixels that a small network separates.
data::PixelDataset separable_subset() {
  data::PixelDataset all = data::read_pixel_csv(S2_SHARED_DATA "/victoria-2017/train.csv");
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < all.size(); ++i) {
    const int32_t l = all.labels[static_cast<size_t>(i)];
    if (l == 1 || l == 4 || l == 6) keep.push_back(i);  // canola, forest, water
  }
  data::PixelDataset d = data::resample_regular(all.subset(keep), 24);
  for (auto& l : d.labels) l = l == 1 ? 0 : (l == 4 ? 1 : 2);
  d.class_names = {"canola", "forest", "water"};
  data::BandNormaliser::fit(d).apply(d);
  return d;
}

models::CbamCropNetConfig tiny_model() {
  return {
      .timesteps = 24, .bands = 10, .classes = 3, .stem_width = 8, .stage_widths = {8, 16}, .reduction = 4};
}
}  // namespace

TEST_CASE("a tiny CBAM network learns a real separable subset to >= 95% training accuracy") {
  const data::PixelDataset d = separable_subset();
  REQUIRE(d.size() == 150);
  manual_seed(1);
  models::CbamCropNet net(tiny_model());
  experiments::TrainOptions o{
      .epochs = 60, .batch_size = 32, .learning_rate = 3e-3f, .seed = 1, .verbose = false};
  const auto result = experiments::train_classifier(net, d, nullptr, o);
  CHECK(result.history.size() * 5 >= 300);  // a few hundred optimiser steps
  const auto p = experiments::predict(net, d);
  const double accuracy = experiments::compute_metrics(d.labels, p.classes, 3).overall_accuracy;
  MESSAGE("training accuracy " << accuracy << " after " << result.history.size() << " epochs");
  CHECK(accuracy >= 0.95);
}

TEST_CASE("two runs with the same seed give identical losses") {
  const data::PixelDataset d = separable_subset();
  auto run = [&] {
    manual_seed(7);
    models::CbamCropNet net(tiny_model());
    experiments::TrainOptions o{.epochs = 3, .batch_size = 16, .seed = 7, .verbose = false};
    std::vector<double> losses;
    for (const auto& e : experiments::train_classifier(net, d, nullptr, o).history)
      losses.push_back(e.train_loss);
    return losses;
  };
  const auto first = run(), second = run();
  CHECK(first == second);
  manual_seed(8);  // and a different seed really changes them
  models::CbamCropNet other(tiny_model());
  experiments::TrainOptions o{.epochs = 3, .batch_size = 16, .seed = 8, .verbose = false};
  CHECK(experiments::train_classifier(other, d, nullptr, o).history.front().train_loss != first.front());
}

TEST_CASE("a run stopped after 2 epochs and resumed gives the same losses and weights as 4 epochs straight") {
  const data::PixelDataset d = separable_subset();
  const std::string state = s2::testing::temp_path("resume.ckpt");
  std::filesystem::remove(state);
  data::PixelDataset train = d, validation = d.subset({0, 1, 2, 50, 51, 52, 100, 101, 102});
  experiments::TrainOptions o{.epochs = 4, .batch_size = 16, .seed = 3, .verbose = false};
  o.augment = {
      .max_shift = 2, .noise_std = 0.05f, .drop_dates = 0.2f};  // the augmentation draws must resume too
  auto fresh_model = [] {
    manual_seed(3);
    return models::CbamCropNet(tiny_model());
  };
  auto straight = fresh_model();
  const auto full = experiments::train_classifier(straight, train, &validation, o);

  auto interrupted = fresh_model();
  o.state_path = state;
  o.epochs = 2;
  experiments::train_classifier(interrupted, train, &validation, o);
  auto resumed = fresh_model();  // a new process: fresh weights, then the saved state
  o.epochs = 4;
  o.resume = true;
  const auto continued = experiments::train_classifier(resumed, train, &validation, o);
  REQUIRE(continued.history.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(continued.history[i].train_loss == full.history[i].train_loss);
    CHECK(continued.history[i].val_loss == full.history[i].val_loss);
  }
  CHECK(continued.best_epoch == full.best_epoch);
  const auto a = straight.named_parameters(), b = resumed.named_parameters();
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].second.to_vector() == b[i].second.to_vector());

  // The state resumes only into the run it was written for: another fingerprint (another config, seed
  // or data) is refused before anything is restored.
  auto other = fresh_model();
  o.fingerprint = "another run";
  CHECK_THROWS_WITH_AS(experiments::train_classifier(other, train, &validation, o),
                       doctest::Contains("was written by another run"), Error);
  const auto untouched = fresh_model().named_parameters(), after = other.named_parameters();
  for (size_t i = 0; i < after.size(); ++i)
    CHECK(after[i].second.to_vector() == untouched[i].second.to_vector());
}

TEST_CASE("non_finite_gradient names the first parameter whose gradient holds a NaN or an infinity") {
  manual_seed(2);
  models::CbamCropNet net(tiny_model());
  Tensor x = Tensor::empty({2, 24, 10});
  Generator g(6);
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = g.normal();
  softmax_cross_entropy(net.forward(x), {0, 2}).backward();
  CHECK(experiments::non_finite_gradient(net).empty());
  for (const float bad : {std::nanf(""), -std::numeric_limits<float>::infinity()}) {
    for (const auto& [name, p] : net.named_parameters()) {
      if (name != "stage2.unit1.bn1.gamma") continue;
      Tensor grad = p.grad();
      const float kept = grad.data()[3];
      grad.data()[3] = bad;
      CHECK(experiments::non_finite_gradient(net) == "stage2.unit1.bn1.gamma");
      grad.data()[3] = kept;
    }
  }
  CHECK(experiments::non_finite_gradient(net).empty());
}

TEST_CASE("the kept epoch is the best validation loss, or with best_epoch_by the best validation accuracy") {
  const data::PixelDataset d = separable_subset();
  data::PixelDataset train = d.subset({0, 1, 2, 3, 50, 51, 52, 53, 100, 101, 102, 103});
  data::PixelDataset validation = d.subset({10, 11, 12, 60, 61, 62, 110, 111, 112});
  for (const std::string by : {"val_loss", "val_accuracy"}) {
    manual_seed(4);
    models::CbamCropNet net(tiny_model());
    experiments::TrainOptions o{
        .epochs = 6, .batch_size = 4, .learning_rate = 3e-3f, .seed = 4, .verbose = false};
    o.best_epoch_by = by;
    const auto result = experiments::train_classifier(net, train, &validation, o);
    REQUIRE(result.history.size() == 6);
    size_t best = 0;  // the first of equals, as the trainer keeps it
    for (size_t i = 1; i < result.history.size(); ++i) {
      const auto& h = result.history;
      if (by == "val_loss" ? h[i].val_loss < h[best].val_loss : h[i].val_accuracy > h[best].val_accuracy)
        best = i;
    }
    CHECK(result.best_epoch == static_cast<int64_t>(best + 1));
    // ... and the model holds that epoch's weights: its validation accuracy is the logged one.
    const auto p = experiments::predict(net, validation);
    CHECK(experiments::compute_metrics(validation.labels, p.classes, 3).overall_accuracy ==
          doctest::Approx(result.history[best].val_accuracy));
  }
}

TEST_CASE("a diverging run stops with a clear error naming the batch and epoch, and keeps no model") {
  // A learning rate far too large (only a program can set it: configs cap it at 10) moves the weights to
  // about 1e38 in the first step; the next forward overflows and that batch's loss is not finite.
  data::PixelDataset d;
  d.timesteps = 6, d.bands = 2, d.class_names = {"a", "b"};
  Generator g(2);
  for (int64_t i = 0; i < 16; ++i) {
    for (int64_t k = 0; k < 12; ++k) d.values.push_back(g.normal() + static_cast<float>(i % 2));
    d.labels.push_back(static_cast<int32_t>(i % 2));
    d.groups.push_back(i);
  }
  models::CbamCropNetConfig config;
  config.timesteps = 6, config.bands = 2, config.classes = 2, config.stem_width = 4,
  config.stage_widths = {4};
  config.reduction = 2;
  manual_seed(1);
  models::CbamCropNet net(config);
  experiments::TrainOptions options;
  options.epochs = 3;
  options.batch_size = 4;
  options.learning_rate = 1e38f;
  options.verbose = false;
  CHECK_THROWS_WITH_AS(experiments::train_classifier(net, d, nullptr, options),
                       doctest::Contains("training diverged: the loss is"), Error);
  CHECK_THROWS_WITH_AS(experiments::train_classifier(net, d, nullptr, options),
                       doctest::Contains("try a lower learning rate than 1e+38"), Error);
}

TEST_CASE("loss_reduction: a class-weighted batch loss averaged by the weights or by the batch size") {
  // Two classes, logits chosen so each sample's cross-entropy is known in closed form: log(1 + e^-d) for a
  // margin d towards the true class. Weights 3 (class 0) and 1 (class 1).
  const Tensor logits = Tensor::from_vector({3, 2}, {2.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f});
  const std::vector<int32_t> labels{0, 1, 1};
  CrossEntropyOptions o;
  o.class_weights = {3.0f, 1.0f};
  const double l0 = std::log1p(std::exp(-2.0)), l1 = std::log1p(std::exp(-1.0)),
               l2 = std::log1p(std::exp(1.0));
  const double weighted_sum = 3.0 * l0 + l1 + l2;
  const float pytorch = experiments::training_loss(logits, labels, o, "weighted_mean").item();
  const float keras = experiments::training_loss(logits, labels, o, "batch_mean").item();
  // Each is a handful of float32 operations on values below 5: within 16 units of float32 rounding.
  const double u = std::ldexp(1.0, -24);
  CHECK(std::abs(pytorch - weighted_sum / 5.0) <= 16 * u * weighted_sum);
  CHECK(std::abs(keras - weighted_sum / 3.0) <= 16 * u * weighted_sum);
  // Without class weights the two are the same mean.
  const CrossEntropyOptions plain;
  CHECK(experiments::training_loss(logits, labels, plain, "batch_mean").item() ==
        experiments::training_loss(logits, labels, plain, "weighted_mean").item());
  // The gradient follows the scale: batch_mean's is 5/3 of weighted_mean's.
  auto grad_of = [&](const std::string& reduction) {
    Tensor z = Tensor::from_vector({3, 2}, logits.to_vector());
    z.set_requires_grad(true);
    experiments::training_loss(z, labels, o, reduction).backward();
    return z.grad().to_vector();
  };
  const auto gw = grad_of("weighted_mean"), gb = grad_of("batch_mean");
  for (size_t i = 0; i < gw.size(); ++i) CHECK(gb[i] == doctest::Approx(gw[i] * 5.0 / 3.0).epsilon(16 * u));
}

TEST_CASE(
    "epoch_orders, adam_options and training_loss_options are the trainer's: a loop over them repeats it bit "
    "for bit") {
  // What export_folds and export_step hand to another framework (the batch orders, the optimiser, the
  // class-weighted loss) must be what train_classifier does, or a comparison would test something else.
  const data::PixelDataset full = separable_subset();
  std::vector<int64_t> picked;  // 20, 10 and 7 of the classes, so the class weights matter; 37 samples
  std::vector<int64_t> wanted{20, 10, 7};  // leave a last batch of 5 at batch size 8
  for (int64_t i = 0; i < full.size(); ++i) {
    auto& left = wanted[static_cast<size_t>(full.labels[static_cast<size_t>(i)])];
    if (left > 0) picked.push_back(i), --left;
  }
  REQUIRE(picked.size() == 37);
  const data::PixelDataset d = full.subset(picked);
  experiments::TrainOptions o{
      .epochs = 2, .batch_size = 8, .class_weighted_loss = true, .seed = 11, .verbose = false};

  manual_seed(11);
  models::CbamCropNet trained(tiny_model());
  experiments::train_classifier(trained, d, nullptr, o);

  manual_seed(11);
  models::CbamCropNet replayed(tiny_model());
  replayed.train();
  optim::Adam adam(replayed.parameters(), experiments::adam_options(o));
  const CrossEntropyOptions loss_options = experiments::training_loss_options(d, o);
  REQUIRE(loss_options.class_weights.size() == 3);
  CHECK(loss_options.class_weights[0] != loss_options.class_weights[2]);
  for (const auto& order : experiments::epoch_orders(d.size(), o.epochs, o.seed)) {
    for (int64_t begin = 0; begin + 2 <= d.size(); begin += o.batch_size) {  // as the trainer: no batch of 1
      const data::Batch b = data::make_batch(d, order, begin, std::min(d.size(), begin + o.batch_size));
      adam.zero_grad();
      experiments::training_loss(replayed.forward(b.x), b.labels, loss_options, o.loss_reduction).backward();
      adam.step();
    }
  }
  const auto want = trained.named_parameters(), got = replayed.named_parameters();
  REQUIRE(want.size() == got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(want[i].first);
    CHECK(want[i].second.to_vector() == got[i].second.to_vector());
  }
}
