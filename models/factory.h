#pragma once
// Builds any of the models by name from one config: the paper network and its ablations ("cbam"),
// the plain 2D CNN of the same depth ("plain_cnn"), and TempCNN ("tempcnn").
#include <memory>
#include <string>

#include "models/cbam_crop_net.h"
#include "models/tempcnn.h"

namespace s2::models {

struct ModelConfig {
  std::string kind = "cbam";
  BatchNormOptions batch_norm = {};  // for every batch norm of whichever model
  CbamCropNetConfig cbam = {};       // for "cbam" and "plain_cnn"
  TempCnnConfig tempcnn = {};        // for "tempcnn"
};

// The input size and class count come from the data, not the config.
std::unique_ptr<Classifier> make_model(ModelConfig config, int64_t timesteps, int64_t bands, int64_t classes);

}  // namespace s2::models
