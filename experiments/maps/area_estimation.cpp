#include "experiments/maps/area_estimation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/csv.h"
#include "framework/error.h"

namespace s2::experiments {

namespace {

// The 95% interval is +-1.96 standard errors, as Olofsson et al. print it (their published areas need
// 1.96, not the exact quantile 1.95996, to round to their figures).
constexpr double kZ95 = 1.96;

Estimate with_ci(double value, double variance) {
  return {value, kZ95 * std::sqrt(std::max(variance, 0.0))};
}

std::string ha(double v) {
  return fmt::format("{:.1f}", v);
}

std::string ratio(const Estimate& e) {
  return std::isnan(e.value) ? "n/a" : fmt::format("{:.3f} ± {:.3f}", e.value, e.ci95);
}

}  // namespace

AreaEstimates estimate_areas(const StratifiedSample& s, const std::string& source) {
  const size_t k = s.classes.size();
  S2_CHECK(k > 0 && s.stratum_pixels.size() == k && s.counts.size() == k * k,
           "{}: an error matrix of {} classes needs {} stratum sizes and {} counts, got {} and {}", source, k,
           k, k * k, s.stratum_pixels.size(), s.counts.size());
  S2_CHECK(s.pixel_area_ha > 0, "{}: the map's pixel area must be positive, got {} ha", source,
           s.pixel_area_ha);
  AreaEstimates e;
  e.sampled.assign(k, 0);
  const double total_pixels = std::accumulate(s.stratum_pixels.begin(), s.stratum_pixels.end(), 0.0);
  S2_CHECK(total_pixels > 0, "{}: the map has no mapped pixel", source);
  std::vector<double> w(k);  // W_i, the strata's shares of the mapped area
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) e.sampled[i] += s.counts[i * k + j];
    w[i] = s.stratum_pixels[i] / total_pixels;
    e.mapped_area_ha.push_back(s.stratum_pixels[i] * s.pixel_area_ha);
    S2_CHECK(s.stratum_pixels[i] == 0 || e.sampled[i] >= 2,
             "{}: stratum '{}' ({} mapped pixels) has {} sample points; a stratum needs at least 2 for a "
             "variance (Olofsson et al. 2014, eq. 5-7)",
             source, s.classes[i], s.stratum_pixels[i], e.sampled[i]);
  }
  // q_ij = n_ij / n_i (0 for an empty stratum, whose weight is 0 as well) and its variance term.
  const auto q = [&](size_t i, size_t j) {
    return e.sampled[i] > 0 ? static_cast<double>(s.counts[i * k + j]) / static_cast<double>(e.sampled[i])
                            : 0.0;
  };
  const auto binomial = [&](size_t i, size_t j) {  // q(1 - q) / (n_i - 1)
    return e.sampled[i] > 1 ? q(i, j) * (1 - q(i, j)) / static_cast<double>(e.sampled[i] - 1) : 0.0;
  };
  e.proportions.resize(k * k);
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) e.proportions[i * k + j] = w[i] * q(i, j);
  }
  double overall = 0, overall_var = 0;
  for (size_t i = 0; i < k; ++i) {
    overall += e.proportions[i * k + i];
    overall_var += w[i] * w[i] * binomial(i, i);  // eq. 5
  }
  e.overall = with_ci(overall, overall_var);
  const double total_ha = total_pixels * s.pixel_area_ha;
  for (size_t j = 0; j < k; ++j) {
    // User's accuracy (eq. 6): within its stratum, a plain binomial proportion.
    e.users.push_back(e.sampled[j] > 0 ? with_ci(q(j, j), binomial(j, j))
                                       : Estimate{std::nan(""), std::nan("")});
    // Area (eq. 9-11): the column sum of p, and its stratified variance.
    double column = 0, column_var = 0;
    for (size_t i = 0; i < k; ++i) {
      column += e.proportions[i * k + j];
      column_var += w[i] * w[i] * binomial(i, j);
    }
    e.area_ha.push_back(with_ci(column * total_ha, column_var * total_ha * total_ha));
    // Producer's accuracy (eq. 7), from the estimated reference total N_.j in pixels.
    double reference_total = 0, others = 0;
    for (size_t i = 0; i < k; ++i) {
      reference_total += s.stratum_pixels[i] * q(i, j);
      if (i != j) others += s.stratum_pixels[i] * s.stratum_pixels[i] * binomial(i, j);
    }
    if (reference_total == 0) {
      e.producers.push_back({std::nan(""), std::nan("")});
      continue;
    }
    const double p = s.stratum_pixels[j] * q(j, j) / reference_total;
    const double own = s.stratum_pixels[j] * s.stratum_pixels[j] * (1 - p) * (1 - p) * binomial(j, j);
    e.producers.push_back(with_ci(p, (own + p * p * others) / (reference_total * reference_total)));
  }
  return e;
}

int64_t SampleDesign::total() const {
  return std::accumulate(per_stratum.begin(), per_stratum.end(), int64_t{0});
}

SampleDesign design_sample(const std::vector<double>& stratum_pixels,
                           const std::vector<double>& expected_users, double target_se,
                           int64_t min_per_stratum) {
  const size_t k = stratum_pixels.size();
  S2_CHECK(expected_users.size() == k,
           "the sample design needs one expected user's accuracy per class ({}), got {}", k,
           expected_users.size());
  S2_CHECK(target_se > 0 && target_se < 1, "the target standard error must be in (0, 1), got {}", target_se);
  S2_CHECK(min_per_stratum >= 2, "each stratum needs at least 2 points for a variance, got a minimum of {}",
           min_per_stratum);
  const double total = std::accumulate(stratum_pixels.begin(), stratum_pixels.end(), 0.0);
  S2_CHECK(total > 0, "the map has no mapped pixel to sample");
  double spread = 0;  // sum of W_i S_i, S_i the standard deviation of a stratum with accuracy U_i
  for (size_t i = 0; i < k; ++i) {
    S2_CHECK(expected_users[i] > 0 && expected_users[i] <= 1,
             "an expected user's accuracy must be in (0, 1], got {} for class {}", expected_users[i], i + 1);
    spread += stratum_pixels[i] / total * std::sqrt(expected_users[i] * (1 - expected_users[i]));
  }
  SampleDesign d;
  d.equation_13 =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(std::pow(spread / target_se, 2) - 1e-9)));
  // Proportional allocation among the strata not yet fixed; a stratum below the minimum (or above
  // its pixel count) is fixed there and the rest is shared again.
  std::vector<double> share(k, 0);
  std::vector<bool> fixed(k, false);
  for (size_t i = 0; i < k; ++i) fixed[i] = stratum_pixels[i] == 0;
  for (bool changed = true; changed;) {
    changed = false;
    double fixed_points = 0, free_pixels = 0;
    for (size_t i = 0; i < k; ++i) {
      if (fixed[i])
        fixed_points += share[i];
      else
        free_pixels += stratum_pixels[i];
    }
    const double remaining = std::max(0.0, static_cast<double>(d.equation_13) - fixed_points);
    for (size_t i = 0; i < k && !changed; ++i) {
      if (fixed[i]) continue;
      share[i] = remaining * stratum_pixels[i] / free_pixels;
      const double floor_i = std::min(static_cast<double>(min_per_stratum), stratum_pixels[i]);
      if (share[i] < floor_i || share[i] > stratum_pixels[i]) {
        share[i] = std::clamp(share[i], floor_i, stratum_pixels[i]);
        fixed[i] = changed = true;
      }
    }
  }
  // Whole points by the largest remainders, so the free strata keep their total.
  d.per_stratum.resize(k);
  double fractional_total = 0;
  std::vector<size_t> order;
  for (size_t i = 0; i < k; ++i) {
    d.per_stratum[i] = static_cast<int64_t>(std::floor(share[i]));
    fractional_total += share[i] - std::floor(share[i]);
    order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return share[a] - std::floor(share[a]) > share[b] - std::floor(share[b]);
  });
  for (size_t r = 0; r < static_cast<size_t>(std::llround(fractional_total)) && r < k; ++r) {
    ++d.per_stratum[order[r]];
  }
  return d;
}

std::string area_estimates_markdown(const AreaEstimates& e, const std::vector<std::string>& classes,
                                    const std::string& title) {
  const size_t k = classes.size();
  std::string md = fmt::format(
      "# {}\n\nStratified estimation after Olofsson et al. 2014: strata are the map's "
      "classes, ± is the half-width of the 95% confidence interval.\n\n"
      "Overall accuracy: {}\n\n",
      title, ratio(e.overall));
  md +=
      "| class | sample points | mapped area (ha) | estimated area (ha) | user's accuracy | producer's "
      "accuracy |\n|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < k; ++i) {
    md += fmt::format("| {} | {} | {} | {} ± {} | {} | {} |\n", classes[i], e.sampled[i],
                      ha(e.mapped_area_ha[i]), ha(e.area_ha[i].value), ha(e.area_ha[i].ci95),
                      ratio(e.users[i]), ratio(e.producers[i]));
  }
  md += "\nError matrix in proportions of area (rows: map, columns: reference)\n\n| map \\ reference |";
  for (const auto& c : classes) md += fmt::format(" {} |", c);
  md += "\n|---|";
  for (size_t j = 0; j < k; ++j) md += "---|";
  md += "\n";
  for (size_t i = 0; i < k; ++i) {
    md += fmt::format("| {} |", classes[i]);
    for (size_t j = 0; j < k; ++j) md += fmt::format(" {:.4f} |", e.proportions[i * k + j]);
    md += "\n";
  }
  return md;
}

std::string area_estimates_csv(const AreaEstimates& e, const std::vector<std::string>& classes) {
  std::string csv =
      "class,sample_points,mapped_area_ha,area_ha,area_ci95_ha,users_accuracy,users_ci95,producers_accuracy,"
      "producers_ci95\n";
  for (size_t i = 0; i < classes.size(); ++i) {
    csv +=
        fmt::format("{},{},{:.4f},{:.4f},{:.4f},{:.6f},{:.6f},{:.6f},{:.6f}\n", data::csv_quote(classes[i]),
                    e.sampled[i], e.mapped_area_ha[i], e.area_ha[i].value, e.area_ha[i].ci95,
                    e.users[i].value, e.users[i].ci95, e.producers[i].value, e.producers[i].ci95);
  }
  return csv + fmt::format("overall,,,,,{:.6f},{:.6f},,\n", e.overall.value, e.overall.ci95);
}

}  // namespace s2::experiments
