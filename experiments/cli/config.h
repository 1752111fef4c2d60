#pragma once
// Experiment configs: TOML files with [data], [split], [model], [train], [augment], [select],
// [reference] and [ablate] sections. Unknown sections or keys and values of the wrong type are errors that
// name the file and the key.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/raster_series.h"
#include "experiments/training/trainer.h"
#include "models/factory.h"

namespace s2::experiments {

struct DataConfig {
  // "pixel_csv", "raster_series" (a folder of s2/*.tif, labels.tif, legend.csv) or "npy" (values
  // (N, T, B) in train/test, labels in train_labels/test_labels, optional group ids in *_groups).
  std::string format = "pixel_csv";
  std::string root;  // relative paths below resolve against it; itself relative to the config file
  std::string train, test;
  std::string train_labels, test_labels, train_groups, test_groups;  // npy only
  // Tables (pixel_csv, npy): the acquisition dates, a text file of T YYYY-MM-DD lines or an .npy of
  // (N, T) YYYYMMDD per sample; empty = evenly spaced. With dates or gaps, the series are filled and
  // resampled as rasters are (data/gap_filling.h).
  std::string train_dates, test_dates;
  // Tables: where each sample is, a .csv of lat,lon per line (WGS84 degrees) or an (N, 2) .npy; a pixel
  // CSV may instead carry lat and lon columns. Location-aware models (Geo-CBAM) need them; rasters have
  // their pixel centres'.
  std::string train_coords, test_coords;
  std::optional<double> nodata;  // tables: a value meaning "not observed", besides NaN (e.g. 65535)
  // Tables and rasters: values outside [lo, hi], in the data's own units, are defects, not observations
  // (e.g. [0, 1] for reflectance): gaps, filled as NaN is. Rasters drop the pixel's whole date, as a
  // masked SCL class does.
  std::optional<data::ValidRange> valid_range;
  int64_t bands = 10;  // pixel_csv: bands per date
  std::vector<std::string> band_names{"B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"};
  int64_t timesteps = 0;  // regular dates to resample to; 0 keeps a table's own (rasters need it)
  // pixel_csv: the name of each label value. raster_series: the legend names to keep, in class order
  // (empty = all legend classes).
  std::vector<std::string> classes;
  std::map<std::string, std::string> merge;  // raster legend name -> class name
  int64_t min_class_pixels = 0, min_class_parcels = 0;
  std::string season_start, season_end;  // raster: default first and last acquisition
  std::string scl_band = "SCL";
  std::vector<int32_t> masked_scl_classes{0, 1, 3, 8, 9, 10, 11};
  int64_t min_clear_observations = 1;
};

struct SplitConfig {
  // "given": train and test files as they are. "grouped": one split by group (parcel or object id).
  // "stratified": one split of individual samples by class, honest only for independent samples.
  // "grouped_kfold" / "block_kfold": k folds of parcels / of square spatial blocks.
  // "leave_one_group_out": one fold per group, each tested on a group no training sample shares (groups
  // named by region: a model tested on a region it never saw).
  std::string kind = "given";
  int64_t folds = 3;
  double test_fraction = 0.2;
  double validation_fraction = 0.2;  // grouped, from the training part; 0 = none (fixed epochs)
  int64_t block_size = 16;
  int64_t max_pixels_per_parcel = 0;  // cap of training pixels per parcel; 0 = all
  // Joins groups with samples closer than this many metres (data with coordinates), so that points of
  // one field stay on one side; 0 = off.
  double join_within_m = 0;
};

// Numbers to compare against (published or previously measured), for `reproduce`.
struct ReferenceConfig {
  std::string source;
  double overall_accuracy = -1, kappa = -1, macro_f1 = -1;  // -1 = not given
  double tolerance = 0.02;
};

// Training settings chosen per model by validation accuracy, never by test figures. Each candidate is
// [train] + [augment] with some keys overridden; every candidate runs on the same folds and seeds.
// A candidate may also set the model's training conventions (weight initialisation, batch-norm epsilon,
// momentum and running variance, biases) and its regularisation (dropout); they are applied on top of
// whichever model a run builds, so that ablate's variants each get them.
struct SelectionCandidate {
  std::string name;
  TrainOptions train;
  std::function<void(models::ModelConfig&)> model_settings;  // empty = the config's model as it is
};
struct SelectConfig {
  std::vector<SelectionCandidate> candidates;  // empty = no selection, the config's settings as they are
  // After choosing, train again without the validation hold-out (on all of each fold's training
  // groups) for the chosen candidate's mean best epoch. For data with few groups, where holding some
  // out costs the final model much of its training set.
  bool refit = false;
};

struct ExperimentConfig {
  std::string path, text;
  DataConfig data;
  SplitConfig split;
  models::ModelConfig model;
  TrainOptions train;
  std::vector<uint64_t> seeds{1, 2, 3};
  SelectConfig select;
  ReferenceConfig reference;
  std::string candidate;  // the selection candidate applied (with_candidate), if any; saved models record it
  // [ablate] variants: what `ablate` compares when --variants is not given (e.g. the paper's comparison).
  std::vector<std::string> ablate_variants;
  // Under MPI, how reproduce and ablate use the ranks (--spread): false, every run's batches are shared
  // by all ranks (data-parallel); true, each (candidate, seed) run goes whole to one rank.
  bool spread_runs = false;
};

ExperimentConfig load_config(const std::string& path);
// The same from text (a checkpoint's copy); `path` names it in errors and anchors relative data paths.
ExperimentConfig parse_config(const std::string& text, const std::string& path);
// Resolves a data path from the config against its root.
std::string resolve_data_path(const ExperimentConfig& config, const std::string& path);

}  // namespace s2::experiments
