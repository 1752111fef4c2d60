#pragma once
// The labels of a model's date x band input plane, for figures and tables: the dates of the training
// season (raster series) or date indices (pixel tables), and the config's band names.
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/cli/config.h"

namespace s2::experiments {

// The model's regular dates: for raster series, the training season's (its acquisitions, or the config's
// season_start and season_end), as training resampled them; for pixel tables, "date 1", "date 2", ...
std::vector<std::string> date_labels(const ExperimentConfig& config, int64_t timesteps);
// The config's band names when it names all `bands`, else "band 1", "band 2", ... for the unnamed ones.
std::vector<std::string> band_labels(const ExperimentConfig& config, int64_t bands);

}  // namespace s2::experiments
