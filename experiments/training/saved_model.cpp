#include "experiments/training/saved_model.h"

#include <filesystem>

#include "experiments/cli/toml_text.h"
#include "experiments/training/selection.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "models/factory.h"

namespace s2::experiments {

SavedModel saved_model_of(const Checkpoint& ck, const std::string& path, const std::string& config_anchor,
                          bool restore_weights) {
  SavedModel m;
  m.config = parse_config(ck.config, config_anchor.empty() ? path : config_anchor);
  const auto meta = parse_toml_text(ck.metadata, fmt::format("metadata of checkpoint '{}'", path));
  const auto timesteps = meta->get_as<int64_t>("timesteps");
  const auto bands = meta->get_as<int64_t>("bands");
  const auto classes = meta->get_array_of<std::string>("classes");
  const auto kind = meta->get_as<std::string>("model_kind");
  S2_CHECK(timesteps && bands && classes && kind,
           "checkpoint '{}': metadata lacks timesteps, bands, classes or "
           "model_kind (written by an older s2cbam?)",
           path);
  m.timesteps = *timesteps;
  m.bands = *bands;
  m.class_names = *classes;
  m.config.model.kind = *kind;
  if (const auto origin = meta->get_as<std::string>("imported_from")) m.origin = *origin;
  // A model trained as a selection candidate was built from that candidate's config.
  if (const auto candidate = meta->get_as<std::string>("candidate")) {
    m.config = with_candidate(m.config, find_candidate(m.config, *candidate));
  }
  m.model =
      models::make_model(m.config.model, m.timesteps, m.bands, static_cast<int64_t>(m.class_names.size()));
  if (restore_weights) m.model->restore(ck.with_prefix("model"), path);
  m.normaliser = data::BandNormaliser::from_state(ck.with_prefix("norm"), path);
  m.model->eval();
  return m;
}

SavedModel load_saved_model(const std::string& path, const std::string& config_anchor) {
  return saved_model_of(load_checkpoint(path), path, config_anchor, true);
}

void check_compatible(const SavedModel& m, const data::PixelDataset& d) {
  S2_CHECK(d.timesteps == m.timesteps && d.bands == m.bands,
           "'{}' has {} dates x {} bands, but the model was trained on {} x {}", d.source, d.timesteps,
           d.bands, m.timesteps, m.bands);
  S2_CHECK(d.class_names.empty() || d.class_names == m.class_names,
           "'{}' has classes ({}) that differ from the model's ({})", d.source,
           fmt::join(d.class_names, ", "), fmt::join(m.class_names, ", "));
}

DataFiles command_line_data(SavedModel& m, const std::string& values, const std::string& labels,
                            const std::string& groups, const std::string& coords) {
  namespace fs = std::filesystem;
  const auto absolute = [](const std::string& p) {
    return p.empty() ? p : fs::absolute(p).lexically_normal().string();
  };
  const fs::path v = values;
  if (v.extension() == ".npy") {
    m.config.data.format = "npy";
  } else if (v.extension() == ".csv") {
    m.config.data.format = "pixel_csv";
  } else if (fs::is_directory(v)) {
    m.config.data.format = "raster_series";
  }
  return {absolute(values), absolute(labels), absolute(groups), "", absolute(coords)};
}

data::PixelDataset load_for_model(const SavedModel& m, const DataFiles& files) {
  data::PixelDataset d = load_dataset(m.config, files, m.class_names, false);
  check_compatible(m, d);
  m.normaliser.apply(d);
  return d;
}

}  // namespace s2::experiments
