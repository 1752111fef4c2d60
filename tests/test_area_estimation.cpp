// The stratified estimators of experiments/maps/area_estimation against the worked example of
// Olofsson et al. 2014 (section 5, table 8 and the figures on p. 54), and the sample size of their
// equation 13.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "experiments/maps/area_estimation.h"
#include "framework/error.h"

using namespace s2::experiments;

namespace {

// Table 8: a Landsat change map of 10,000,000 30 m pixels (0.09 ha), 640 sample points.
StratifiedSample olofsson_table_8() {
  return {{"Deforestation", "Forest gain", "Stable forest", "Stable non-forest"},
          {200000, 150000, 3200000, 6450000},
          {66, 0, 5, 4,    //
           0, 55, 8, 12,   //
           1, 0, 153, 11,  //
           2, 1, 9, 313},
          0.09};
}

// `value` as the paper prints it, rounded to `decimals` places.
void check_printed(double value, double printed, int decimals) {
  const double unit = std::pow(10.0, -decimals);
  CHECK(std::fabs(value - printed) <= 0.5 * unit + 1e-9 * std::fabs(printed));
}

}  // namespace

TEST_CASE("area and accuracy estimates reproduce Olofsson et al. 2014's worked example") {
  const AreaEstimates e = estimate_areas(olofsson_table_8(), "table 8");
  // p. 54, left: user's and producer's accuracy and the overall accuracy. The paper prints two
  // decimals; these are the same estimates to seven digits, as the R package mapaccuracy (H. Costa)
  // reproduces the example, with standard errors stated as 95% half-widths at the exact normal quantile.
  const double users[4][2] = {
      {0.8800000, 0.07403962}, {0.7333333, 0.10075516}, {0.9272727, 0.03974464}, {0.9630769, 0.02053312}};
  const double producers[4][2] = {
      {0.7486614, 0.21330593}, {0.8471564, 0.25440369}, {0.9345089, 0.03432379}, {0.9616090, 0.01836120}};
  const double to_exact_quantile = 1.959963984540054 / 1.96;  // s2cbam's intervals use 1.96, as the paper
  for (size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    check_printed(e.users[i].value, users[i][0], 7);
    check_printed(e.users[i].ci95 * to_exact_quantile, users[i][1], 8);
    check_printed(e.producers[i].value, producers[i][0], 7);
    check_printed(e.producers[i].ci95 * to_exact_quantile, producers[i][1], 8);
  }
  check_printed(e.overall.value, 0.95, 2);  // as printed: 0.95 +- 0.02
  check_printed(e.overall.ci95, 0.02, 2);
  check_printed(e.overall.value, 0.9465119, 7);
  // p. 54, right: the estimated area of each class in hectares, ± 95% CI.
  const double areas[4][2] = {{21158, 6158}, {11686, 3756}, {285770, 15510}, {581386, 16282}};
  for (size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    check_printed(e.area_ha[i].value, areas[i][0], 0);
    check_printed(e.area_ha[i].ci95, areas[i][1], 0);
  }
  // The estimated areas share out the whole map, and the proportions sum to one.
  double area = 0, proportion = 0;
  for (const Estimate& a : e.area_ha) area += a.value;
  for (const double p : e.proportions) proportion += p;
  CHECK(area == doctest::Approx(900000.0).epsilon(1e-12));
  CHECK(proportion == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(e.mapped_area_ha[0] == doctest::Approx(18000.0));
}

TEST_CASE("a class with no reference point has no producer's accuracy, and the map's own accuracy is exact") {
  StratifiedSample s{{"a", "b"}, {300, 100}, {10, 0, 0, 5}, 0.01};
  const AreaEstimates e = estimate_areas(s, "perfect");
  CHECK(e.overall.value == 1.0);
  CHECK(e.overall.ci95 == 0.0);
  CHECK(e.area_ha[0].value == doctest::Approx(3.0));
  CHECK(e.area_ha[1].value == doctest::Approx(1.0));
  s.counts = {10, 0, 5, 0};  // class b is never the reference
  const AreaEstimates f = estimate_areas(s, "no b");
  CHECK(std::isnan(f.producers[1].value));
  CHECK(f.users[1].value == 0.0);
  CHECK(f.area_ha[1].value == 0.0);
}

TEST_CASE("a stratum with mapped area and fewer than two points is an error naming it and the file") {
  StratifiedSample s = olofsson_table_8();
  s.counts[4] = 0, s.counts[5] = 1, s.counts[6] = 0, s.counts[7] = 0;  // forest gain: one point
  CHECK_THROWS_WITH_AS(
      estimate_areas(s, "points.csv"),
      doctest::Contains("points.csv: stratum 'Forest gain' (150000 mapped pixels) has 1 sample"), s2::Error);
  s.counts[5] = 0;
  CHECK_THROWS_WITH_AS(estimate_areas(s, "points.csv"), doctest::Contains("has 0 sample points"), s2::Error);
  s.stratum_pixels[1] = 0;  // a class the map does not show needs no point
  CHECK_NOTHROW(estimate_areas(s, "points.csv"));
}

TEST_CASE("the sample size follows Olofsson et al. 2014 equation 13 and their allocation for rare classes") {
  // Their example: expected user's accuracies 0.7, 0.6, 0.9, 0.95 and a target standard error of 0.01
  // for the overall accuracy give n = 641; 75 points go to each rare class, the rest in proportion.
  const SampleDesign d = design_sample({200000, 150000, 3200000, 6450000}, {0.7, 0.6, 0.9, 0.95}, 0.01, 75);
  CHECK(d.equation_13 == 641);
  CHECK(d.per_stratum == std::vector<int64_t>{75, 75, 163, 328});
  CHECK(d.total() == 641);
  // Without a minimum that binds, the allocation is proportional and keeps the total.
  const SampleDesign p = design_sample({500, 300, 200}, {0.8, 0.8, 0.8}, 0.02, 2);
  CHECK(p.equation_13 == 400);  // (0.4 / 0.02)^2
  CHECK(p.per_stratum == std::vector<int64_t>{200, 120, 80});
  // A stratum smaller than its share gets all its pixels; an empty class gets none.
  const SampleDesign small = design_sample({1000, 3, 0}, {0.5, 0.5, 0.5}, 0.05, 10);
  CHECK(small.per_stratum[1] == 3);
  CHECK(small.per_stratum[2] == 0);
  CHECK(small.per_stratum[0] == 97);  // eq. 13 asks for 100; class 2 holds only 3 pixels
  CHECK_THROWS_WITH_AS(design_sample({10, 10}, {0.5, 1.5}, 0.01, 5),
                       doctest::Contains("expected user's accuracy must be in (0, 1], got 1.5"), s2::Error);
}
