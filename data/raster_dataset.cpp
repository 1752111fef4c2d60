#include "data/raster_dataset.h"

#include <algorithm>
#include <filesystem>

#include "data/gdal_util.h"
#include "data/temporal.h"
#include "framework/error.h"

namespace s2::data {

namespace {
// Class index per legend code, after merging and selection; -1 = not used.
std::map<int32_t, int32_t> class_of_code(const LabelRaster& labels, const RasterDatasetOptions& o,
                                         std::vector<std::string>& class_names, const std::string& folder) {
  auto merged = [&](const std::string& name) {
    const auto it = o.merge.find(name);
    return it == o.merge.end() ? name : it->second;
  };
  // A merge naming no legend class is a typo that would silently merge nothing.
  std::vector<std::string> legend_names;
  for (const auto& [code, name] : labels.legend) legend_names.push_back(name);
  for (const auto& [from, to] : o.merge) {
    S2_CHECK(std::find(legend_names.begin(), legend_names.end(), from) != legend_names.end(),
             "'{}': [data] merge names '{}', which is not in the legend (it has: {})", folder, from,
             fmt::join(legend_names, ", "));
  }
  class_names = o.classes;
  if (class_names.empty()) {
    std::map<std::string, int64_t> counts;
    for (int32_t code : labels.codes) {
      if (code != 0) ++counts[merged(labels.legend.at(code))];
    }
    for (const auto& [code, name] : labels.legend) {
      const std::string m = merged(name);
      if (counts[m] >= std::max<int64_t>(o.min_class_pixels, 1) &&
          std::find(class_names.begin(), class_names.end(), m) == class_names.end()) {
        class_names.push_back(m);
      }
    }
  }
  S2_CHECK(class_names.size() >= 2, "'{}': fewer than 2 classes selected ({})", folder,
           fmt::join(class_names, ", "));
  std::map<int32_t, int32_t> out;
  for (const auto& [code, name] : labels.legend) {
    const auto it = std::find(class_names.begin(), class_names.end(), merged(name));
    out[code] = it == class_names.end() ? -1 : static_cast<int32_t>(it - class_names.begin());
  }
  return out;
}
}  // namespace

PixelDataset read_raster_dataset(const std::string& folder, const RasterDatasetOptions& o,
                                 RasterDatasetReport* report) {
  namespace fs = std::filesystem;
  const LabelRaster labels =
      read_labels((fs::path(folder) / "labels.tif").string(), (fs::path(folder) / "legend.csv").string());
  const RasterSeries series = read_raster_series((fs::path(folder) / "s2").string(), o.series);
  const std::string diff = series.grid.difference(labels.grid);
  S2_CHECK(diff.empty(), "'{}': labels.tif does not match the image grid: {}", folder, diff);
  const RegularSeries regular =
      regularise(series, season_days(series.acquisitions, o.season_start, o.season_end, o.timesteps, folder));
  const std::vector<int64_t> parcels = read_parcels(folder, labels);

  PixelDataset d;
  d.source = folder;
  d.timesteps = regular.steps;
  d.bands = regular.bands;
  const auto classes = class_of_code(labels, o, d.class_names, folder);
  for (const auto& name : o.require_classes ? o.classes : std::vector<std::string>{}) {
    bool present = false;
    for (const auto& [code, legend_name] : labels.legend) {
      const auto m = o.merge.count(legend_name) ? o.merge.at(legend_name) : legend_name;
      present = present || m == name;
    }
    S2_CHECK(present, "'{}': class '{}' from the config is not in its legend", folder, name);
  }
  RasterDatasetReport r;
  const int64_t per = regular.steps * regular.bands;
  for (int64_t p = 0; p < series.pixels(); ++p) {
    const int32_t code = labels.codes[static_cast<size_t>(p)];
    if (code == 0) continue;
    ++r.labelled;
    const int32_t cls = classes.at(code);
    if (cls < 0) {
      ++r.class_not_selected;
      continue;
    }
    if (regular.clear_counts[static_cast<size_t>(p)] < std::max<int64_t>(o.min_clear_observations, 1)) {
      ++r.no_clear_observation;
      continue;
    }
    d.values.insert(d.values.end(), regular.values.begin() + p * per, regular.values.begin() + (p + 1) * per);
    d.labels.push_back(cls);
    d.groups.push_back(parcels[static_cast<size_t>(p)]);
    d.xs.push_back(static_cast<int32_t>(p % labels.grid.width));
    d.ys.push_back(static_cast<int32_t>(p / labels.grid.width));
  }
  S2_CHECK(d.size() > 0, "'{}': no labelled pixel with a clear observation of a selected class", folder);
  LatLon where = wgs84_pixel_centres(labels.grid, d.xs, d.ys, folder);
  d.lats = std::move(where.lats), d.lons = std::move(where.lons);
  if (report != nullptr) *report = r;
  return d;
}

}  // namespace s2::data
