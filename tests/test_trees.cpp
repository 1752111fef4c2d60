// The classical baselines (issue #21): XGBoost's random forest and gradient-boosted trees as s2cbam
// models. Fitted in one call, saved in checkpoints bit for bit, the same model for the same seed on any
// thread count, log-probabilities as logits, and the settings the README states.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <map>

#include "experiments/cli/config.h"
#include "experiments/training/experiment.h"
#include "experiments/training/saved_model.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "models/factory.h"
#include "models/tree_ensemble.h"
#include "tests/temp_files.h"

using namespace s2;

namespace {

const std::string kConfigs = S2_SOURCE_DIR "/experiments/configs";

// Two classes told apart by the sign of one feature (date 2, band 1), the others noise.
struct Toy {
  Tensor x;
  std::vector<int32_t> labels;
};
Toy toy(int64_t n, uint64_t seed) {
  Generator g(seed);
  Toy t{Tensor::empty({n, 3, 2}), {}};
  for (int64_t i = 0; i < n; ++i) {
    const int32_t y = static_cast<int32_t>(i % 2);
    for (int64_t k = 0; k < 6; ++k) t.x.data()[i * 6 + k] = g.normal();
    t.x.data()[i * 6 + 2] = (y == 1 ? 1.0f : -1.0f) * (0.5f + g.uniform());
    t.labels.push_back(y);
  }
  return t;
}

models::TreeEnsembleConfig toy_config(const std::string& kind) {
  models::TreeEnsembleConfig c;
  c.kind = kind, c.timesteps = 3, c.bands = 2, c.classes = 2, c.trees = 40;
  return c;
}

std::vector<float> state_of(const Module& m) {
  const Tensor t = m.named_state().front().second;
  return {t.data(), t.data() + t.numel()};
}

}  // namespace

TEST_CASE("random forest and boosted trees learn a separable rule; logits are log-probabilities") {
  REQUIRE(models::tree_ensembles_available());
  const Toy train = toy(200, 1), test = toy(100, 2);
  for (const std::string kind : {"rf", "gbdt"}) {
    CAPTURE(kind);
    models::TreeEnsemble m(toy_config(kind));
    CHECK(m.fits_directly());
    CHECK_FALSE(m.has_cuda_kernels());
    CHECK_THROWS_WITH_AS(m.forward(test.x), doctest::Contains("is not fitted"), Error);
    m.fit(train.x, train.labels, {}, 7);
    const Tensor logits = m.forward(test.x);
    REQUIRE(logits.shape() == Shape{100, 2});
    int64_t correct = 0;
    for (int64_t i = 0; i < 100; ++i) {
      const float a = logits.data()[2 * i], b = logits.data()[2 * i + 1];
      // Probabilities: each below 1, the pair summing to 1 within XGBoost's float32 softmax.
      CHECK(a <= 0.0f);
      CHECK(b <= 0.0f);
      CHECK(std::abs(std::exp(double{a}) + std::exp(double{b}) - 1.0) < 1e-6);
      correct += (b > a) == (test.labels[static_cast<size_t>(i)] == 1);
    }
    CHECK(correct >= 97);  // the rule is one threshold; noise features only blur the edges
  }
}

TEST_CASE("the same seed gives the same trees on any thread count; the seed and the weights matter") {
  const Toy t = toy(120, 3);
  const auto fitted = [&](uint64_t seed, int threads, const std::vector<float>& weights) {
    omp_set_num_threads(threads);
    models::TreeEnsemble m(toy_config("rf"));
    m.fit(t.x, t.labels, weights, seed);
    return state_of(m);
  };
  const auto one = fitted(5, 1, {});
  CHECK(one.size() > 100);
  CHECK(fitted(5, 2, {}) == one);
  CHECK(fitted(6, 1, {}) != one);
  std::vector<float> weights(120, 1.0f);
  for (size_t i = 0; i < weights.size(); i += 2) weights[i] = 3.0f;
  CHECK(fitted(5, 1, weights) != one);
  omp_set_num_threads(2);
}

TEST_CASE("the forest's settings: 500 trees, sqrt(features) per split, unlimited depth, one thread") {
  models::TreeEnsembleConfig c;
  c.kind = "rf", c.timesteps = 36, c.bands = 10, c.classes = 5;
  std::map<std::string, std::string> p;
  for (const auto& [k, v] : models::TreeEnsemble(c).parameters_for(360, 1)) p[k] = v;
  CHECK(p.at("num_parallel_tree") == "500");
  CHECK(std::stod(p.at("colsample_bynode")) == doctest::Approx(std::sqrt(360.0) / 360.0));
  CHECK(p.at("max_depth") == "0");
  CHECK(p.at("grow_policy") == "lossguide");
  CHECK(p.at("nthread") == "1");
  CHECK(p.at("eta") == "1");
  c.kind = "gbdt";
  p.clear();
  for (const auto& [k, v] : models::TreeEnsemble(c).parameters_for(360, 1)) p[k] = v;
  CHECK(p.count("num_parallel_tree") == 0);
  CHECK(p.at("max_depth") == "6");
  CHECK(p.at("eta") == "0.1");
}

TEST_CASE(
    "a fitted forest goes through a checkpoint bit for bit and predicts the same; a corrupt one is refused") {
  auto config = experiments::load_config(kConfigs + "/geo_multiregion_within.toml");
  config.model.kind = "rf";
  config.model.trees.trees = 30;
  config.train.verbose = false;
  const auto data = experiments::load_data(config);
  const experiments::RunResult run = experiments::run_experiment(config, data, 1);
  REQUIRE(run.folds.size() == 3);
  CHECK(run.pooled.overall_accuracy > 0.6);  // 4 classes, the largest 43%: trees learn something here
  const std::string path = testing::temp_path("forest.ckpt");
  save_checkpoint(path, run.folds[0].checkpoint);
  const experiments::SavedModel saved =
      experiments::load_saved_model(path, kConfigs + "/geo_multiregion_within.toml");
  CHECK(experiments::model_checksum(*saved.model) == experiments::model_checksum(run.folds[0].checkpoint));
  // The same predictions as the model that was fitted: refit it from the same fold and seed.
  const auto folds = experiments::prepared_folds(config, data, 1);
  auto refit = models::make_model(config.model, 12, 9, 4);
  experiments::TrainOptions o = config.train;
  o.seed = 1;
  experiments::fit_directly(*refit, folds[0].train, o);
  const data::Batch batch = data::make_batch(folds[0].test, {0, 1, 2, 3, 4}, 0, 5);
  const Tensor a = saved.model->forward(batch.x), b = refit->forward(batch.x);
  for (int64_t i = 0; i < a.numel(); ++i) CHECK(a.data()[i] == b.data()[i]);

  Checkpoint broken = run.folds[0].checkpoint;
  for (auto& [name, t] : broken.tensors) {
    if (name == "model.booster") {
      t = t.clone();
      t.data()[5] = 0.5f;  // not a whole number: not three bytes
    }
  }
  CHECK_THROWS_WITH_AS(experiments::saved_model_of(broken, "broken.ckpt", "", true),
                       doctest::Contains("'broken.ckpt': the tree ensemble's booster is corrupt"), Error);
}
