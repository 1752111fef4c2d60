#pragma once
// Builds any of the models by name from one config: the paper network and its ablations ("cbam"),
// the plain 2D CNN of the same depth ("plain_cnn"), TempCNN ("tempcnn"), TempCNN with CBAM after each
// block ("tempcbam", models/tempcnn.h), and the tree ensembles of the paper's comparison, a random
// forest ("rf") and gradient-boosted trees ("gbdt"), through XGBoost.
#include <memory>
#include <string>

#include "models/cbam_crop_net.h"
#include "models/tempcnn.h"
#include "models/tree_ensemble.h"

namespace s2::models {

struct ModelConfig {
  std::string kind = "cbam";
  CbamCropNetConfig cbam = {};    // for "cbam" and "plain_cnn"
  TempCnnConfig tempcnn = {};     // for "tempcnn" and "tempcbam" (which takes its attention from `cbam`)
  TreeEnsembleConfig trees = {};  // for "rf" and "gbdt"
  // The batch-norm options of the chosen kind's config (each model takes its own, as set there).
  const BatchNormOptions& batch_norm() const {
    return kind == "tempcnn" || kind == "tempcbam" ? tempcnn.batch_norm : cbam.batch_norm;
  }
};

// The input size and class count come from the data, not the config.
std::unique_ptr<Classifier> make_model(ModelConfig config, int64_t timesteps, int64_t bands, int64_t classes);

}  // namespace s2::models
