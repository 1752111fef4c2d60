#pragma once
// Accuracy of a class map against a label raster: per pixel, and per parcel (a connected region of
// one label) by the majority class of its mapped pixels.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/map_writer.h"
#include "experiments/maps/area_estimation.h"
#include "experiments/report/metrics.h"

namespace s2::experiments {

struct MapEvaluation {
  std::vector<std::string> class_names;  // the map's classes
  Metrics pixels, parcels;
  int64_t labelled_pixels = 0;     // with a label whose class the map knows
  int64_t unmapped_pixels = 0;     // such pixels the map left as no data
  int64_t other_label_pixels = 0;  // labels of classes the map does not have
  int64_t parcels_total = 0, parcels_unmapped = 0;
};

// `merge` maps legend names to class names, as in the training config.
MapEvaluation evaluate_map(const data::ClassMap& map, const std::string& map_path,
                           const std::string& labels_path, const std::string& legend_path,
                           const std::map<std::string, std::string>& merge = {});
MapEvaluation evaluate_map(const std::string& map_path, const std::string& labels_path,
                           const std::string& legend_path,
                           const std::map<std::string, std::string>& merge = {});

// The labelled, mapped pixels of an evaluation as a stratified sample of the map (strata = mapped
// classes), for area estimates. They are all the labelled pixels rather than a random sample, so the
// intervals hold only as far as the labelled area stands for the mapped one.
StratifiedSample labelled_pixels_as_sample(const MapEvaluation& e, const data::ClassMap& map,
                                           double pixel_area_ha);

}  // namespace s2::experiments
