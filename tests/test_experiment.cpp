// Short end-to-end runs on the shared data: load, split, train, evaluate, save and reload.
#include <doctest/doctest.h>

#include <filesystem>

#include "experiments/experiment.h"
#include "experiments/saved_model.h"
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
  CHECK(run.pooled.overall_accuracy >= 0.0);

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

TEST_CASE("a class listed in the config without any sample is a clear error") {
  const ExperimentConfig c =
      config_from("empty_class.toml", "[data]\nroot = \"" S2_SHARED_DATA "\"\ntrain = \"victoria-2017/train.csv\"\n"
                                      "classes = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"never seen\"]\n"
                                      "[split]\nkind = \"grouped\"\n");
  CHECK_THROWS_WITH_AS(load_data(c), doctest::Contains("class 'never seen' listed in [data] classes has no samples"),
                       Error);
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
  const auto first = run_seeds(c, data, {5}), again = run_seeds(c, data, {5});
  CHECK(first[0].confusion == again[0].confusion);
  // Three epochs of a small TempCNN already beat chance (1/8) by far on real pixels.
  CHECK(first[0].overall_accuracy > 0.5);
  const auto s = mean_std({0.9, 0.8, 1.0});
  CHECK(s.mean == doctest::Approx(0.9));
  CHECK(s.std == doctest::Approx(0.1));
}
