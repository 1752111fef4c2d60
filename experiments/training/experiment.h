#pragma once
// One experiment run as the binaries share it: load the config's data, split it honestly into folds,
// then per fold normalise with training statistics, train, evaluate, and package a checkpoint.
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/raster_series.h"
#include "experiments/cli/cli.h"
#include "experiments/cli/config.h"
#include "experiments/report/metrics.h"
#include "experiments/training/trainer.h"
#include "framework/checkpoint.h"

namespace s2::experiments {

struct LoadedData {
  data::PixelDataset train, test;  // test is empty unless the config names a test file or folder
  std::vector<std::string> dropped_classes;
};
LoadedData load_data(const ExperimentConfig& config);

// The device a model runs on: `wanted`, or the CPU for a model without CUDA kernels when the device was
// chosen by --device auto (an explicit cuda is then a clear error naming the model).
Device device_for(const models::Classifier& model, Device wanted, const std::string& model_name);
// The files of one side of the data: a table, a raster folder, or npy values with labels and groups.
struct DataFiles {
  std::string values, labels, groups, dates, coords;
};
DataFiles train_files(const ExperimentConfig& config);
DataFiles test_files(const ExperimentConfig& config);

// One side read and resampled as the config says. `classes` gives the class order; with
// `require_classes` a class missing from a raster legend is an error, else it has no pixels.
// How the config reads raster series: bands by name and the SCL cloud mask.
data::SeriesOptions series_options(const ExperimentConfig& config);

data::PixelDataset load_dataset(const ExperimentConfig& config, const DataFiles& files,
                                const std::vector<std::string>& classes, bool require_classes);

struct Fold {
  std::string name;
  data::PixelDataset train, validation, test;
  data::BandNormaliser normaliser;  // fitted on `train` (prepared_folds)
};
// What a training state must match to be resumed (TrainOptions::fingerprint): the config text, the
// candidate, the seed and the fold's training and validation data.
std::string run_fingerprint(const ExperimentConfig& config, const Fold& fold, uint64_t seed);
std::vector<Fold> make_folds(const ExperimentConfig& config, const LoadedData& data, uint64_t seed);
// The folds a run trains on: make_folds, then every part standardised with statistics of the fold's
// training pixels only. export_folds writes exactly these, for training other frameworks on them.
std::vector<Fold> prepared_folds(const ExperimentConfig& config, const LoadedData& data, uint64_t seed);
// The model a run starts from on data of `timesteps` x `bands`: the global generator seeded with
// `seed`, then the config's model initialised (export_folds and export_step hand these weights to
// other frameworks, to train from the same start).
std::unique_ptr<models::Classifier> initial_model(const ExperimentConfig& config, int64_t timesteps,
                                                  int64_t bands, int64_t classes, uint64_t seed);
// One line saying how train and test were separated, for reports.
std::string describe_split(const ExperimentConfig& config, const LoadedData& data);

struct FoldResult {
  std::string name;
  Metrics metrics;                    // on the fold's test part
  std::optional<Metrics> validation;  // on its validation hold-out, when it has one
  TrainResult training;
  Checkpoint checkpoint;
};

struct RunResult {
  std::vector<FoldResult> folds;
  Metrics pooled;  // from the summed confusion matrices of all folds
  // The same over the folds' validation hold-outs (when the split has them), for choosing settings.
  bool has_validation = false;
  Metrics validation;
};

RunResult run_experiment(const ExperimentConfig& config, const LoadedData& data, uint64_t seed);
// Its parts: the checks before any training (a rank count that divides the shards, the inputs the model
// needs), one fold trained and evaluated (folds are independent: each starts from the seed), and the
// folds' confusion matrices pooled in fold order.
void check_run_inputs(const ExperimentConfig& config, const LoadedData& data);
FoldResult run_fold(const ExperimentConfig& config, const Fold& fold, int64_t classes, uint64_t seed);
RunResult pool_folds(std::vector<FoldResult> folds, int64_t classes);

// Refuses, naming the data, a location-aware model (Geo-CBAM, `variant` in messages) on data without
// coordinates: before any training, not at the first batch.
void require_model_inputs(const ExperimentConfig& config, const LoadedData& data, const std::string& variant);

// The weights checksum (framework/checkpoint.h) of a model's parameters and buffers, from the model or
// from a checkpoint's "model." tensors: the same value for the same weights.
std::string model_checksum(const Module& model);
std::string model_checksum(const Checkpoint& checkpoint);
// One checksum for a whole run: its folds' model tensors, by fold name, in order.
std::string run_checksum(const RunResult& run);

// Loads --config and applies the options the multi-seed binaries share: --seeds, --epochs, --threads
// and --spread batches|runs (under MPI: ranks share each run's batches, or take whole runs); per-epoch
// printing is turned off.
ExperimentConfig load_multi_seed_config(const Args& args);

// Mean and sample standard deviation (n - 1) of per-seed figures.
struct Stat {
  double mean = 0, std = 0;
};
Stat mean_std(const std::vector<double>& values);

}  // namespace s2::experiments
