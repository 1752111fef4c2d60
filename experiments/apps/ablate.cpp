// Runs model variants on the same data, split and seeds, and writes one comparison table.
//   ablate --config FILE [--variants paper,no_attention,...] [--seeds 1,2,3] [--epochs N] [--out DIR]
//          [--attention yes]
// --attention yes: for each variant with attention, its trained models' spatial attention on their folds'
// test pixels, pooled over seeds and folds per true class (correct and misclassified), drawn as
// DIR/VARIANT/attention_stageN.svg and linked from ablation.md.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>

#include "experiments/cli/cli.h"
#include "experiments/explain/run_attention.h"
#include "experiments/report/report.h"
#include "experiments/training/experiment.h"
#include "experiments/training/selection.h"
#include "framework/atomic_file.h"
#include "framework/distributed.h"
#include "framework/error.h"
#include "models/factory.h"

using namespace s2;

namespace {
// Each variant changes the config's model in one respect.
const std::map<std::string, std::function<void(models::ModelConfig&)>>& variants() {
  using models::Attention;
  // TempCBAM (models/tempcnn.h): TempCNN with CBAM after each block, the location entering it as `geo`
  // says; the config's attention_join stays as it is unless `join` is given.
  const auto tempcbam = [](models::GeoAttention geo, std::optional<models::AttentionJoin> join = {}) {
    return [=](models::ModelConfig& m) {
      m.kind = "tempcbam", m.cbam.attention = Attention::Cbam, m.cbam.geo = geo;
      if (join) m.tempcnn.attention_join = *join;
    };
  };
  static const std::map<std::string, std::function<void(models::ModelConfig&)>> table{
      {"paper", [](auto& m) { m.kind = "cbam"; }},
      {"no_attention", [](auto& m) { m.cbam.attention = Attention::None; }},
      {"channel_only", [](auto& m) { m.cbam.attention = Attention::ChannelOnly; }},
      {"spatial_only", [](auto& m) { m.cbam.attention = Attention::SpatialOnly; }},
      {"no_skip", [](auto& m) { m.cbam.residual_skip = false; }},
      {"reduction4", [](auto& m) { m.cbam.reduction = 4; }},
      {"reduction16", [](auto& m) { m.cbam.reduction = 16; }},
      {"spatial_kernel3", [](auto& m) { m.cbam.spatial_kernel = 3; }},
      {"narrow",
       [](auto& m) {
         m.cbam.stem_width = 32, m.cbam.stage_widths = {32, 64, 128};
       }},
      {"deep", [](auto& m) { m.cbam.units_per_stage = 2; }},
      {"plain_cnn", [](auto& m) { m.kind = "plain_cnn"; }},
      {"tempcnn", [](auto& m) { m.kind = "tempcnn"; }},
      {"rf", [](auto& m) { m.kind = "rf"; }},      // XGBoost's random forest (models/tree_ensemble.h)
      {"gbdt", [](auto& m) { m.kind = "gbdt"; }},  // XGBoost's gradient-boosted trees
      // Geo-CBAM (models/cbam_crop_net.h): the data must have coordinates.
      {"geo_channel", [](auto& m) { m.cbam.geo = models::GeoAttention::Channel; }},
      {"geo_spatial", [](auto& m) { m.cbam.geo = models::GeoAttention::Spatial; }},
      {"geo_both", [](auto& m) { m.cbam.geo = models::GeoAttention::Both; }},
      {"geo_head", [](auto& m) { m.cbam.geo = models::GeoAttention::Head; }},
      // TempCBAM; with residual attention, x (1 + a), or gated, x (1 + g a); with Geo-CBAM's both
      // entries.
      {"tempcbam", tempcbam(models::GeoAttention::None)},
      {"tempcbam_residual", tempcbam(models::GeoAttention::None, models::AttentionJoin::Residual)},
      {"tempcbam_gated", tempcbam(models::GeoAttention::None, models::AttentionJoin::Gated)},
      {"tempcbam_geo", tempcbam(models::GeoAttention::Both)},
  };
  return table;
}

std::string names() {
  std::vector<std::string> out;
  for (const auto& [name, fn] : variants()) out.push_back(name);
  return fmt::format("{}", fmt::join(out, ", "));
}
}  // namespace

int main(int argc, char** argv) {
  return experiments::run_job([&] {
    experiments::Args args(argc, argv,
                           experiments::with_device_options({"config", "variants", "seeds", "epochs", "out",
                                                             "threads", "attention", "spread"}));
    experiments::ExperimentConfig base = experiments::load_multi_seed_config(args);
    base.train.device = experiments::apply_device_options(args);
    const auto chosen = args.get_list(
        "variants", !base.ablate_variants.empty()
                        ? base.ablate_variants
                        : std::vector<std::string>{"paper", "no_attention", "channel_only", "spatial_only",
                                                   "no_skip", "plain_cnn", "tempcnn"});
    for (const auto& v : chosen)
      S2_CHECK(variants().count(v) > 0, "unknown variant '{}' (known: {})", v, names());
    const std::string out =
        args.get("out", "runs/ablate-" + std::filesystem::path(base.path).stem().string());

    const experiments::LoadedData data = experiments::load_data(base);
    for (const auto& name : chosen) {  // a variant the data cannot feed fails now, not after the others
      experiments::ExperimentConfig config = base;
      variants().at(name)(config.model);
      experiments::require_model_inputs(config, data, name);
    }
    const std::string split = experiments::describe_split(base, data);
    const std::string compute = experiments::describe_compute(base.train.device);
    fmt::print("ablate {} over seeds {} ({})\n{}\n", base.path, fmt::join(base.seeds, ","), compute, split);
    const bool selecting = !base.select.candidates.empty();
    std::string md = fmt::format(
        "# ablation: {}\n\n{}\n\nSeeds: {} on {}; mean +/- std over seeds.{}\n\n"
        "| variant | parameters | OA | kappa | macro F1 | minutes |{}\n|---|---|---|---|---|---|{}\n",
        base.path, split, fmt::join(base.seeds, ", "), compute,
        selecting ? " Each variant's training settings are chosen by validation OA among the [select] "
                    "candidates; the table shows the test figures of the chosen ones."
                  : "",
        selecting ? " settings (validation OA) |" : "", selecting ? "---|" : "");
    const bool attention = args.get_yes_no("attention", false);
    std::string selection_notes, attention_notes, fold_rows;
    std::string folds_csv = "variant,seed,fold,test_samples,overall_accuracy,kappa,macro_f1\n";
    std::vector<std::string> fold_names;
    const auto per_fold_table = [&]() -> std::string {
      if (fold_names.size() < 2) return "";
      std::string separator;
      for (size_t column = 0; column <= fold_names.size(); ++column) separator += "---|";
      return fmt::format(
          "\n## OA per fold (mean over seeds; every fold and seed in folds.csv)\n\n| variant | {} |\n|{}\n{}",
          fmt::join(fold_names, " | "), separator, fold_rows);
    };
    // Runs spread over ranks: every variant's runs share them at once, and the rows come after.
    std::vector<experiments::SeedRuns> spread;
    if (base.spread_runs && dist::job_size() > 1) {
      std::vector<experiments::ExperimentConfig> configs;
      for (const auto& name : chosen) {
        configs.push_back(base);
        variants().at(name)(configs.back().model);
      }
      spread = experiments::run_seeds_for(configs, data, base.seeds);
    }
    for (size_t v = 0; v < chosen.size(); ++v) {
      const std::string& name = chosen[v];
      experiments::ExperimentConfig config = base;
      variants().at(name)(config.model);
      const int64_t params =
          models::make_model(config.model, data.train.timesteps, data.train.bands, data.train.num_classes())
              ->num_parameters();
      fmt::print("\n{} ({} parameters)\n", name, params);
      const auto start = std::chrono::steady_clock::now();
      const auto runs = spread.empty() ? experiments::run_seeds(config, data, config.seeds) : spread[v];
      const auto& metrics = runs.test;
      // A variant's own minutes; its runs spread over ranks among the others' have none ("-").
      const std::string minutes =
          spread.empty()
              ? fmt::format(
                    "{:.1f}",
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60)
              : "-";
      std::vector<double> oa, kappa, f1;
      for (const auto& m : metrics)
        oa.push_back(m.overall_accuracy), kappa.push_back(m.kappa), f1.push_back(m.macro_f1);
      const auto a = experiments::mean_std(oa), k = experiments::mean_std(kappa),
                 f = experiments::mean_std(f1);
      std::string row =
          fmt::format("| {} | {} | {:.4f} +/- {:.4f} | {:.4f} +/- {:.4f} | {:.4f} +/- {:.4f} | {} |", name,
                      params, a.mean, a.std, k.mean, k.std, f.mean, f.std, minutes);
      if (selecting) {
        row += fmt::format(" {} ({:.4f}) |", runs.chosen, runs.chosen_score().validation_accuracy.mean);
        selection_notes += fmt::format("- {}: {}\n", name, runs.describe());
      }
      row += "\n";
      fmt::print("{}", row);
      md += row;
      if (dist::is_root()) std::filesystem::create_directories(out);  // rank 0 alone writes
      // Per fold: with folds that are places (leave one region out), how each one fares.
      fold_names.clear();
      std::vector<double> fold_oa;
      for (size_t r = 0; r < runs.runs.size(); ++r) {
        const auto& folds = runs.runs[r].folds;
        fold_oa.resize(folds.size(), 0.0);
        for (size_t i = 0; i < folds.size(); ++i) {
          const auto& m = folds[i].metrics;
          int64_t n = 0;
          for (const auto& row_counts : m.confusion)
            for (const int64_t c : row_counts) n += c;
          folds_csv += fmt::format("{},{},{},{},{:.6f},{:.6f},{:.6f}\n", name, config.seeds[r], folds[i].name,
                                   n, m.overall_accuracy, m.kappa, m.macro_f1);
          fold_oa[i] += m.overall_accuracy / static_cast<double>(runs.runs.size());
          if (r == 0) fold_names.push_back(folds[i].name);
        }
      }
      fold_rows += fmt::format("| {} | {:.4f} |\n", name, fmt::join(fold_oa, " | "));
      if (dist::is_root()) write_file_atomic((std::filesystem::path(out) / "folds.csv").string(), folds_csv);
      if (attention && dist::is_root()) {
        if (const auto e = experiments::run_attention(runs, data, config.seeds)) {
          std::vector<std::string> figures =
              experiments::write_attention_figures(*e, (std::filesystem::path(out) / name).string());
          for (auto& figure : figures) figure = name + "/" + figure;
          attention_notes += fmt::format("\n### {}\n\n{}", name, experiments::figure_links(figures));
        }
      }
      const std::string notes =
          per_fold_table() + (selecting ? "\n" + selection_notes : "") +
          (attention_notes.empty() ? "" : "\n## Attention (pooled over seeds and folds)\n" + attention_notes);
      if (dist::is_root()) {
        write_file_atomic((std::filesystem::path(out) / "ablation.md").string(),
                          md + notes);  // kept current as rows arrive
      }
    }
    md += per_fold_table();
    if (selecting) md += "\n" + selection_notes;
    if (!attention_notes.empty()) md += "\n## Attention (pooled over seeds and folds)\n" + attention_notes;
    fmt::print("\n{}\nwrote {}/ablation.md\n", md, out);
    return 0;
  });
}
