#pragma once
// Runs a config once per seed. With [select] candidates, each model's training settings are chosen
// first, by validation accuracy alone; the test figures returned are those of the chosen settings.
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/training/experiment.h"

namespace s2::experiments {

struct CandidateScore {
  std::string name;
  Stat validation_accuracy;    // pooled validation OA, mean +/- std over seeds
  double mean_best_epoch = 0;  // over seeds and folds
};

struct SeedRuns {
  std::vector<Metrics> test;           // the pooled test metrics of one run per seed
  std::vector<std::string> checksums;  // and the weights checksum of each run (run_checksum)
  // The runs behind `test` (their folds' checkpoints), one per seed, and the config they ran with (the
  // chosen candidate's, or the refit's): prepared_folds(final_config, data, seed) gives their test parts.
  std::vector<RunResult> runs;
  ExperimentConfig final_config;
  // Only with [select]: every candidate's validation score, the chosen one, and the epochs of the
  // refit (0 = no refit: the chosen candidate's own runs gave `test`).
  std::vector<CandidateScore> candidates;
  std::string chosen;
  int64_t refit_epochs = 0;
  const CandidateScore& chosen_score() const;
  // One sentence for reports on how the settings were chosen; empty without [select].
  std::string describe() const;
};

// The seeds' runs, printing one line per seed (and per candidate).
SeedRuns run_seeds(const ExperimentConfig& config, const LoadedData& data,
                   const std::vector<uint64_t>& seeds);
// The same for several configs at once (ablate's variants): with spread_runs under MPI, all their runs
// share the ranks in one list, then all their refits in another.
std::vector<SeedRuns> run_seeds_for(const std::vector<ExperimentConfig>& configs, const LoadedData& data,
                                    const std::vector<uint64_t>& seeds);

// The config with a candidate's training settings; where and how the run happens stay the config's.
ExperimentConfig with_candidate(const ExperimentConfig& config, const SelectionCandidate& candidate);
// The candidate named `name`, or an error that lists the config's candidates.
const SelectionCandidate& find_candidate(const ExperimentConfig& config, const std::string& name);

}  // namespace s2::experiments
