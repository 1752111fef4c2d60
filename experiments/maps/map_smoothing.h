#pragma once
// Bayesian smoothing of a map's class probabilities, in the manner of R sits' sits_smooth (Camara et
// al., the sits book, "Bayesian smoothing"): per pixel and class, the logit x of the probability is a
// noisy observation of the true logit with variance `smoothness` (sigma^2); the prior is the mean m
// and variance s^2 of the logits of the most probable `neigh_fraction` of its window's pixels. The
// posterior mean (s^2 x + sigma^2 m) / (s^2 + sigma^2) keeps the pixel's own value where the
// neighbourhood is mixed (large s^2) and pulls it to its neighbours where they agree (small s^2), so
// isolated pixels join their field while field edges stay.
#include <cstdint>
#include <string>
#include <vector>

#include "data/raster_series.h"

namespace s2::experiments {

struct SmoothingOptions {
  // sits_smooth's defaults (sits 1.5): a 9 x 9 window, the upper half of it, smoothness 20.
  int64_t window = 9;           // odd, pixels a side
  double neigh_fraction = 0.5;  // share of the window's valid pixels, the most probable first
  double smoothness = 20;       // sigma^2, the variance of the logit of a pixel's probability
};

// Smooths `inner` of a [class][pixel] probability block covering `block` (which holds `inner` and up to
// window / 2 pixels around it; -1 = no data). Returns [class][pixel of inner], renormalised to sum to 1;
// no-data pixels stay -1 and never enter a neighbourhood.
std::vector<float> smooth_probabilities(const std::vector<float>& probabilities, int64_t classes,
                                        const data::Window& block, const data::Window& inner,
                                        const SmoothingOptions& options);

// Reads the probability cube at `cube_path` block by block (with the window's halo) and writes the
// smoothed class map with its confidence layers as `output` (<stem>.tif and <stem>_confidence.tif,
// Cloud Optimised GeoTIFFs when asked) and its QGIS style.
void smooth_map(const std::string& cube_path, const std::string& output, const SmoothingOptions& options,
                bool cloud_optimised = false, int64_t block_size = 256);

}  // namespace s2::experiments
