#pragma once
// The classical baselines of the paper's comparison (issue #21), fitted by XGBoost on each pixel's
// series flattened to T x B features: "rf", a random forest (XGBoost's random-forest mode: one round of
// `trees` parallel trees, each on a subsample, sqrt(features) candidates per split, unlimited depth),
// and "gbdt", gradient-boosted trees. They are fitted in one call (fit), not by gradient steps; their
// logits are the log of the predicted class probabilities. Training runs on one thread with a fixed
// seed, so the same data and seed give the same model bits on every machine.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/classifier.h"

namespace s2::models {

struct TreeEnsembleConfig {
  int64_t timesteps = 36, bands = 10, classes = 5;
  std::string kind = "rf";     // "rf" or "gbdt"
  int64_t trees = 0;           // 0 = the kind's default: 500 (rf), 300 boosting rounds (gbdt)
  int64_t max_depth = -1;      // -1 = the kind's default: unlimited (rf), 6 (gbdt)
  double learning_rate = 0.1;  // gbdt only; a forest's one round takes its trees whole
  double subsample = -1;       // -1 = the kind's default: 0.632 (rf, a bootstrap's share), 0.8 (gbdt)
};

// Whether this build has XGBoost (libxgboost-dev); without it "rf" and "gbdt" are a clear error.
bool tree_ensembles_available();

class TreeEnsemble : public Classifier {
 public:
  explicit TreeEnsemble(const TreeEnsembleConfig& config);
  ~TreeEnsemble() override;
  Tensor forward(const Tensor& x) override;  // (N, T, B) or (N, 1, T, B) -> log-probabilities (N, K)
  int64_t num_classes() const override { return config_.classes; }
  bool has_cuda_kernels() const override { return false; }
  bool fits_directly() const override { return true; }
  void fit(const Tensor& x, const std::vector<int32_t>& labels, const std::vector<float>& sample_weights,
           uint64_t seed) override;
  void restore(const NamedTensors& state, const std::string& path) override;
  const TreeEnsembleConfig& config() const { return config_; }
  // The XGBoost parameters a fit uses, as key = value lines (for reports and the README).
  std::vector<std::pair<std::string, std::string>> parameters_for(int64_t features, uint64_t seed) const;

 private:
  struct Booster;
  void load_booster(const std::string& path);  // from the "booster" buffer; `path` names it in errors
  TreeEnsembleConfig config_;
  std::unique_ptr<Booster> booster_;
};

}  // namespace s2::models
