#include "experiments/explain/run_attention.h"

#include <fmt/format.h>

#include "framework/error.h"

namespace s2::experiments {

std::optional<Explanation> run_attention(const SeedRuns& runs, const LoadedData& data,
                                         const std::vector<uint64_t>& seeds) {
  S2_CHECK(runs.runs.size() == seeds.size(), "run_attention: {} runs for {} seeds", runs.runs.size(),
           seeds.size());
  const ExperimentConfig& config = runs.final_config;
  std::optional<Explanation> pooled;
  for (size_t i = 0; i < seeds.size(); ++i) {
    const std::vector<Fold> folds = prepared_folds(config, data, seeds[i]);  // the runs' own test parts
    for (const FoldResult& result : runs.runs[i].folds) {
      const Fold* fold = nullptr;
      for (const Fold& f : folds) fold = f.name == result.name ? &f : fold;
      S2_CHECK(fold != nullptr, "run_attention: seed {} has no fold '{}'", seeds[i], result.name);
      const data::PixelDataset& test = fold->test;
      auto model = initial_model(config, test.timesteps, test.bands, test.num_classes(), seeds[i]);
      const std::string what = fmt::format("the model of seed {} fold {}", seeds[i], result.name);
      result.checkpoint.restore("model", model->named_parameters(), what);
      result.checkpoint.restore("model", model->named_buffers(), what);
      std::optional<Explanation> part = attention_only(*model, config, test.class_names, test);
      if (!part) return std::nullopt;
      if (!pooled) {
        pooled = std::move(part);
      } else {
        pool_attention(*pooled->attention, *part->attention);
      }
    }
  }
  if (pooled)
    pooled->data_source = fmt::format("the test parts of seeds {} (every fold)", fmt::join(seeds, ", "));
  return pooled;
}

}  // namespace s2::experiments
