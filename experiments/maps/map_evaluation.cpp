#include "experiments/maps/map_evaluation.h"

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "data/map_writer.h"
#include "experiments/maps/map_sample.h"
#include "framework/error.h"

namespace s2::experiments {

MapEvaluation evaluate_map(const std::string& map_path, const std::string& labels_path,
                           const std::string& legend_path, const std::map<std::string, std::string>& merge) {
  return evaluate_map(data::read_class_map(map_path), map_path, labels_path, legend_path, merge);
}

StratifiedSample labelled_pixels_as_sample(const MapEvaluation& e, const data::ClassMap& map,
                                           double pixel_area_ha) {
  const size_t k = map.class_names.size();
  StratifiedSample s{map.class_names, stratum_pixels(map), std::vector<int64_t>(k * k, 0), pixel_area_ha};
  for (size_t truth = 0; truth < k; ++truth) {  // the confusion matrix is [truth][mapped]
    for (size_t mapped = 0; mapped < k; ++mapped)
      s.counts[mapped * k + truth] = e.pixels.confusion[truth][mapped];
  }
  return s;
}

MapEvaluation evaluate_map(const data::ClassMap& map, const std::string& map_path,
                           const std::string& labels_path, const std::string& legend_path,
                           const std::map<std::string, std::string>& merge) {
  const data::LabelRaster labels = data::read_labels(labels_path, legend_path);
  const std::string diff = map.grid.difference(labels.grid);
  S2_CHECK(diff.empty(), "'{}' is not on the grid of the labels '{}': {}", map_path, labels_path, diff);
  MapEvaluation e;
  e.class_names = map.class_names;
  const auto k = static_cast<int64_t>(map.class_names.size());
  // Label code -> the map's class index, or -1 for a class the map does not know.
  std::unordered_map<int32_t, int32_t> class_of_code;
  for (const auto& [code, legend_name] : labels.legend) {
    const std::string name = merge.count(legend_name) > 0 ? merge.at(legend_name) : legend_name;
    const auto it = std::find(map.class_names.begin(), map.class_names.end(), name);
    class_of_code[code] =
        it == map.class_names.end() ? -1 : static_cast<int32_t>(it - map.class_names.begin());
  }
  const std::vector<int64_t> parcels =
      data::read_parcels(std::filesystem::path(labels_path).parent_path().string(), labels);
  std::vector<int32_t> truth, predicted;
  std::unordered_map<int64_t, std::pair<int32_t, std::vector<int64_t>>> votes;  // parcel -> (label, votes)
  for (size_t p = 0; p < labels.codes.size(); ++p) {
    if (labels.codes[p] == 0) continue;
    const int32_t cls = class_of_code.at(labels.codes[p]);
    if (cls < 0) {
      ++e.other_label_pixels;
      continue;
    }
    ++e.labelled_pixels;
    auto& [parcel_label, parcel_votes] = votes[parcels[p]];
    parcel_label = cls;
    parcel_votes.resize(static_cast<size_t>(k));
    if (map.classes[p] == 0) {
      ++e.unmapped_pixels;
      continue;
    }
    truth.push_back(cls);
    predicted.push_back(map.classes[p] - 1);
    ++parcel_votes[static_cast<size_t>(map.classes[p] - 1)];
  }
  S2_CHECK(!truth.empty(), "'{}' and '{}' share no mapped, labelled pixel of the map's classes", map_path,
           labels_path);
  e.pixels = compute_metrics(truth, predicted, k);
  std::vector<int32_t> parcel_truth, parcel_predicted;
  for (const auto& [id, entry] : votes) {
    ++e.parcels_total;
    const auto& v = entry.second;
    const auto best = std::max_element(v.begin(), v.end());  // ties: the lower class index
    if (*best == 0) {
      ++e.parcels_unmapped;
      continue;
    }
    parcel_truth.push_back(entry.first);
    parcel_predicted.push_back(static_cast<int32_t>(best - v.begin()));
  }
  e.parcels = compute_metrics(parcel_truth, parcel_predicted, k);
  return e;
}

}  // namespace s2::experiments
