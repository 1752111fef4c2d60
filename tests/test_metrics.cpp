// Metrics against a hand-computed confusion matrix.
#include <doctest/doctest.h>

#include "experiments/report/metrics.h"

using namespace s2::experiments;
using doctest::Approx;

TEST_CASE("OA, kappa and F1 from a known confusion matrix") {
  // truth\pred: [[5, 1], [2, 2]]
  const std::vector<int32_t> truth{0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
  const std::vector<int32_t> pred{0, 0, 0, 0, 0, 1, 0, 0, 1, 1};
  const Metrics m = compute_metrics(truth, pred, 2);
  CHECK(m.confusion == std::vector<std::vector<int64_t>>{{5, 1}, {2, 2}});
  CHECK(m.overall_accuracy == Approx(0.7));
  // pe = (6*7 + 4*3) / 100 = 0.54; kappa = (0.7 - 0.54) / 0.46
  CHECK(m.kappa == Approx(0.16 / 0.46));
  CHECK(m.per_class[0].precision == Approx(5.0 / 7));
  CHECK(m.per_class[0].recall == Approx(5.0 / 6));
  CHECK(m.per_class[1].f1 == Approx(2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5)));
  const double f0 = 2 * (5.0 / 7) * (5.0 / 6) / (5.0 / 7 + 5.0 / 6), f1 = m.per_class[1].f1;
  CHECK(m.macro_f1 == Approx((f0 + f1) / 2));
  CHECK(m.weighted_f1 == Approx(0.6 * f0 + 0.4 * f1));
}

TEST_CASE("perfect and empty predictions") {
  const Metrics perfect = compute_metrics({0, 1, 2}, {0, 1, 2}, 3);
  CHECK(perfect.overall_accuracy == 1.0);
  CHECK(perfect.kappa == Approx(1.0));
  CHECK(compute_metrics({}, {}, 2).overall_accuracy == 0.0);
}

TEST_CASE("against scikit-learn: five classes, one absent from the truth, one never predicted") {
  // The values come from scikit-learn 1.9.1 (scripts/metrics_reference.py, which holds the same arrays).
  // Both sides compute a few dozen double operations on counts: 1e-12 relative is far above their
  // rounding (about 50 x 2^-53) and far below any real difference.
  const std::vector<int32_t> truth{0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 4, 4, 0, 1};
  const std::vector<int32_t> pred{0, 0, 1, 3, 1, 1, 0, 2, 2, 1, 2, 0, 2, 0, 0, 1};
  const Metrics m = compute_metrics(truth, pred, 5);
  const auto exact = [](double v) { return Approx(v).epsilon(1e-12); };
  CHECK(m.overall_accuracy == exact(0.5625));
  CHECK(m.kappa == exact(0.39784946236559138));
  CHECK(m.macro_f1 == exact(0.46969696969696961));
  CHECK(m.weighted_f1 == exact(0.54545454545454541));
  const double precision[] = {0.5, 0.59999999999999998, 0.75, 0, 0};
  const double recall[] = {0.59999999999999998, 0.75, 0.59999999999999998, 0, 0};
  const double f1[] = {0.54545454545454541, 0.66666666666666663, 0.66666666666666663, 0, 0};
  for (size_t c = 0; c < 5; ++c) {
    CAPTURE(c);
    CHECK(m.per_class[c].precision == exact(precision[c]));
    CHECK(m.per_class[c].recall == exact(recall[c]));
    CHECK(m.per_class[c].f1 == exact(f1[c]));
  }
  CHECK(m.per_class[3].support == 0);
  CHECK(m.per_class[4].support == 2);
}
