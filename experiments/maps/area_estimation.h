#pragma once
// Accuracy and area from a stratified random sample of a class map, after Olofsson et al. 2014,
// "Good practices for estimating area and assessing accuracy of land change" (Remote Sensing of
// Environment 148, 42-57): the strata are the map's classes, so each stratum's weight is its share of
// the mapped area, and every estimate is area-weighted rather than a count of sample points.
#include <cstdint>
#include <string>
#include <vector>

namespace s2::experiments {

// A sample's error matrix with the sizes of its strata.
struct StratifiedSample {
  std::vector<std::string> classes;    // the map's classes: strata and reference classes alike
  std::vector<double> stratum_pixels;  // N_i: mapped pixels of class i
  std::vector<int64_t> counts;         // n_ij, [map class i][reference class j], classes^2 values
  double pixel_area_ha = 0;            // the area of one map pixel in hectares
};

// An estimate with the half-width of its 95% confidence interval (1.96 standard errors).
struct Estimate {
  double value = 0, ci95 = 0;
};

struct AreaEstimates {
  std::vector<double> proportions;  // p_ij = W_i n_ij / n_i, the area-weighted error matrix
  Estimate overall;                 // overall accuracy
  std::vector<Estimate> users, producers;
  std::vector<Estimate> area_ha;       // of each reference class
  std::vector<double> mapped_area_ha;  // of each map class (the pixel count)
  std::vector<int64_t> sampled;        // n_i, points per stratum
};

// The estimators of Olofsson et al. 2014 (their equations 2 and 4 to 11). A stratum that has mapped
// area needs at least two sample points (the variances divide by n_i - 1): fewer is an error naming
// the stratum and `source`, the file the sample came from.
AreaEstimates estimate_areas(const StratifiedSample& sample, const std::string& source);

// The sample size of a stratified random sample, Olofsson et al. 2014 equation 13: enough points for
// a standard error of `target_se` on the overall accuracy given the expected user's accuracy of each
// class, then allocated over the strata in proportion to their area, with every stratum raised to
// at least `min_per_stratum` points (their recommendation for rare classes) and none given more
// points than it has pixels. The total is then the sum of the allocation.
struct SampleDesign {
  int64_t equation_13 = 0;           // the size that equation 13 asks for
  std::vector<int64_t> per_stratum;  // the allocation
  int64_t total() const;
};
SampleDesign design_sample(const std::vector<double>& stratum_pixels,
                           const std::vector<double>& expected_users, double target_se,
                           int64_t min_per_stratum);

// The estimates as a Markdown page and a CSV table (class, mapped and estimated area, accuracies).
std::string area_estimates_markdown(const AreaEstimates& e, const std::vector<std::string>& classes,
                                    const std::string& title);
std::string area_estimates_csv(const AreaEstimates& e, const std::vector<std::string>& classes);

}  // namespace s2::experiments
