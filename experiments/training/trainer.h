#pragma once
// The training loop: shuffled mini-batches, Adam, class-weighted loss, validation each epoch, early
// stopping and best-weights keeping. Deterministic for a seed, whatever the thread and rank count.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"
#include "experiments/report/metrics.h"
#include "framework/ops.h"
#include "framework/optim.h"
#include "models/classifier.h"

namespace s2::experiments {

struct TrainOptions {
  int64_t epochs = 20;
  int64_t batch_size = 32;
  float learning_rate = 1e-3f;
  float weight_decay = 0.0f;
  float adam_eps = 1e-8f;            // PyTorch's; Keras's is 1e-7
  bool class_weighted_loss = false;  // weights inversely proportional to class frequency
  float label_smoothing = 0.0f;
  // How a class-weighted batch loss is averaged: "weighted_mean" divides by the sum of the batch's
  // weights (PyTorch's CrossEntropyLoss(weight=...)), "batch_mean" by the batch size (Keras's
  // class_weight; the default, as it trained better on validation in
  // experiments/configs/flanders2019_parcels_conventions.toml). The same without class weights.
  std::string loss_reduction = "batch_mean";
  int64_t early_stopping_patience = 0;  // 0 = off; counts epochs without a better validation score
  // What "better" means for best-weights keeping and early stopping: "val_loss" (lower) or
  // "val_accuracy" (higher; ties keep the earlier epoch). Loss on a few hundred validation pixels can
  // favour an early, confident-but-wrong epoch; accuracy is the figure the report is about.
  std::string best_epoch_by = "val_loss";
  uint64_t seed = 0;
  // Each batch is computed as this many shards, added in a fixed order (batch_gradient.h); MPI ranks
  // share them, so a rank count that divides it gives the same bits as one process. 1 = the batch
  // whole, as one forward and backward pass.
  int64_t shards = 1;
  bool verbose = true;
  data::AugmentOptions augment = {};
  // When set, the full training state is written here after every epoch, and with `resume` an
  // existing file there is continued from, with results identical to an uninterrupted run.
  std::string state_path = {};  // per fold, the run appends "-<fold>.ckpt"
  bool resume = false;
  // Of the config, candidate, seed and the fold's data (run_experiment sets it): a training state is
  // resumed only into a run with the same one, and is otherwise a clear error.
  std::string fingerprint = {};
  Device device = Device::CPU;  // where run_experiment puts the model
};

struct EpochLog {
  int64_t epoch = 0;
  double train_loss = 0, train_accuracy = 0, val_loss = 0, val_accuracy = 0;
  double samples_per_second = 0, learning_rate = 0;
};

struct TrainResult {
  std::vector<EpochLog> history;
  int64_t best_epoch = 0;        // the weights of this epoch are in the model at the end
  NamedTensors optimizer_state;  // Adam's moments and step count after the last epoch
};

// Trains `model` on `train`; with `validation`, keeps the weights of the best validation score
// (options.best_epoch_by).
// Batches go to the device the model's parameters are on (move the model with model.to() first).
TrainResult train_classifier(models::Classifier& model, const data::PixelDataset& train,
                             const data::PixelDataset* validation, const TrainOptions& options);

// Fits a model that trains in one call (Classifier::fits_directly: the tree ensembles) on `train`,
// with the class weights of the options as sample weights and the options' seed.
TrainResult fit_directly(models::Classifier& model, const data::PixelDataset& train,
                         const TrainOptions& options);

// The generator of a run's shuffling and augmentation, from its seed.
Generator training_generator(uint64_t seed);

// The order train_classifier visits `n` training samples in, epoch by epoch, for a run without
// augmentation (augmentation draws from the same generator): for handing the run's exact batches to
// another framework (export_folds).
std::vector<std::vector<int64_t>> epoch_orders(int64_t n, int64_t epochs, uint64_t seed);

// The optimiser a run trains with: Adam, or AdamW when the options decay weights.
optim::AdamOptions adam_options(const TrainOptions& options);

// The loss settings a run trains `train` with: label smoothing, and class weights n / (classes present
// x count) when the options weight classes.
CrossEntropyOptions training_loss_options(const data::PixelDataset& train, const TrainOptions& options);

// The training loss of one batch: softmax cross-entropy averaged as `reduction` says
// (TrainOptions::loss_reduction).
Tensor training_loss(const Tensor& logits, const std::vector<int32_t>& labels,
                     const CrossEntropyOptions& options, const std::string& reduction);

// The name of the first parameter whose gradient holds a NaN or an infinity, or "" when none does. A
// finite loss can still back-propagate one (an overflowing intermediate); training stops on it before
// the optimiser spreads it into every weight.
std::string non_finite_gradient(const Module& model);

// The model's logits for a batch on `device`: with the batch's coordinates for a location-aware model
// (Geo-CBAM), which refuses a batch without them.
Tensor batch_logits(models::Classifier& model, const data::Batch& batch, Device device);

struct Prediction {
  std::vector<int32_t> classes;
  std::vector<float> probabilities;  // [N, classes]
  double loss = 0;                   // mean cross-entropy when labels are known
};
Prediction predict(models::Classifier& model, const data::PixelDataset& d, int64_t batch_size = 256);
// The same, its batches spread over the MPI ranks (every rank calls it, and gets the whole result):
// the same bits as predict, since each batch is computed as predict computes it.
Prediction predict_over_ranks(models::Classifier& model, const data::PixelDataset& d,
                              int64_t batch_size = 256);

// Where the model's parameters are.
Device device_of(const Module& model);

}  // namespace s2::experiments
