#pragma once
// Labelled pixels of an image time series folder as a PixelDataset: the folder holds s2/ (per-date
// GeoTIFFs), labels.tif and legend.csv. Pixels are cloud-masked, resampled to a regular grid of dates,
// and grouped by parcel.
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/raster_series.h"

namespace s2::data {

struct RasterDatasetOptions {
  SeriesOptions series;
  int64_t timesteps = 36;
  std::string season_start, season_end;  // YYYY-MM-DD; default: first and last acquisition
  int64_t min_clear_observations = 1;    // pixels with fewer clear dates are dropped
  // Class names in class-index order, as the legend names them (after merging). Empty: every legend
  // class that has pixels, in legend order.
  std::vector<std::string> classes;
  bool require_classes = true;  // a listed class missing from the legend is an error (else: no pixels)
  std::map<std::string, std::string> merge;  // legend name -> class name
  int64_t min_class_pixels = 0;              // with `classes` empty, drop classes smaller than this
};

struct RasterDatasetReport {
  int64_t labelled = 0, no_clear_observation = 0, class_not_selected = 0;
};

PixelDataset read_raster_dataset(const std::string& folder, const RasterDatasetOptions& options,
                                 RasterDatasetReport* report = nullptr);

}  // namespace s2::data
