#pragma once
// Classification metrics from a confusion matrix (rows = true class, columns = predicted).
#include <cstdint>
#include <string>
#include <vector>

namespace s2::experiments {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;
};

struct Metrics {
  std::vector<std::vector<int64_t>> confusion;
  double overall_accuracy = 0, kappa = 0, macro_f1 = 0, weighted_f1 = 0;
  std::vector<ClassMetrics> per_class;
};

Metrics compute_metrics(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted,
                        int64_t classes);
Metrics metrics_from_confusion(const std::vector<std::vector<int64_t>>& confusion);

}  // namespace s2::experiments
