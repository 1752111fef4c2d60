#pragma once
// The attention of the models a multi-seed run trained (ablate --attention yes): each seed's and fold's
// model on its fold's test pixels, pooled into one summary per true class.
#include <cstdint>
#include <optional>
#include <vector>

#include "experiments/explain/explain_report.h"
#include "experiments/training/selection.h"

namespace s2::experiments {

// Nothing when the runs' model has no attention. `seeds` are the seeds `runs` ran with, in order.
std::optional<Explanation> run_attention(const SeedRuns& runs, const LoadedData& data,
                                         const std::vector<uint64_t>& seeds);

}  // namespace s2::experiments
