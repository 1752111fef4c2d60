#include "experiments/training/experiment.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <numeric>

#include "data/coordinates.h"
#include "data/gap_filling.h"
#include "data/npy.h"
#ifdef S2_HAVE_GDAL
#include "data/raster_dataset.h"
#endif
#include "data/splits.h"
#include "data/victoria_csv.h"
#include "framework/checkpoint.h"
#include "framework/device.h"
#include "framework/distributed.h"
#include "framework/error.h"
#include "framework/random.h"
#include "kernels/cpu/parallel.h"
#include "models/factory.h"

namespace s2::experiments {

DataFiles train_files(const ExperimentConfig& c) {
  return {c.data.train, c.data.train_labels, c.data.train_groups, c.data.train_dates, c.data.train_coords};
}
DataFiles test_files(const ExperimentConfig& c) {
  return {c.data.test, c.data.test_labels, c.data.test_groups, c.data.test_dates, c.data.test_coords};
}

data::SeriesOptions series_options(const ExperimentConfig& c) {
  data::SeriesOptions o;
  o.bands = c.data.band_names;
  o.scl_band = c.data.scl_band;
  o.masked_scl_classes = c.data.masked_scl_classes;
  if (c.data.valid_range) o.valid_range = *c.data.valid_range;
  return o;
}

namespace {

// A table's gaps (NaN, the config's nodata value and values outside its valid range) filled and its
// dates resampled to the config's T, as rasters are; a line says what was filled and dropped.
data::PixelDataset fill_table_gaps(const ExperimentConfig& c, const DataFiles& files, data::PixelDataset d) {
  int64_t nodata_values = 0, invalid_values = 0;
  for (float& v : d.values) {
    const auto value = static_cast<double>(v);
    if (c.data.nodata && value == *c.data.nodata) {
      v = std::numeric_limits<float>::quiet_NaN(), ++nodata_values;
    } else if (c.data.valid_range && c.data.valid_range->outside(value)) {
      v = std::numeric_limits<float>::quiet_NaN(), ++invalid_values;
    }
  }
  if (c.data.nodata && nodata_values == 0)
    fmt::print(stderr, "warning: '{}': [data] nodata = {} occurs nowhere in it\n", d.source, *c.data.nodata);
  const bool gaps = std::any_of(d.values.begin(), d.values.end(), [](float v) { return std::isnan(v); });
  const int64_t steps = c.data.timesteps > 0 ? c.data.timesteps : d.timesteps;
  if (!gaps && files.dates.empty() && steps == d.timesteps) return d;
  data::GapFilling o;
  if (!files.dates.empty())
    o.days = data::read_table_days(resolve_data_path(c, files.dates), d.size(), d.timesteps);
  o.steps = steps;
  o.min_clear = c.data.min_clear_observations;
  data::GapReport r;
  data::PixelDataset out = data::fill_gaps(d, o, &r);
  if (gaps || r.dropped > 0) {
    fmt::print(
        "data: '{}': {} of {} values missing ({:.1f}%{}), filled in time; {} samples dropped (a band seen on "
        "fewer than {} dates)\n",
        d.source, r.gaps, r.values, 100.0 * static_cast<double>(r.gaps) / static_cast<double>(r.values),
        (c.data.nodata ? fmt::format(", {} of them nodata {}", nodata_values, *c.data.nodata) : "") +
            (c.data.valid_range ? fmt::format(", {} of them outside the valid range [{}, {}]", invalid_values,
                                              c.data.valid_range->lowest, c.data.valid_range->highest)
                                : ""),
        r.dropped, o.min_clear);
  }
  S2_CHECK(out.size() > 0, "'{}': no sample has a band seen on {} dates or more", d.source, o.min_clear);
  return out;
}

}  // namespace

data::PixelDataset load_dataset(const ExperimentConfig& c, const DataFiles& files,
                                const std::vector<std::string>& classes, bool classes_from_config) {
  const std::string resolved = resolve_data_path(c, files.values);
  if (c.data.format == "pixel_csv" || c.data.format == "npy") {
    data::PixelDataset d =
        c.data.format == "npy"
            ? data::read_npy_dataset(resolved, resolve_data_path(c, files.labels), classes,
                                     files.groups.empty() ? "" : resolve_data_path(c, files.groups))
            : data::read_pixel_csv(resolved, {.bands = c.data.bands, .class_names = classes});
    if (!files.coords.empty()) {
      S2_CHECK(!d.has_coordinates(),
               "{}: '{}' has lat/lon columns and the config names a coordinates file too", c.path, resolved);
      data::attach_coordinates(d, resolve_data_path(c, files.coords));
    }
    return fill_table_gaps(c, files, std::move(d));
  }
#ifndef S2_HAVE_GDAL
  (void)classes_from_config;
  fail(
      "{}: [data] format raster_series reads GeoTIFFs with GDAL, and this build of s2cbam has no GDAL "
      "(install libgdal-dev and rebuild, or configure with -DS2_GDAL=ON)",
      c.path);
#else
  data::RasterDatasetOptions o;
  o.series = series_options(c);
  o.timesteps = c.data.timesteps;
  o.season_start = c.data.season_start;
  o.season_end = c.data.season_end;
  o.min_clear_observations = c.data.min_clear_observations;
  o.classes = classes;
  o.require_classes = classes_from_config;
  o.merge = c.data.merge;
  return data::read_raster_dataset(resolved, o);
#endif
}

Device device_for(const models::Classifier& model, Device wanted, const std::string& model_name) {
  if (wanted != Device::CUDA || model.has_cuda_kernels()) return wanted;
  S2_CHECK(
      device_chosen_automatically(),
      "model '{}' has no CUDA kernels (TempCNN's dropout and 1D convolutions, Geo-CBAM's composed attention "
      "and the tree ensembles run on the CPU): run it with --device cpu or auto",
      model_name);
  fmt::print("note: model '{}' has no CUDA kernels; it runs on the CPU ({})\n", model_name,
             describe_compute(Device::CPU));
  return Device::CPU;
}

std::string model_checksum(const Module& model) {
  return weights_checksum(model.named_state());
}

std::string model_checksum(const Checkpoint& checkpoint) {
  return weights_checksum(checkpoint.with_prefix("model"));
}

std::string run_checksum(const RunResult& run) {
  NamedTensors all;
  for (const auto& fold : run.folds) {
    for (auto& [name, t] : fold.checkpoint.with_prefix("model")) all.emplace_back(fold.name + "." + name, t);
  }
  return weights_checksum(all);
}

namespace {
data::PixelDataset with_groups(data::PixelDataset d, const std::vector<int64_t>& groups) {
  d.groups = groups;
  return d;
}

void normalise(Fold& fold, const data::BandNormaliser& n) {
  for (auto* d : {&fold.train, &fold.validation, &fold.test}) {
    if (d->size() > 0) n.apply(*d);
  }
}
}  // namespace

LoadedData load_data(const ExperimentConfig& c) {
  LoadedData out;
  out.train = load_dataset(c, train_files(c), c.data.classes, true);
  // A class the config names explicitly must have training samples; an empty one is a config error.
  const auto counts = out.train.class_counts();
  for (size_t k = 0; k < counts.size() && !c.data.classes.empty(); ++k) {
    S2_CHECK(counts[k] > 0, "{}: class '{}' listed in [data] classes has no samples in '{}'", c.path,
             out.train.class_names[k], out.train.source);
  }
  out.train = data::filter_classes(out.train, c.data.min_class_pixels, c.data.min_class_parcels,
                                   &out.dropped_classes);
  if (!c.data.test.empty()) {
    // The test side uses the training classes by name; a class it lacks simply has no test pixels.
    data::PixelDataset test =
        load_dataset(c, test_files(c), out.train.class_names, c.data.format != "raster_series");
    S2_CHECK(test.timesteps == out.train.timesteps && test.bands == out.train.bands,
             "test data '{}' has {} dates x {} bands, training data {} x {}", test.source, test.timesteps,
             test.bands, out.train.timesteps, out.train.bands);
    out.test = test;
  }
  return out;
}

std::string describe_split(const ExperimentConfig& c, const LoadedData& d) {
  const auto& s = c.split;
  std::string text;
  if (s.kind == "given") {
    text = fmt::format("Train on {}, test on {} as given.", d.train.source, d.test.source);
  } else if (s.kind == "stratified") {
    text = fmt::format(
        "One stratified random split of {} by sample ({:.0f}% held out for testing). Honest only if "
        "samples are independent: pixels of one parcel are not.",
        d.train.source, 100 * s.test_fraction);
  } else if (s.kind == "leave_one_group_out") {
    text = fmt::format(
        "Leave-one-group-out over {}: each fold tests one group ({}) with a model that never saw it.",
        d.train.source,
        d.train.group_names.empty() ? "by id" : fmt::format("{}", fmt::join(d.train.group_names, ", ")));
  } else if (s.kind == "grouped") {
    text = fmt::format(
        "One split of {} by parcel/object: {:.0f}% of the groups held out for testing; no group on "
        "both sides.",
        d.train.source, 100 * s.test_fraction);
  } else {
    text = fmt::format(
        "{}-fold cross-validation of {} over {}; every pixel is tested once, by a model that never saw "
        "its {}.",
        s.folds, d.train.source, s.kind == "grouped_kfold" ? "parcels" : "spatial blocks",
        s.kind == "grouped_kfold" ? "parcel" : "block");
  }
  if (s.validation_fraction > 0) {
    text += fmt::format(" Validation (early stopping, best epoch): {:.0f}% of the training groups.",
                        100 * s.validation_fraction);
  }
  if (s.join_within_m > 0) text += fmt::format(" Samples closer than {} m are one group.", s.join_within_m);
  if (s.max_pixels_per_parcel > 0)
    text += fmt::format(" Training uses at most {} pixels per parcel.", s.max_pixels_per_parcel);
  if (!d.dropped_classes.empty())
    text +=
        fmt::format(" Dropped classes (too few pixels or parcels): {}.", fmt::join(d.dropped_classes, ", "));
  return text;
}

namespace {
// A leave-one-group-out fold's name: its group's name (letters, digits, - and _ kept) or number.
std::string held_out_group_name(const data::PixelDataset& d, const std::vector<int64_t>& held_out,
                                size_t fold) {
  const auto id = static_cast<size_t>(d.groups[static_cast<size_t>(held_out.front())]);
  if (id >= d.group_names.size()) return fmt::format("group{}", fold + 1);
  std::string name = "out-";
  for (const char ch : d.group_names[id])
    name += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ? ch : '_';
  return name;
}
}  // namespace

std::vector<Fold> make_folds(const ExperimentConfig& c, const LoadedData& d, uint64_t seed) {
  const auto& s = c.split;
  // The groups that must not cross sides: spatial blocks for block_kfold, parcels or objects otherwise.
  auto split_groups =
      s.kind == "block_kfold" ? data::block_groups(d.train.xs, d.train.ys, s.block_size) : d.train.groups;
  if (s.join_within_m > 0) {
    S2_CHECK(d.train.has_coordinates(),
             "{}: [split] join_within_m needs coordinates, and '{}' has none (give [data] train_coords)",
             c.path, d.train.source);
    split_groups = data::join_nearby_groups(split_groups, d.train.lats, d.train.lons, s.join_within_m);
  }
  std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> parts;  // (train indices, test indices)
  if (s.kind == "given") {
    std::vector<int64_t> all(static_cast<size_t>(d.train.size()));
    std::iota(all.begin(), all.end(), 0);
    parts.push_back({all, {}});
  } else if (s.kind == "leave_one_group_out") {
    for (auto& f : data::leave_one_group_out(split_groups)) parts.push_back({f.train, f.held_out});
  } else if (s.kind == "grouped" || s.kind == "stratified") {
    std::vector<int64_t> groups = split_groups;
    if (s.kind == "stratified") std::iota(groups.begin(), groups.end(), 0);  // every sample its own group
    const auto split = data::grouped_split(groups, d.train.labels, s.test_fraction, seed);
    parts.push_back({split.train, split.held_out});
  } else {
    for (auto& f : data::grouped_kfold(split_groups, d.train.labels, s.folds, seed))
      parts.push_back({f.train, f.held_out});
  }
  const data::PixelDataset grouped = with_groups(d.train, split_groups);
  std::vector<Fold> folds;
  for (size_t f = 0; f < parts.size(); ++f) {
    Fold fold;
    fold.name = parts.size() == 1 ? "all" : fmt::format("fold{}", f + 1);
    if (s.kind == "leave_one_group_out") fold.name = held_out_group_name(d.train, parts[f].second, f);
    const data::PixelDataset pool = grouped.subset(parts[f].first);
    fold.test = s.kind == "given" ? d.test : d.train.subset(parts[f].second);
    std::vector<int64_t> train_idx(static_cast<size_t>(pool.size()));
    std::iota(train_idx.begin(), train_idx.end(), 0);
    if (s.validation_fraction > 0) {
      const auto v =
          data::grouped_split(pool.groups, pool.labels, s.validation_fraction, seed + 1000 * (f + 1));
      fold.validation = pool.subset(v.held_out);
      train_idx = v.train;
    }
    fold.train = pool.subset(data::cap_per_group(train_idx, pool.groups, s.max_pixels_per_parcel, seed + 7));
    S2_CHECK(fold.train.size() >= 2 && fold.test.size() > 0,
             "{}: fold {} has {} training and {} test samples", c.path, fold.name, fold.train.size(),
             fold.test.size());
    folds.push_back(std::move(fold));
  }
  return folds;
}

std::vector<Fold> prepared_folds(const ExperimentConfig& c, const LoadedData& data, uint64_t seed) {
  std::vector<Fold> folds = make_folds(c, data, seed);
  for (Fold& fold : folds) {
    fold.normaliser = data::BandNormaliser::fit(fold.train);  // training pixels only
    normalise(fold, fold.normaliser);
  }
  return folds;
}

std::unique_ptr<models::Classifier> initial_model(const ExperimentConfig& config, int64_t timesteps,
                                                  int64_t bands, int64_t classes, uint64_t seed) {
  manual_seed(seed);
  return models::make_model(config.model, timesteps, bands, classes);
}

void require_model_inputs(const ExperimentConfig& c, const LoadedData& data, const std::string& variant) {
  const bool geo = (c.model.kind == "cbam" || c.model.kind == "tempcbam") &&
                   c.model.cbam.geo != models::GeoAttention::None;
  for (const data::PixelDataset* d : {&data.train, &data.test}) {
    S2_CHECK(!geo || d->size() == 0 || d->has_coordinates(),
             "{}: '{}' is Geo-CBAM (geo = '{}') and needs where each sample is, but '{}' has no coordinates: "
             "give [data] train_coords/test_coords (lat,lon per sample), lat and lon columns in a pixel CSV, "
             "or a georeferenced raster",
             c.path, variant, models::geo_attention_name(c.model.cbam.geo), d->source);
  }
}

FoldResult run_fold(const ExperimentConfig& c, const Fold& fold, int64_t classes, uint64_t seed) {
  const data::BandNormaliser& normaliser = fold.normaliser;
  auto model = initial_model(c, fold.train.timesteps, fold.train.bands, classes, seed);
  TrainOptions options = c.train;
  const std::string name = model->uses_location()
                               ? fmt::format("cbam, geo = '{}'", models::geo_attention_name(c.model.cbam.geo))
                               : c.model.kind;
  options.device = device_for(*model, c.train.device, name);
  model->to(options.device);
  options.seed = seed;
  if (!options.state_path.empty()) options.state_path += fmt::format("-{}-seed{}.ckpt", fold.name, seed);
  options.fingerprint = run_fingerprint(c, fold, seed);
  if (options.verbose)
    fmt::print("-- {} (seed {}): {} train / {} validation / {} test samples\n", fold.name, seed,
               fold.train.size(), fold.validation.size(), fold.test.size());
  FoldResult r;
  r.name = fold.name;
  r.training = model->fits_directly()
                   ? fit_directly(*model, fold.train, options)
                   : train_classifier(*model, fold.train,
                                      fold.validation.size() > 0 ? &fold.validation : nullptr, options);
  r.metrics = compute_metrics(fold.test.labels, predict_over_ranks(*model, fold.test).classes, classes);
  if (fold.validation.size() > 0) {  // the kept epoch's weights, as selection sees them
    r.validation =
        compute_metrics(fold.validation.labels, predict_over_ranks(*model, fold.validation).classes, classes);
  }
  r.checkpoint.step = static_cast<uint64_t>(r.training.best_epoch);
  r.checkpoint.config = c.text;
  r.checkpoint.metadata = fmt::format(
      "model_kind = \"{}\"\ntimesteps = {}\nbands = {}\nclasses = [\"{}\"]\nseed = {}\n", c.model.kind,
      fold.train.timesteps, fold.train.bands, fmt::join(fold.train.class_names, "\", \""), seed);
  if (!c.candidate.empty()) r.checkpoint.metadata += fmt::format("candidate = \"{}\"\n", c.candidate);
  r.checkpoint.add("model", model->named_parameters());
  r.checkpoint.add("model", model->named_buffers());
  r.checkpoint.add("norm", normaliser.state());
  r.checkpoint.add("optim", r.training.optimizer_state);
  return r;
}

RunResult pool_folds(std::vector<FoldResult> folds, int64_t classes) {
  const auto zero = [&] {
    return std::vector<std::vector<int64_t>>(static_cast<size_t>(classes),
                                             std::vector<int64_t>(static_cast<size_t>(classes), 0));
  };
  auto pooled = zero(), pooled_validation = zero();
  const auto add_to = [](std::vector<std::vector<int64_t>>& sum, const Metrics& m) {
    for (size_t i = 0; i < sum.size(); ++i) {
      for (size_t j = 0; j < sum.size(); ++j) sum[i][j] += m.confusion[i][j];
    }
  };
  RunResult run;
  for (const FoldResult& fold : folds) {
    add_to(pooled, fold.metrics);
    if (fold.validation) add_to(pooled_validation, *fold.validation), run.has_validation = true;
  }
  run.folds = std::move(folds);
  run.pooled = metrics_from_confusion(pooled);
  if (run.has_validation) run.validation = metrics_from_confusion(pooled_validation);
  return run;
}

void check_run_inputs(const ExperimentConfig& c, const LoadedData& data) {
  S2_CHECK(
      c.train.shards % dist::size() == 0,
      "{}: {} ranks cannot share batches of [train] shards = {} equally; set shards to a multiple of {} (a "
      "run then gives the same bits as one process with the same shards), or give reproduce and ablate "
      "--spread runs",
      c.path, dist::size(), c.train.shards, dist::size());
  require_model_inputs(c, data, c.model.kind);
}

RunResult run_experiment(const ExperimentConfig& c, const LoadedData& data, uint64_t seed) {
  check_run_inputs(c, data);
  const int64_t classes = data.train.num_classes();
  std::vector<FoldResult> folds;
  for (const Fold& fold : prepared_folds(c, data, seed)) folds.push_back(run_fold(c, fold, classes, seed));
  return pool_folds(std::move(folds), classes);
}

std::string run_fingerprint(const ExperimentConfig& c, const Fold& fold, uint64_t seed) {
  Fnv1a h;
  h.add(c.text).add(c.candidate).add(seed).add(fold.name);
  for (const data::PixelDataset* d : {&fold.train, &fold.validation}) {
    h.add(static_cast<uint64_t>(d->timesteps)).add(static_cast<uint64_t>(d->bands));
    h.add(d->values).add(d->labels);
  }
  return h.hex();
}

ExperimentConfig load_multi_seed_config(const Args& args) {
  ExperimentConfig config = load_config(args.require("config"));
  config.seeds = args.get_seeds("seeds", config.seeds);
  config.train.epochs = args.get_int("epochs", config.train.epochs);
  S2_CHECK(config.train.epochs > 0, "option --epochs must be positive, got {}", config.train.epochs);
  if (args.has("epochs")) {
    for (auto& candidate : config.select.candidates) candidate.train.epochs = config.train.epochs;
  }
  config.train.verbose = false;
  const std::string spread = args.get("spread", "batches");
  S2_CHECK(spread == "batches" || spread == "runs", "option --spread must be batches or runs, got '{}'",
           spread);
  config.spread_runs = spread == "runs";
  apply_threads_option(args);
  return config;
}

Stat mean_std(const std::vector<double>& values) {
  Stat s;
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    for (double v : values) s.std += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(s.std / static_cast<double>(values.size() - 1));
  }
  return s;
}

}  // namespace s2::experiments
