#pragma once
// Experiment configs: TOML files with [data], [model] and [train] sections. Unknown sections or
// keys and values of the wrong type are errors that name the file and the key.
#include <string>
#include <vector>

#include "experiments/trainer.h"
#include "models/factory.h"

namespace s2::experiments {

struct DataConfig {
  std::string format = "pixel_csv";
  std::string root;  // relative paths below resolve against it; itself relative to the config file
  std::string train, test;
  int64_t bands = 10;
  int64_t timesteps = 0;  // resample each series to this many regular steps; 0 keeps the input's
  std::vector<std::string> class_names;
  double validation_fraction = 0.2;  // grouped by object id, taken from the training file
};

struct ExperimentConfig {
  std::string path, text;
  DataConfig data;
  models::ModelConfig model;
  TrainOptions train;
};

ExperimentConfig load_config(const std::string& path);
// Resolves a data path from the config against its root.
std::string resolve_data_path(const ExperimentConfig& config, const std::string& path);

}  // namespace s2::experiments
