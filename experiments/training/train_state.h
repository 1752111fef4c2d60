#pragma once
// Everything the training loop needs to continue a run exactly where it stopped: weights, optimiser
// moments, random generator states, early-stopping bookkeeping, best weights and history. Written
// atomically after every epoch.
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "experiments/training/trainer.h"
#include "framework/optim.h"
#include "models/classifier.h"

namespace s2::experiments {

struct TrainState {
  int64_t epoch = 0;                                          // completed epochs
  double best_val = std::numeric_limits<double>::infinity();  // best validation score, lower is better
  int64_t best_epoch = 0, bad_epochs = 0;
  bool stopped_early = false;
  std::vector<EpochLog> history;
  NamedTensors best_weights;
  std::array<uint64_t, 4> shuffle_rng{}, global_rng{};
};

void save_train_state(const std::string& path, const models::Classifier& model,
                      const optim::Optimizer& optimizer, const TrainState& state,
                      const std::string& fingerprint);
// Restores the model and optimiser in place and returns the loop's state; errors name the file. A state
// written for another run (another fingerprint: TrainOptions::fingerprint) is refused before anything
// is restored.
TrainState load_train_state(const std::string& path, models::Classifier& model, optim::Optimizer& optimizer,
                            const std::string& fingerprint);

}  // namespace s2::experiments
