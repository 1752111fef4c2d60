#include "experiments/cli/config.h"

#include <cpptoml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "experiments/cli/toml_text.h"
#include "framework/error.h"

namespace s2::experiments {

namespace {
// Reads typed values from one TOML table and remembers which keys were consumed.
class Section {
 public:
  Section(std::shared_ptr<cpptoml::table> table, std::string name, std::string path)
      : table_(std::move(table)), name_(std::move(name)), path_(std::move(path)) {}

  template <typename T>
  void read(const char* key, T& target) {
    known_.insert(key);
    if (!table_ || !table_->contains(key)) return;
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
      auto v = table_->get_as<T>(key);
      S2_CHECK(static_cast<bool>(v), "{}: [{}] {} has the wrong type", path_, name_, key);
      target = *v;
    } else if constexpr (std::is_integral_v<T>) {
      auto v = table_->get_as<int64_t>(key);
      S2_CHECK(static_cast<bool>(v), "{}: [{}] {} must be an integer", path_, name_, key);
      target = static_cast<T>(*v);
    } else if constexpr (std::is_floating_point_v<T>) {
      auto v = table_->get_as<double>(key);
      auto i = table_->get_as<int64_t>(key);
      S2_CHECK(v || i, "{}: [{}] {} must be a number", path_, name_, key);
      target = static_cast<T>(v ? *v : static_cast<double>(*i));
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      auto t = table_->get_table(key);
      S2_CHECK(static_cast<bool>(t), "{}: [{}] {} must be a table of names", path_, name_, key);
      for (const auto& [k, v] : *t) {
        auto value = t->get_as<std::string>(k);
        S2_CHECK(static_cast<bool>(value), "{}: [{}] {}.{} must be a string", path_, name_, key, k);
        target[k] = *value;
      }
    } else {
      using Elem = typename T::value_type;
      using Read = std::conditional_t<std::is_integral_v<Elem>, int64_t, Elem>;
      auto v = table_->get_array_of<Read>(key);
      if constexpr (std::is_floating_point_v<Elem>) {
        if (!v) {  // numbers written as integers, [0, 10000]
          auto integers = table_->get_array_of<int64_t>(key);
          S2_CHECK(static_cast<bool>(integers), "{}: [{}] {} must be an array of numbers", path_, name_, key);
          target.assign(integers->begin(), integers->end());
          return;
        }
      }
      S2_CHECK(static_cast<bool>(v), "{}: [{}] {} must be an array", path_, name_, key);
      target.assign(v->begin(), v->end());
    }
  }

  // A named choice (an enum in the code), read as its name: `parse` turns the name into the value and
  // rejects an unknown one, and its error then names this file and section.
  template <typename E, typename Parse, typename Name>
  void read_choice(const char* key, E& target, Parse parse, Name name) {
    std::string text = name(target);
    read(key, text);
    try {
      target = parse(text);
    } catch (const Error& e) {
      fail("{}: [{}] {}", path_, name_, e.what());
    }
  }

  // A number (or an array of numbers) that must be finite and within [lo, hi], checked where it is read
  // so that every config, and every checkpoint's embedded config, obeys the same ranges.
  template <typename T>
  void read(const char* key, T& target, double lo, double hi) {
    read(key, target);
    if (!table_ || !table_->contains(key)) return;
    auto check = [&](double v) {
      S2_CHECK(std::isfinite(v) && v >= lo && v <= hi, "{}: [{}] {} must be in [{}, {}], got {}", path_,
               name_, key, lo, hi, v);
    };
    if constexpr (std::is_arithmetic_v<T>) {
      check(static_cast<double>(target));
    } else {
      for (const auto& v : target) check(static_cast<double>(v));
    }
  }

  // An array of tables ([[name.key]]), or null when absent.
  std::shared_ptr<cpptoml::table_array> table_array(const char* key) {
    known_.insert(key);
    if (!table_ || !table_->contains(key)) return nullptr;
    auto array = table_->get_table_array(key);
    S2_CHECK(static_cast<bool>(array), "{}: [{}] {} must be an array of tables ([[{}.{}]])", path_, name_,
             key, name_, key);
    return array;
  }

  bool has(const char* key) const { return table_ && table_->contains(key); }

  void reject_unknown() const {
    if (!table_) return;
    for (const auto& [key, value] : *table_) {
      S2_CHECK(known_.count(key) > 0, "{}: unknown key '{}' in [{}] (known: {})", path_, key, name_,
               fmt::join(known_, ", "));
    }
  }

 private:
  std::shared_ptr<cpptoml::table> table_;
  std::string name_, path_;
  std::set<std::string> known_;
};
}  // namespace

// The [train] keys that a selection candidate may set too (seeds belong to the run, not a candidate).
void read_training_keys(Section& s, TrainOptions& t) {
  s.read("epochs", t.epochs, 1, 100000);
  s.read("batch_size", t.batch_size, 2, 65536);
  s.read("learning_rate", t.learning_rate, 1e-12, 10);
  s.read("weight_decay", t.weight_decay, 0, 10);
  s.read("adam_eps", t.adam_eps, 1e-30, 1);
  s.read("class_weighted_loss", t.class_weighted_loss);
  s.read("loss_reduction", t.loss_reduction);
  s.read("label_smoothing", t.label_smoothing, 0, 0.999);
  s.read("early_stopping_patience", t.early_stopping_patience, 0, 100000);
  s.read("best_epoch_by", t.best_epoch_by);
  s.read("shards", t.shards, 1, 4096);
}

void read_augment_keys(Section& s, data::AugmentOptions& a) {
  s.read("max_shift", a.max_shift, 0, 10000);
  s.read("noise_std", a.noise_std, 0, 100);
  s.read("drop_dates", a.drop_dates, 0, 0.999);
  s.read("band_offset_std", a.band_offset_std, 0, 100);
}

void check_training(const TrainOptions& t, const std::string& path, const std::string& where) {
  S2_CHECK(t.epochs > 0 && t.batch_size >= 2, "{}: {} needs epochs > 0 and batch_size >= 2", path, where);
  S2_CHECK(t.batch_size >= 2 * t.shards,
           "{}: {} splits batches of {} into {} shards; batch norm needs batch_size >= 2 x shards", path,
           where, t.batch_size, t.shards);
  S2_CHECK(t.best_epoch_by == "val_loss" || t.best_epoch_by == "val_accuracy",
           "{}: {} best_epoch_by '{}' is unknown (val_loss or val_accuracy)", path, where, t.best_epoch_by);
  S2_CHECK(t.loss_reduction == "weighted_mean" || t.loss_reduction == "batch_mean",
           "{}: {} loss_reduction '{}' is unknown (weighted_mean or batch_mean)", path, where,
           t.loss_reduction);
}

// The [model] keys that are training conventions (issue #20) or regularisation rather than architecture,
// which a selection candidate may set too. Batch-norm keys apply to whichever model the config builds.
void read_model_settings(Section& s, models::ModelConfig& m) {
  s.read_choice("init", m.cbam.init, models::parse_weight_init, models::weight_init_name);
  s.read("stem_bias", m.cbam.stem_bias);
  s.read("mlp_bias", m.cbam.mlp_bias);
  BatchNormOptions& bn = m.cbam.batch_norm;
  s.read("bn_momentum", bn.momentum, 0, 1);
  s.read("bn_eps", bn.eps, 0, 1);
  s.read("bn_unbiased_running_var", bn.unbiased_running_var);
  m.tempcnn.batch_norm = bn;
  // Regularisation, which small data sets may want stronger (issue #21): TempCNN's and TempCBAM's dropout.
  s.read("dropout", m.tempcnn.dropout, 0, 0.999);
}

// [select] with [[select.candidate]] tables: each candidate starts from [train] and [augment] and
// overrides some of their keys.
void read_selection(const std::shared_ptr<cpptoml::table>& table, ExperimentConfig& c,
                    const std::string& path) {
  Section select(table, "select", path);
  select.read("refit", c.select.refit);
  const auto candidates = select.table_array("candidate");
  select.reject_unknown();
  if (!candidates) return;
  for (const auto& t : *candidates) {
    SelectionCandidate candidate{fmt::format("candidate{}", c.select.candidates.size() + 1), c.train, {}};
    const std::string where = fmt::format("select.candidate {}", c.select.candidates.size() + 1);
    Section s(t, where, path);
    s.read("name", candidate.name);
    read_training_keys(s, candidate.train);
    read_augment_keys(s, candidate.train.augment);
    models::ModelConfig checked = c.model;  // reads (and so checks) the model settings now, once
    read_model_settings(s, checked);
    s.reject_unknown();
    candidate.model_settings = [t, where, path](models::ModelConfig& m) {
      Section again(t, where, path);
      read_model_settings(again, m);
    };
    check_training(candidate.train, path, "[" + where + "]");
    for (const auto& other : c.select.candidates)
      S2_CHECK(other.name != candidate.name, "{}: two selection candidates are named '{}'", path,
               candidate.name);
    c.select.candidates.push_back(std::move(candidate));
  }
  S2_CHECK(c.split.validation_fraction > 0,
           "{}: [select] chooses by validation accuracy, so [split] validation_fraction must be > 0", path);
}

ExperimentConfig load_config(const std::string& path) {
  std::ifstream in(path);
  S2_CHECK(in.good(), "cannot read config '{}': the file cannot be opened", path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse_config(text, path);
}

ExperimentConfig parse_config(const std::string& text, const std::string& path) {
  const auto root = parse_toml_text(text, fmt::format("cannot read config '{}'", path));
  for (const auto& [key, value] : *root) {
    S2_CHECK(key == "data" || key == "split" || key == "model" || key == "train" || key == "augment" ||
                 key == "select" || key == "reference" || key == "ablate",
             "{}: unknown section or key '{}' (known sections: data, split, model, train, augment, select, "
             "reference, ablate)",
             path, key);
  }
  ExperimentConfig c;
  c.path = path;
  c.text = text;

  Section data(root->get_table("data"), "data", path);
  data.read("format", c.data.format);
  data.read("root", c.data.root);
  data.read("train", c.data.train);
  data.read("test", c.data.test);
  data.read("train_labels", c.data.train_labels);
  data.read("test_labels", c.data.test_labels);
  data.read("train_groups", c.data.train_groups);
  data.read("test_groups", c.data.test_groups);
  data.read("train_dates", c.data.train_dates);
  data.read("test_dates", c.data.test_dates);
  data.read("train_coords", c.data.train_coords);
  data.read("test_coords", c.data.test_coords);
  if (data.has("nodata")) {
    double nodata = 0;
    data.read("nodata", nodata, -1e300, 1e300);
    c.data.nodata = nodata;
  }
  if (data.has("valid_range")) {
    std::vector<double> range;
    data.read("valid_range", range, -1e300, 1e300);
    S2_CHECK(range.size() == 2 && range[0] < range[1],
             "{}: [data] valid_range must be [lowest, highest] with lowest < highest, got [{}]", path,
             fmt::join(range, ", "));
    c.data.valid_range = data::ValidRange{.lowest = range[0], .highest = range[1]};
  }
  data.read("bands", c.data.bands, 1, 1000);
  data.read("band_names", c.data.band_names);
  for (size_t i = 0; i < c.data.band_names.size(); ++i) {
    S2_CHECK(!c.data.band_names[i].empty(), "{}: [data] band_names has an empty name (band {})", path, i + 1);
    for (size_t j = 0; j < i; ++j)
      S2_CHECK(c.data.band_names[j] != c.data.band_names[i], "{}: [data] band_names names '{}' twice", path,
               c.data.band_names[i]);
  }
  data.read("timesteps", c.data.timesteps, 0, 100000);
  data.read("classes", c.data.classes);
  S2_CHECK(!data.has("classes") || c.data.classes.size() >= 2,
           "{}: [data] classes must name at least 2 classes (or be left out to take the data's own), got {}",
           path, c.data.classes.size());
  for (size_t i = 0; i < c.data.classes.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      S2_CHECK(c.data.classes[i] != c.data.classes[j], "{}: [data] classes names '{}' twice", path,
               c.data.classes[i]);
    }
  }
  data.read("merge", c.data.merge);
  data.read("min_class_pixels", c.data.min_class_pixels, 0, 1e12);
  data.read("min_class_parcels", c.data.min_class_parcels, 0, 1e12);
  data.read("season_start", c.data.season_start);
  data.read("season_end", c.data.season_end);
  data.read("scl_band", c.data.scl_band);
  data.read("masked_scl_classes", c.data.masked_scl_classes, 0, 255);
  data.read("min_clear_observations", c.data.min_clear_observations, 1, 100000);
  data.reject_unknown();
  S2_CHECK(c.data.format == "pixel_csv" || c.data.format == "raster_series" || c.data.format == "npy",
           "{}: [data] format '{}' is not supported (pixel_csv, raster_series or npy)", path, c.data.format);
  S2_CHECK(c.data.format != "npy" || !c.data.train_labels.empty(), "{}: [data] npy needs train_labels", path);
  S2_CHECK(!c.data.train.empty(), "{}: [data] train is required", path);
  S2_CHECK(
      c.data.format != "raster_series" || (c.data.train_coords.empty() && c.data.test_coords.empty()),
      "{}: [data] train_coords/test_coords are for tables; a raster's pixels have their coordinates from "
      "its georeferencing",
      path);
  S2_CHECK(c.data.format == "pixel_csv" || c.data.timesteps >= 2,
           "{}: [data] timesteps (the regular dates to resample to, 2 or more) is required for format '{}'",
           path, c.data.format);

  Section split(root->get_table("split"), "split", path);
  split.read("kind", c.split.kind);
  split.read("folds", c.split.folds, 2, 1000);
  split.read("test_fraction", c.split.test_fraction, 0.001, 0.999);
  split.read("validation_fraction", c.split.validation_fraction, 0, 0.999);
  split.read("block_size", c.split.block_size, 1, 1000000);
  split.read("max_pixels_per_parcel", c.split.max_pixels_per_parcel, 0, 1e12);
  split.read("join_within_m", c.split.join_within_m, 0, 1e7);
  split.reject_unknown();
  const auto& kind = c.split.kind;
  S2_CHECK(kind == "given" || kind == "grouped" || kind == "stratified" || kind == "grouped_kfold" ||
               kind == "block_kfold" || kind == "leave_one_group_out",
           "{}: [split] kind '{}' is unknown (given, grouped, stratified, grouped_kfold, block_kfold or "
           "leave_one_group_out)",
           path, kind);
  S2_CHECK(kind != "given" || !c.data.test.empty(), "{}: [split] kind 'given' needs [data] test", path);
  S2_CHECK(c.split.validation_fraction >= 0 && c.split.validation_fraction < 1,
           "{}: [split] validation_fraction must be in [0, 1)", path);

  Section model(root->get_table("model"), "model", path);
  model.read("kind", c.model.kind);
  auto& cbam = c.model.cbam;
  model.read_choice("attention", cbam.attention, models::parse_attention, models::attention_name);
  model.read("stem_width", cbam.stem_width, 1, 4096);
  model.read("stage_widths", cbam.stage_widths, 1, 4096);
  model.read("units_per_stage", cbam.units_per_stage, 1, 64);
  model.read("residual_skip", cbam.residual_skip);
  model.read("reduction", cbam.reduction, 1, 4096);
  model.read("spatial_kernel", cbam.spatial_kernel, 1, 63);
  model.read_choice("geo", cbam.geo, models::parse_geo_attention, models::geo_attention_name);
  model.read("geo_scales", cbam.location.scales, 1, 64);
  model.read("geo_min_wavelength_km", cbam.location.min_wavelength_km, 0.001, 40000);
  read_model_settings(model, c.model);
  auto& tempcnn = c.model.tempcnn;
  model.read("filters", tempcnn.filters, 1, 4096);
  model.read("kernel_size", tempcnn.kernel_size, 1, 63);
  model.read("conv_layers", tempcnn.conv_layers, 1, 64);
  model.read("dense_units", tempcnn.dense_units, 1, 65536);
  model.read_choice("attention_join", tempcnn.attention_join, models::parse_attention_join,
                    models::attention_join_name);
  auto& trees = c.model.trees;
  model.read("trees", trees.trees, 1, 100000);
  model.read("tree_depth", trees.max_depth, 0, 64);
  model.read("tree_learning_rate", trees.learning_rate, 1e-6, 1);
  model.read("tree_subsample", trees.subsample, 0.01, 1);
  model.reject_unknown();
  const auto& model_kind = c.model.kind;
  S2_CHECK(model_kind == "cbam" || model_kind == "plain_cnn" || model_kind == "tempcnn" ||
               model_kind == "tempcbam" || model_kind == "rf" || model_kind == "gbdt",
           "{}: [model] kind '{}' is unknown (expected cbam, plain_cnn, tempcnn, tempcbam, rf or gbdt)", path,
           model_kind);

  Section train(root->get_table("train"), "train", path);
  read_training_keys(train, c.train);
  train.read("seed", c.train.seed);
  std::vector<int64_t> seeds(c.seeds.begin(), c.seeds.end());
  train.read("seeds", seeds);
  c.seeds.assign(seeds.begin(), seeds.end());
  train.reject_unknown();
  check_training(c.train, path, "[train]");

  Section augment(root->get_table("augment"), "augment", path);
  read_augment_keys(augment, c.train.augment);
  augment.reject_unknown();

  read_selection(root->get_table("select"), c, path);

  Section reference(root->get_table("reference"), "reference", path);
  reference.read("source", c.reference.source);
  reference.read("overall_accuracy", c.reference.overall_accuracy, -1, 1);
  reference.read("kappa", c.reference.kappa, -1, 1);
  reference.read("macro_f1", c.reference.macro_f1, -1, 1);
  reference.read("tolerance", c.reference.tolerance, 0, 1);
  reference.reject_unknown();

  Section ablate(root->get_table("ablate"), "ablate", path);
  ablate.read("variants", c.ablate_variants);
  ablate.reject_unknown();
  return c;
}

std::string resolve_data_path(const ExperimentConfig& config, const std::string& path) {
  namespace fs = std::filesystem;
  fs::path root = config.data.root;
  if (root.is_relative()) root = fs::path(config.path).parent_path() / root;
  const fs::path p = path;
  return (p.is_absolute() ? p : root / p).lexically_normal().string();
}

}  // namespace s2::experiments
