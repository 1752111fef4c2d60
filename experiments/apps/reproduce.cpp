// Runs a config over several seeds and prints mean +/- std next to the reference numbers stored in the
// config, with PASS/FAIL: PASS when each mean is at least the reference minus the stated tolerance.
//   reproduce --config FILE [--seeds 1,2,3] [--epochs N] [--model KIND] [--out DIR] [--threads N]
#include <fmt/format.h>

#include <filesystem>

#include "experiments/cli/cli.h"
#include "experiments/training/experiment.h"
#include "experiments/training/selection.h"
#include "framework/atomic_file.h"
#include "framework/distributed.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_job([&] {
    experiments::Args args(
        argc, argv,
        experiments::with_device_options({"config", "seeds", "epochs", "model", "out", "threads", "spread"}));
    experiments::ExperimentConfig config = experiments::load_multi_seed_config(args);
    config.model.kind = args.get("model", config.model.kind);
    config.train.device = experiments::apply_device_options(args);
    const std::string out =
        args.get("out", "runs/reproduce-" + std::filesystem::path(config.path).stem().string());

    const experiments::LoadedData data = experiments::load_data(config);
    fmt::print("reproduce {} ({}), seeds {}\n{}\n", config.path, config.model.kind,
               fmt::join(config.seeds, ","), experiments::describe_split(config, data));
    const auto runs = experiments::run_seeds(config, data, config.seeds);
    const auto& metrics = runs.test;

    struct Row {
      const char* name;
      double experiments::Metrics::*field;
      double reference;
    };
    const Row rows[] = {{"OA", &experiments::Metrics::overall_accuracy, config.reference.overall_accuracy},
                        {"kappa", &experiments::Metrics::kappa, config.reference.kappa},
                        {"macro F1", &experiments::Metrics::macro_f1, config.reference.macro_f1}};
    std::string md = fmt::format(
        "# reproduce: {} ({})\n\n{}{}\n\nSeeds: {} on {}. Reference: {}. Tolerance {:.3f}.\n\n"
        "| metric | mean | std | reference | verdict |\n|---|---|---|---|---|\n",
        config.path, config.model.kind, experiments::describe_split(config, data),
        runs.candidates.empty() ? "" : "\n\n" + runs.describe(), fmt::join(config.seeds, ", "),
        experiments::describe_compute(config.train.device),
        config.reference.source.empty() ? "none" : config.reference.source, config.reference.tolerance);
    bool all_pass = true;
    fmt::print("\n{:<9} {:>8} {:>8} {:>10}  verdict\n", "metric", "mean", "std", "reference");
    for (const auto& row : rows) {
      std::vector<double> values;
      for (const auto& m : metrics) values.push_back(m.*row.field);
      const auto s = experiments::mean_std(values);
      const bool has_reference = row.reference >= 0;
      const bool pass = !has_reference || s.mean >= row.reference - config.reference.tolerance;
      all_pass = all_pass && pass;
      const std::string reference = has_reference ? fmt::format("{:.4f}", row.reference) : "-";
      const char* verdict = has_reference ? (pass ? "PASS" : "FAIL") : "(no reference)";
      fmt::print("{:<9} {:>8.4f} {:>8.4f} {:>10}  {}\n", row.name, s.mean, s.std, reference, verdict);
      md += fmt::format("| {} | {:.4f} | {:.4f} | {} | {} |\n", row.name, s.mean, s.std, reference, verdict);
    }
    md += "\n| seed | weights checksum |\n|---|---|\n";
    for (size_t i = 0; i < runs.checksums.size(); ++i) {
      md += fmt::format("| {} | `{}` |\n", config.seeds[i], runs.checksums[i]);
      fmt::print("seed {} weights checksum: {}\n", config.seeds[i], runs.checksums[i]);
    }
    if (dist::is_root()) {  // rank 0 alone writes; every rank holds the same results
      std::filesystem::create_directories(out);
      write_file_atomic((std::filesystem::path(out) / "reproduce.md").string(), md);
    }
    fmt::print("\nwrote {}/reproduce.md\n", out);
    return all_pass ? 0 : 2;
  });
}
