#include "experiments/explain/axes.h"

#include <fmt/format.h>

#include "data/raster_series.h"
#include "data/temporal.h"
#ifdef S2_HAVE_GDAL
#include "experiments/maps/map_prediction.h"
#endif
#include "experiments/training/experiment.h"

namespace s2::experiments {

std::vector<std::string> date_labels(const ExperimentConfig& config, int64_t timesteps) {
  std::vector<std::string> labels;
#ifdef S2_HAVE_GDAL
  if (config.data.format == "raster_series") {
    const std::string folder = series_folder(resolve_data_path(config, config.data.train));
    for (const int32_t day : data::season_days(data::list_acquisitions(folder), config.data.season_start,
                                               config.data.season_end, timesteps, folder)) {
      labels.push_back(data::day_text(day));
    }
    return labels;
  }
#endif
  for (int64_t t = 1; t <= timesteps; ++t) labels.push_back(fmt::format("date {}", t));
  return labels;
}

std::vector<std::string> band_labels(const ExperimentConfig& config, int64_t bands) {
  std::vector<std::string> labels;
  if (static_cast<int64_t>(config.data.band_names.size()) == bands) labels = config.data.band_names;
  for (auto b = static_cast<int64_t>(labels.size()); b < bands; ++b)
    labels.push_back(fmt::format("band {}", b + 1));
  return labels;
}

}  // namespace s2::experiments
