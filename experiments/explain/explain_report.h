#pragma once
// explain's outputs: everything experiments/explain/explanation.h measures, for one model on one data
// set, written as JSON (explain.json), long-format CSV tables (attention.csv, occlusion.csv,
// deletion.csv) and SVG figures (attention_stageN.svg, occlusion.svg, deletion.svg).
#include <optional>
#include <string>
#include <vector>

#include "experiments/cli/config.h"
#include "experiments/explain/explanation.h"

namespace s2::experiments {

struct Explanation {
  std::string model_name, data_source;
  std::vector<std::string> class_names, date_labels, band_names;
  std::optional<AttentionSummary> attention;  // models with attention only
  OcclusionImportance occlusion;
  std::vector<DeletionCurve> deletion;              // k = 0 .. max_k dates removed, by ranking
  std::optional<RankCorrelation> rank_correlation;  // models with spatial attention only
};

// Writes the files into `dir` (created if missing), each atomically.
void write_explanation(const Explanation& e, const std::string& dir);
// Only the attention part (e.attention must be set): attention.csv and attention_stageN.svg for each
// stage with spatial attention, into `dir`; returns the SVG file names (evaluate --attention and
// ablate --attention add them to their reports).
std::vector<std::string> write_attention_figures(const Explanation& e, const std::string& dir);

// An explanation holding only the attention of `model` on the labelled pixels `d` (see
// summarise_attention), with the date and band labels of `config`; nothing when the model has no
// attention. `d` must be prepared as the model's training data were (normalised, resampled).
std::optional<Explanation> attention_only(models::Classifier& model, const ExperimentConfig& config,
                                          const std::vector<std::string>& class_names,
                                          const data::PixelDataset& d);

// The console summary: what explain found, in a few lines.
std::string explanation_summary(const Explanation& e);

}  // namespace s2::experiments
