#include "experiments/training/selection.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "experiments/training/run_codec.h"
#include "framework/byte_codec.h"
#include "framework/distributed.h"
#include "framework/error.h"

namespace s2::experiments {

namespace {
void print_run(const RunResult& run, uint64_t seed, const std::string& candidate) {
  if (candidate.empty()) {
    fmt::print("  seed {}: OA {:.4f}  kappa {:.4f}  macro F1 {:.4f}  weights {}\n", seed,
               run.pooled.overall_accuracy, run.pooled.kappa, run.pooled.macro_f1, run_checksum(run));
  } else {  // a candidate's test figures play no part in the choice, so they are not shown
    std::vector<int64_t> epochs;
    for (const auto& fold : run.folds) epochs.push_back(fold.training.best_epoch);
    fmt::print("  {} seed {}: validation OA {:.4f}  (kept epochs {})\n", candidate, seed,
               run.validation.overall_accuracy, fmt::join(epochs, ","));
  }
  std::fflush(stdout);
}

// Every config's run for every seed: runs[config][seed]. `names` are the configs' candidate names for
// the printed lines ("" for a plain run). Under MPI with spread_runs, the (config, seed, fold) list is
// spread: fold j goes whole to rank j mod ranks, alone, and every rank then holds every result; else
// all ranks share each run's batches.
std::vector<std::vector<RunResult>> run_grid(const std::vector<ExperimentConfig>& configs,
                                             const std::vector<std::string>& names, const LoadedData& data,
                                             const std::vector<uint64_t>& seeds) {
  std::vector<std::vector<RunResult>> runs(configs.size());
  const bool spread = !configs.empty() && configs.front().spread_runs && dist::job_size() > 1;
  if (!spread) {
    for (size_t c = 0; c < configs.size(); ++c) {
      for (uint64_t seed : seeds) {
        runs[c].push_back(run_experiment(configs[c], data, seed));
        print_run(runs[c].back(), seed, names[c]);
      }
    }
    return runs;
  }
  // Every (config, seed, fold); a job makes its run's folds again (splitting is cheap next to training),
  // so that no rank holds every run's copies of the data at once.
  struct Job {
    size_t config, seed, fold;
  };
  std::vector<Job> jobs;
  std::vector<std::vector<size_t>> fold_counts(configs.size());
  for (size_t c = 0; c < configs.size(); ++c) {
    const dist::Alone alone;  // each fold runs alone: the rank count does not constrain its shards
    check_run_inputs(configs[c], data);
    for (size_t s = 0; s < seeds.size(); ++s) {
      fold_counts[c].push_back(make_folds(configs[c], data, seeds[s]).size());
      for (size_t f = 0; f < fold_counts[c][s]; ++f) jobs.push_back({c, s, f});
    }
  }
  const int64_t classes = data.train.num_classes();
  ByteWriter mine;  // this rank's folds, each as its length and bytes, in job order
  for (size_t j = static_cast<size_t>(dist::job_rank()); j < jobs.size();
       j += static_cast<size_t>(dist::job_size())) {
    const dist::Alone alone;
    const Job& job = jobs[j];
    const ExperimentConfig& config = configs[job.config];
    const std::vector<Fold> folds = prepared_folds(config, data, seeds[job.seed]);
    mine.put_str(fold_bytes(run_fold(config, folds[job.fold], classes, seeds[job.seed])));
  }
  const std::vector<std::string> all = dist::all_gather_bytes(mine.bytes());
  std::vector<ByteReader> readers;
  for (size_t r = 0; r < all.size(); ++r)
    readers.emplace_back(all[r], 0, fmt::format("the folds of rank {}", r));
  size_t j = 0;
  for (size_t c = 0; c < configs.size(); ++c) {
    for (size_t s = 0; s < seeds.size(); ++s) {
      std::vector<FoldResult> done;
      for (size_t f = 0; f < fold_counts[c][s]; ++f, ++j) {
        const size_t r = j % all.size();
        done.push_back(parse_fold(readers[r].get_str("a fold"), fmt::format("fold {} of rank {}", j, r)));
      }
      runs[c].push_back(pool_folds(std::move(done), classes));
      print_run(runs[c].back(), seeds[s], names[c]);
    }
  }
  return runs;
}

// The runs (made with `config`), their pooled test metrics and weights checksums become the result.
void keep_test(SeedRuns& out, const std::vector<RunResult>& runs, const ExperimentConfig& config) {
  out.test.clear();
  out.checksums.clear();
  for (const auto& run : runs) {
    out.test.push_back(run.pooled);
    out.checksums.push_back(run_checksum(run));
  }
  out.runs = runs;
  out.final_config = config;
}

CandidateScore score(const std::string& name, const std::vector<RunResult>& runs) {
  std::vector<double> accuracy;
  double epochs = 0;
  int64_t folds = 0;
  for (const auto& run : runs) {
    S2_CHECK(run.has_validation, "selection needs validation pixels in every fold");
    accuracy.push_back(run.validation.overall_accuracy);
    for (const auto& fold : run.folds) epochs += static_cast<double>(fold.training.best_epoch), ++folds;
  }
  return {name, mean_std(accuracy), folds > 0 ? epochs / static_cast<double>(folds) : 0};
}
}  // namespace

ExperimentConfig with_candidate(const ExperimentConfig& config, const SelectionCandidate& candidate) {
  ExperimentConfig c = config;
  const TrainOptions& base = config.train;
  c.train = candidate.train;
  if (candidate.model_settings) candidate.model_settings(c.model);
  c.train.device = base.device;
  c.train.verbose = base.verbose;
  c.train.seed = base.seed;
  c.train.resume = base.resume;
  // Candidates must not resume from each other's training state.
  c.train.state_path = base.state_path.empty() ? "" : base.state_path + "-" + candidate.name;
  c.select = {};
  c.candidate = candidate.name;
  return c;
}

const SelectionCandidate& find_candidate(const ExperimentConfig& config, const std::string& name) {
  std::vector<std::string> names;
  for (const auto& candidate : config.select.candidates) {
    if (candidate.name == name) return candidate;
    names.push_back(candidate.name);
  }
  throw Error(fmt::format("{}: no selection candidate named '{}' (the config has: {})", config.path, name,
                          names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
}

std::vector<SeedRuns> run_seeds_for(const std::vector<ExperimentConfig>& configs, const LoadedData& data,
                                    const std::vector<uint64_t>& seeds) {
  // Every config's runs (with [select], each candidate's) in one grid, so spread runs balance over all.
  std::vector<ExperimentConfig> grid_configs;
  std::vector<std::string> names;
  for (const ExperimentConfig& config : configs) {
    if (config.select.candidates.empty()) grid_configs.push_back(config), names.emplace_back();
    for (const auto& candidate : config.select.candidates) {
      grid_configs.push_back(with_candidate(config, candidate));
      names.push_back(candidate.name);
    }
  }
  const auto grid = run_grid(grid_configs, names, data, seeds);

  std::vector<SeedRuns> out(configs.size());
  std::vector<ExperimentConfig> refits;
  std::vector<size_t> refitted;  // which config each refit belongs to
  size_t g = 0;
  for (size_t c = 0; c < configs.size(); ++c) {
    const ExperimentConfig& config = configs[c];
    if (config.select.candidates.empty()) {
      keep_test(out[c], grid[g], grid_configs[g]);
      ++g;
      continue;
    }
    size_t best = 0;
    SeedRuns chosen_test;
    for (size_t i = 0; i < config.select.candidates.size(); ++i, ++g) {
      out[c].candidates.push_back(score(names[g], grid[g]));
      // Strictly better only: on a tie the earlier candidate (the config's order) stays.
      if (i == 0 || out[c].candidates.back().validation_accuracy.mean >
                        out[c].candidates[best].validation_accuracy.mean) {
        best = i;
        keep_test(chosen_test, grid[g], grid_configs[g]);
      }
    }
    out[c].chosen = out[c].candidates[best].name;
    fmt::print("  chosen by validation OA: {} ({:.4f})\n", out[c].chosen,
               out[c].chosen_score().validation_accuracy.mean);
    if (!config.select.refit) {
      out[c].test = std::move(chosen_test.test);
      out[c].checksums = std::move(chosen_test.checksums);
      out[c].runs = std::move(chosen_test.runs);
      out[c].final_config = std::move(chosen_test.final_config);
      continue;
    }
    ExperimentConfig refit = with_candidate(config, config.select.candidates[best]);
    refit.split.validation_fraction = 0;
    refit.train.early_stopping_patience = 0;
    out[c].refit_epochs = std::max<int64_t>(1, std::llround(out[c].candidates[best].mean_best_epoch));
    refit.train.epochs = out[c].refit_epochs;
    fmt::print("  refit on all training groups for {} epochs\n", out[c].refit_epochs);
    refits.push_back(refit);
    refitted.push_back(c);
  }
  if (!refits.empty()) {
    const auto refit_runs = run_grid(refits, std::vector<std::string>(refits.size()), data, seeds);
    for (size_t i = 0; i < refits.size(); ++i) keep_test(out[refitted[i]], refit_runs[i], refits[i]);
  }
  return out;
}

SeedRuns run_seeds(const ExperimentConfig& config, const LoadedData& data,
                   const std::vector<uint64_t>& seeds) {
  return std::move(run_seeds_for({config}, data, seeds).front());
}

const CandidateScore& SeedRuns::chosen_score() const {
  for (const auto& c : candidates) {
    if (c.name == chosen) return c;
  }
  throw Error("no candidate was chosen: the config has no [select] candidates");
}

std::string SeedRuns::describe() const {
  if (candidates.empty()) return "";
  std::vector<std::string> scores;
  for (const auto& c : candidates)
    scores.push_back(
        fmt::format("{} {:.4f} +/- {:.4f}", c.name, c.validation_accuracy.mean, c.validation_accuracy.std));
  std::string text = fmt::format(
      "Training settings chosen by validation OA (mean over seeds; the test split plays no part): {}; "
      "chosen: {}.",
      fmt::join(scores, ", "), chosen);
  if (refit_epochs > 0)
    text +=
        fmt::format(" Then trained again on all of each fold's training groups for {} epochs.", refit_epochs);
  return text;
}

}  // namespace s2::experiments
