// Short end-to-end runs on the shared data: load, split, train, evaluate, save and reload.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "experiments/training/experiment.h"
#include "experiments/training/saved_model.h"
#include "experiments/training/selection.h"
#include "framework/atomic_file.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "tests/temp_files.h"

using namespace s2;
using namespace s2::experiments;

namespace {
ExperimentConfig config_from(const std::string& name, const std::string& text) {
  ExperimentConfig c = load_config(s2::testing::write_temp(name, text));
  c.train.verbose = false;
  return c;
}

const std::string kTinyModel = R"(
[model]
kind = "cbam"
stem_width = 8
stage_widths = [8, 16]
reduction = 4
bn_momentum = 0.1
)";
}  // namespace

#ifdef S2_HAVE_GDAL
TEST_CASE("Flanders: parcel folds test every pixel once, and a saved fold model predicts the same again") {
  const ExperimentConfig c = config_from(
      "flanders.toml", "[data]\nformat = \"raster_series\"\nroot = \"" S2_SHARED_DATA
                       "\"\ntrain = \"worldcereal/flanders-2019\"\ntimesteps = 12\nmin_class_parcels = 3\n"
                       "[split]\nkind = \"grouped_kfold\"\nfolds = 2\nvalidation_fraction = 0\n"
                       "max_pixels_per_parcel = 20\n[train]\nepochs = 1\nbatch_size = 16\n" +
                           kTinyModel);
  const LoadedData data = load_data(c);
  CHECK(data.train.class_names == std::vector<std::string>{"Winter wheat", "Maize", "Permanent grass crops"});
  CHECK(data.dropped_classes.size() == 4);
  const RunResult run = run_experiment(c, data, 3);
  REQUIRE(run.folds.size() == 2);
  int64_t tested = 0;
  for (const auto& row : run.pooled.confusion)
    for (int64_t v : row) tested += v;
  CHECK(tested == data.train.size());
  // Training is bit-reproducible on any machine and thread count (README, Determinism): this run's
  // figure is fixed, and its report says so by checksum.
  CHECK(run.pooled.overall_accuracy == doctest::Approx(0.129956).epsilon(1e-6));
  CHECK(run_checksum(run) == "c811f97fd8c56931");

  const std::string path = s2::testing::temp_path("fold1.ckpt");
  save_checkpoint(path, run.folds[0].checkpoint);
  SavedModel saved = load_saved_model(path, c.path);
  CHECK(saved.class_names == data.train.class_names);
  CHECK(saved.timesteps == 12);
  // Re-predict fold 1's test pixels from the checkpoint: the same confusion matrix.
  const auto folds = make_folds(c, data, 3);
  data::PixelDataset test = folds[0].test;
  saved.normaliser.apply(test);
  const auto p = predict(*saved.model, test);
  CHECK(compute_metrics(test.labels, p.classes, 3).confusion == run.folds[0].metrics.confusion);
}
#else
TEST_CASE("without GDAL, raster data is a clear error that names the config") {
  const ExperimentConfig c =
      config_from("flanders.toml", "[data]\nformat = \"raster_series\"\nroot = \"" S2_SHARED_DATA
                                   "\"\ntrain = \"worldcereal/flanders-2019\"\ntimesteps = 12\n"
                                   "[split]\nkind = \"grouped_kfold\"\nfolds = 2\n" +
                                       kTinyModel);
  CHECK_THROWS_WITH(load_data(c),
                    doctest::Contains("flanders.toml: [data] format raster_series reads GeoTIFFs "
                                      "with GDAL, and this build of s2cbam has no GDAL"));
}
#endif

TEST_CASE("a class listed in the config without any sample is a clear error") {
  const ExperimentConfig c =
      config_from("empty_class.toml",
                  "[data]\nroot = \"" S2_SHARED_DATA
                  "\"\ntrain = \"victoria-2017/train.csv\"\n"
                  "classes = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"never seen\"]\n"
                  "[split]\nkind = \"grouped\"\n");
  CHECK_THROWS_WITH_AS(
      load_data(c), doctest::Contains("class 'never seen' listed in [data] classes has no samples"), Error);
}

TEST_CASE("Victoria: TempCNN trains on the given split, and seeds reproduce") {
  ExperimentConfig c =
      config_from("victoria.toml", "[data]\nroot = \"" S2_SHARED_DATA
                                   "\"\ntrain = \"victoria-2017/train.csv\"\n"
                                   "test = \"victoria-2017/test.csv\"\ntimesteps = 24\n"
                                   "classes = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\"]\n"
                                   "[split]\nvalidation_fraction = 0.2\n[model]\nkind = \"tempcnn\"\nfilters "
                                   "= 16\ndense_units = 32\nbn_momentum = 0.1\n"
                                   "[train]\nepochs = 3\n");
  const LoadedData data = load_data(c);
  const auto first = run_seeds(c, data, {5}).test, again = run_seeds(c, data, {5}).test;
  CHECK(first[0].confusion == again[0].confusion);
  // Three epochs of a small TempCNN already beat chance (1/8) by far on real pixels.
  CHECK(first[0].overall_accuracy > 0.5);
  const auto s = mean_std({0.9, 0.8, 1.0});
  CHECK(s.mean == doctest::Approx(0.9));
  CHECK(s.std == doctest::Approx(0.1));
}

TEST_CASE(
    "selection: the candidate with the best validation OA wins, and the refit is the chosen settings "
    "trained on all training groups") {
  ExperimentConfig c = config_from(
      "victoria_select.toml",
      "[data]\nroot = \"" S2_SHARED_DATA
      "\"\ntrain = \"victoria-2017/train.csv\"\ntest = \"victoria-2017/test.csv\"\ntimesteps = 24\n"
      "classes = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\"]\n"
      "[split]\nvalidation_fraction = 0.25\n[model]\nkind = \"tempcnn\"\nfilters = 16\ndense_units = 32\n"
      "[train]\nepochs = 4\nbest_epoch_by = \"val_accuracy\"\n"
      "[select]\nrefit = true\n"
      "[[select.candidate]]\nname = \"slow\"\nlearning_rate = 0.00001\n"
      "[[select.candidate]]\nname = \"usual\"\n"
      "[[select.candidate]]\nname = \"shifted\"\nmax_shift = 3\n");
  const LoadedData data = load_data(c);
  const std::vector<uint64_t> seeds{1, 2};
  const SeedRuns runs = run_seeds(c, data, seeds);

  // The same choice from runs made here, one candidate at a time.
  REQUIRE(runs.candidates.size() == 3);
  double best = -1;
  std::string expected;
  double expected_epochs = 0;
  for (const auto& candidate : c.select.candidates) {
    double sum = 0, epochs = 0;
    for (uint64_t seed : seeds) {
      const RunResult run = run_experiment(with_candidate(c, candidate), data, seed);
      REQUIRE(run.has_validation);
      sum += run.validation.overall_accuracy;
      epochs += static_cast<double>(run.folds[0].training.best_epoch);
    }
    const auto& reported = runs.candidates[static_cast<size_t>(&candidate - c.select.candidates.data())];
    CHECK(reported.name == candidate.name);
    CHECK(reported.validation_accuracy.mean == doctest::Approx(sum / 2));
    if (sum / 2 > best) best = sum / 2, expected = candidate.name, expected_epochs = epochs / 2;
  }
  MESSAGE(runs.describe());
  CHECK(runs.chosen == expected);
  // A learning rate of 1e-5 leaves a network near its initial guess after 4 epochs.
  CHECK(runs.chosen != "slow");
  CHECK(runs.refit_epochs == std::max<int64_t>(1, std::llround(expected_epochs)));

  ExperimentConfig refit = with_candidate(c, find_candidate(c, expected));
  refit.split.validation_fraction = 0;
  refit.train.epochs = runs.refit_epochs;
  REQUIRE(runs.test.size() == 2);
  for (size_t i = 0; i < seeds.size(); ++i) {
    const RunResult run = run_experiment(refit, data, seeds[i]);
    CHECK_FALSE(run.has_validation);
    CHECK(run.folds[0].training.history.size() == static_cast<size_t>(runs.refit_epochs));
    CHECK(runs.test[i].confusion == run.pooled.confusion);
  }
  CHECK_THROWS_WITH_AS(find_candidate(c, "fast"), doctest::Contains("no selection candidate named 'fast'"),
                       Error);
}

TEST_CASE("a model trained as a candidate that changes the network's conventions reloads as that network") {
  // The candidate drops the stem and MLP biases and draws PyTorch's initialisation: the checkpoint's
  // config alone would build a network with the biases, so the reload must apply the candidate again.
  const ExperimentConfig c = config_from(
      "victoria_conventions.toml",
      "[data]\nroot = \"" S2_SHARED_DATA
      "\"\ntrain = \"victoria-2017/train.csv\"\ntest = \"victoria-2017/test.csv\"\ntimesteps = 12\n"
      "classes = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\"]\n"
      "[split]\nvalidation_fraction = 0.25\n[train]\nepochs = 1\n" +
          kTinyModel +
          "[[select.candidate]]\nname = \"bare\"\ninit = \"torch\"\nstem_bias = false\nmlp_bias = false\n"
          "loss_reduction = \"batch_mean\"\n");
  const ExperimentConfig bare = with_candidate(c, find_candidate(c, "bare"));
  const LoadedData data = load_data(bare);
  const RunResult run = run_experiment(bare, data, 1);
  const std::string path = s2::testing::temp_path("bare.ckpt");
  save_checkpoint(path, run.folds[0].checkpoint);
  SavedModel saved = load_saved_model(path, c.path);
  const auto with_biases = models::make_model(c.model, 12, 10, 8);
  // 8 stem biases, and the MLP's 2 + 8 and 4 + 16 biases, are gone.
  CHECK(saved.model->num_parameters() == with_biases->num_parameters() - 8 - (2 + 8) - (4 + 16));
  data::PixelDataset test = data.test;
  saved.normaliser.apply(test);
  CHECK(compute_metrics(test.labels, predict(*saved.model, test).classes, 8).confusion ==
        run.folds[0].metrics.confusion);
}
