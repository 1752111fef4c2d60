// Trains a model from a config on every fold of its split, evaluates each fold's test pixels, and
// writes the report and one checkpoint per fold.
//   train --config FILE [--out DIR] [--seed N] [--epochs N] [--threads N] [--resume yes] [--candidate NAME]
// With [select] in the config, --candidate trains with that candidate's settings (ablate and reproduce
// choose among them by validation); without it, [train] as written.
#include <fmt/format.h>
#include <omp.h>

#include <filesystem>

#include "experiments/cli/cli.h"
#include "experiments/report/report.h"
#include "experiments/training/experiment.h"
#include "experiments/training/selection.h"
#include "framework/checkpoint.h"
#include "framework/distributed.h"
#include "framework/error.h"
#include "kernels/cpu/parallel.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_job([&] {
    experiments::Args args(argc, argv,
                           experiments::with_device_options(
                               {"config", "out", "seed", "epochs", "threads", "resume", "candidate"}));
    experiments::ExperimentConfig config = experiments::load_config(args.require("config"));
    if (args.has("candidate")) {
      config =
          experiments::with_candidate(config, experiments::find_candidate(config, args.get("candidate", "")));
    } else if (!config.select.candidates.empty()) {
      fmt::print(
          "note: {} has [select] candidates; training with [train] as written (--candidate NAME picks "
          "one)\n",
          config.path);
    }
    const auto seed = static_cast<uint64_t>(args.get_int("seed", static_cast<int64_t>(config.train.seed)));
    config.train.epochs = args.get_int("epochs", config.train.epochs);
    S2_CHECK(config.train.epochs > 0, "option --epochs must be positive, got {}", config.train.epochs);
    experiments::apply_threads_option(args);
    const std::string out = args.get("out", "runs/" + std::filesystem::path(config.path).stem().string());
    // The training state goes beside the results after every epoch; --resume yes continues from it.
    if (dist::is_root()) std::filesystem::create_directories(out);
    config.train.state_path = (std::filesystem::path(out) / "state").string();
    config.train.resume = args.get_yes_no("resume", false);
    config.train.device = experiments::apply_device_options(args);

    const experiments::LoadedData data = experiments::load_data(config);
    fmt::print("data: {} samples of {} dates x {} bands, {} classes ({}); test: {} samples\n",
               data.train.size(), data.train.timesteps, data.train.bands, data.train.num_classes(),
               fmt::join(data.train.class_names, ", "), data.test.size());
    fmt::print("model: {}, threads {}\n", config.model.kind, omp_get_max_threads());
    const auto run = experiments::run_experiment(config, data, seed);

    if (!dist::is_root()) return 0;  // rank 0 alone writes; every rank holds the same results
    std::filesystem::create_directories(out);
    experiments::Report report{
        fmt::format("{} ({}, seed {})", std::filesystem::path(config.path).filename().string(),
                    config.model.kind, seed),
        experiments::describe_split(config, data),
        data.train.class_names,
        run.pooled,
        {},
        {},
        {}};
    for (const auto& fold : run.folds) {
      const std::string name = run.folds.size() == 1 ? "model.ckpt" : fmt::format("model-{}.ckpt", fold.name);
      save_checkpoint((std::filesystem::path(out) / name).string(), fold.checkpoint);
      report.folds.push_back(
          {fold.name, fold.metrics, fold.training, experiments::model_checksum(fold.checkpoint)});
    }
    experiments::print_report(report);
    experiments::write_report(report, out);
    fmt::print("\nwrote {}: checkpoints, report.json, report.md, confusion.svg, curves.svg\n", out);
    return 0;
  });
}
