#include "experiments/report/metrics.h"

#include "framework/error.h"

namespace s2::experiments {

Metrics compute_metrics(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted,
                        int64_t classes) {
  S2_CHECK(truth.size() == predicted.size(), "metrics: {} labels but {} predictions", truth.size(),
           predicted.size());
  std::vector<std::vector<int64_t>> confusion(static_cast<size_t>(classes),
                                              std::vector<int64_t>(static_cast<size_t>(classes), 0));
  for (size_t i = 0; i < truth.size(); ++i) {
    S2_CHECK(truth[i] >= 0 && truth[i] < classes && predicted[i] >= 0 && predicted[i] < classes,
             "metrics: class index outside [0, {})", classes);
    ++confusion[static_cast<size_t>(truth[i])][static_cast<size_t>(predicted[i])];
  }
  return metrics_from_confusion(confusion);
}

Metrics metrics_from_confusion(const std::vector<std::vector<int64_t>>& confusion) {
  Metrics m;
  m.confusion = confusion;
  const size_t k = confusion.size();
  std::vector<double> row(k, 0), col(k, 0);
  double total = 0, diagonal = 0;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) {
      const auto v = static_cast<double>(confusion[i][j]);
      row[i] += v;
      col[j] += v;
      total += v;
    }
    diagonal += static_cast<double>(confusion[i][i]);
  }
  if (total == 0) {
    m.per_class.resize(k);
    return m;
  }
  m.overall_accuracy = diagonal / total;
  double expected = 0;
  for (size_t i = 0; i < k; ++i) {
    expected += row[i] * col[i];
  }
  expected /= total * total;
  m.kappa = expected < 1.0 ? (m.overall_accuracy - expected) / (1.0 - expected) : 0.0;
  size_t present = 0;
  for (size_t i = 0; i < k; ++i) {
    ClassMetrics c;
    const auto tp = static_cast<double>(confusion[i][i]);
    c.support = static_cast<int64_t>(row[i]);
    c.precision = col[i] > 0 ? tp / col[i] : 0.0;
    c.recall = row[i] > 0 ? tp / row[i] : 0.0;
    c.f1 = c.precision + c.recall > 0 ? 2 * c.precision * c.recall / (c.precision + c.recall) : 0.0;
    m.per_class.push_back(c);
    // Macro F1 averages over the classes present in the reference, as scikit-learn does with
    // labels=present classes.
    if (row[i] > 0) {
      m.macro_f1 += c.f1;
      ++present;
    }
    m.weighted_f1 += c.f1 * row[i] / total;
  }
  m.macro_f1 /= static_cast<double>(present);
  return m;
}

}  // namespace s2::experiments
