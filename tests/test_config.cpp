// Experiment configs: the shipped ones load, and bad keys or types are clear errors.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <tuple>

#include "experiments/cli/config.h"
#include "experiments/training/selection.h"
#include "framework/atomic_file.h"
#include "framework/error.h"
#include "tests/temp_files.h"

using namespace s2;

using s2::testing::write_temp;

TEST_CASE("the demo config loads and points at the shared data") {
  const auto c = experiments::load_config(S2_SOURCE_DIR "/experiments/configs/demo_victoria.toml");
  CHECK(c.data.timesteps == 36);
  CHECK(c.data.classes.size() == 8);
  CHECK(c.split.kind == "given");
  CHECK(c.model.cbam.stage_widths == std::vector<int64_t>{64, 128, 256});
  CHECK(c.model.batch_norm().momentum == doctest::Approx(0.1f));
  CHECK(c.model.tempcnn.batch_norm.momentum == doctest::Approx(0.1f));
  CHECK(std::filesystem::exists(experiments::resolve_data_path(c, c.data.train)));
}

TEST_CASE("bad config keys, sections and types name the file and the key") {
  const auto typo =
      write_temp("typo.toml", "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[train]\nepocs = 3\n");
  CHECK_THROWS_WITH_AS(experiments::load_config(typo),
                       doctest::Contains("typo.toml: unknown key 'epocs' in [train]"), Error);
  const auto section =
      write_temp("section.toml", "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[optimiser]\nlr = 1\n");
  CHECK_THROWS_WITH_AS(experiments::load_config(section),
                       doctest::Contains("unknown section or key 'optimiser'"), Error);
  const auto type =
      write_temp("type.toml", "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[train]\nepochs = \"ten\"\n");
  CHECK_THROWS_WITH_AS(experiments::load_config(type), doctest::Contains("[train] epochs must be an integer"),
                       Error);
  // A named choice in [model] that names nothing: the file, the section, the key and the names it takes.
  const std::string header = "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[model]\n";
  for (const auto& [file, line, message] :
       {std::tuple{"attn.toml", "attention = \"self\"", "attn.toml: [model] unknown attention 'self'"},
        std::tuple{"join.toml", "attention_join = \"add\"",
                   "join.toml: [model] unknown attention_join 'add' (expected multiply, residual or gated)"},
        std::tuple{
            "geo.toml", "geo = \"everywhere\"",
            "geo.toml: [model] unknown geo 'everywhere' (expected none, channel, spatial, both or head)"}}) {
    CHECK_THROWS_WITH_AS(experiments::load_config(write_temp(file, header + line + "\n")),
                         doctest::Contains(message), Error);
  }
  const auto gated = write_temp("gated.toml", header + "attention_join = \"gated\"\n");
  CHECK(experiments::load_config(gated).model.tempcnn.attention_join == models::AttentionJoin::Gated);
  const auto plain = write_temp("plain.toml", "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n");
  CHECK(experiments::load_config(plain).model.tempcnn.attention_join == models::AttentionJoin::Multiply);
  const auto kind =
      write_temp("kind.toml", "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[model]\nkind = \"lstm\"\n");
  CHECK_THROWS_WITH_AS(experiments::load_config(kind), doctest::Contains("kind 'lstm' is unknown"), Error);
  const auto no_steps =
      write_temp("steps.toml", "[data]\nformat = \"npy\"\ntrain = \"x.npy\"\ntrain_labels = \"y.npy\"\n");
  CHECK_THROWS_WITH_AS(
      experiments::load_config(no_steps),
      doctest::Contains("steps.toml: [data] timesteps (the regular dates to resample to, 2 or "
                        "more) is required for format 'npy'"),
      Error);
  const auto broken = write_temp("broken.toml", "[data\ntrain = 1\n");
  CHECK_THROWS_WITH_AS(experiments::load_config(broken), doctest::Contains("cannot read config"), Error);
  CHECK_THROWS_WITH_AS(experiments::load_config("/no/such.toml"), doctest::Contains("/no/such.toml"), Error);
}

TEST_CASE("[select] candidates start from [train] and [augment] and override some keys") {
  const std::string base =
      "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[split]\nvalidation_fraction = 0.25\n"
      "[train]\nepochs = 7\nlearning_rate = 0.01\n[augment]\nnoise_std = 0.2\n";
  const auto c = experiments::load_config(write_temp(
      "select.toml", base +
                         "[select]\nrefit = true\n[[select.candidate]]\nname = \"plain\"\n"
                         "[[select.candidate]]\nlearning_rate = 0.001\nmax_shift = 3\nband_offset_std = 0.3\n"
                         "best_epoch_by = \"val_accuracy\"\n"));
  CHECK(c.select.refit);
  REQUIRE(c.select.candidates.size() == 2);
  const auto& plain = c.select.candidates[0];
  CHECK(plain.name == "plain");
  CHECK(plain.train.epochs == 7);
  CHECK(plain.train.learning_rate == doctest::Approx(0.01f));
  CHECK(plain.train.augment.noise_std == doctest::Approx(0.2f));
  const auto& second = c.select.candidates[1];
  CHECK(second.name == "candidate2");  // unnamed candidates are numbered
  CHECK(second.train.learning_rate == doctest::Approx(0.001f));
  CHECK(second.train.augment.max_shift == 3);
  CHECK(second.train.augment.band_offset_std == doctest::Approx(0.3f));
  CHECK(plain.train.augment.band_offset_std == 0.0f);
  CHECK(second.train.augment.noise_std == doctest::Approx(0.2f));
  CHECK(second.train.best_epoch_by == "val_accuracy");
  CHECK(c.train.best_epoch_by == "val_loss");  // [train] itself is unchanged

  CHECK_THROWS_WITH_AS(
      experiments::load_config(
          write_temp("select_key.toml", base + "[[select.candidate]]\nlearning_rat = 1\n")),
      doctest::Contains("select_key.toml: unknown key 'learning_rat' in [select.candidate 1]"), Error);
  CHECK_THROWS_WITH_AS(
      experiments::load_config(
          write_temp("select_twice.toml", base + "[[select.candidate]]\nname = \"a\"\n[[select.candidate]]\n"
                                                 "name = \"a\"\n")),
      doctest::Contains("two selection candidates are named 'a'"), Error);
  CHECK_THROWS_WITH_AS(experiments::load_config(write_temp(
                           "select_by.toml", base + "[[select.candidate]]\nbest_epoch_by = \"f1\"\n")),
                       doctest::Contains("best_epoch_by 'f1' is unknown"), Error);
  CHECK_THROWS_WITH_AS(
      experiments::load_config(write_temp("select_epochs.toml", base + "[[select.candidate]]\nepochs = 0\n")),
      doctest::Contains("[select.candidate 1] epochs must be in [1, 100000], got 0"), Error);
  CHECK_THROWS_WITH_AS(
      experiments::load_config(write_temp("select_table.toml", base + "[select]\ncandidate = 3\n")),
      doctest::Contains("[select] candidate must be an array of tables"), Error);
  const std::string no_validation =
      "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[split]\nvalidation_fraction = 0\n[[select.candidate]]\n";
  CHECK_THROWS_WITH_AS(experiments::load_config(write_temp("select_noval.toml", no_validation)),
                       doctest::Contains("validation_fraction must be > 0"), Error);
}

TEST_CASE("training conventions: [model] and [train] keys, and candidates that set them (issue #20)") {
  const std::string base =
      "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[split]\nvalidation_fraction = 0.25\n"
      "[model]\nbn_momentum = 0.1\n[train]\nclass_weighted_loss = true\n";
  const auto c = experiments::load_config(write_temp(
      "conventions.toml", base + "[[select.candidate]]\nname = \"s2cbam\"\n"
                                 "[[select.candidate]]\nname = \"others\"\ninit = \"keras\"\nbn_eps = 1e-5\n"
                                 "bn_unbiased_running_var = true\nstem_bias = false\nmlp_bias = false\n"
                                 "adam_eps = 1e-7\nloss_reduction = \"weighted_mean\"\ndropout = 0.5\n"));
  CHECK(c.model.cbam.init == models::WeightInit::Torch);  // the defaults, chosen by the conventions study
  CHECK(c.model.cbam.batch_norm.eps == doctest::Approx(1e-3f));
  CHECK(c.train.adam_eps == doctest::Approx(1e-8f));
  CHECK(c.train.loss_reduction == "batch_mean");
  REQUIRE(c.select.candidates.size() == 2);
  const auto plain = experiments::with_candidate(c, c.select.candidates[0]);
  CHECK(plain.model.cbam.init == models::WeightInit::Torch);
  CHECK(plain.candidate == "s2cbam");
  const auto others = experiments::with_candidate(c, c.select.candidates[1]);
  CHECK(others.model.cbam.init == models::WeightInit::Keras);
  CHECK(others.model.cbam.batch_norm.eps == doctest::Approx(1e-5f));
  CHECK(others.model.cbam.batch_norm.momentum == doctest::Approx(0.1f));  // from [model], not overridden
  CHECK(others.model.cbam.batch_norm.unbiased_running_var);
  CHECK(others.model.tempcnn.batch_norm.eps == doctest::Approx(1e-5f));  // batch norm applies to any model
  CHECK_FALSE(others.model.cbam.stem_bias);
  CHECK_FALSE(others.model.cbam.mlp_bias);
  CHECK(others.train.adam_eps == doctest::Approx(1e-7f));
  CHECK(others.train.loss_reduction == "weighted_mean");
  CHECK(others.train.class_weighted_loss);  // from [train]
  // Applied on top of another model (as ablate's variants build), the conventions stay the candidate's.
  experiments::ExperimentConfig tempcnn = c;
  tempcnn.model.kind = "tempcnn";
  CHECK(experiments::with_candidate(tempcnn, c.select.candidates[1]).model.kind == "tempcnn");
  // Regularisation too: a candidate's dropout reaches TempCNN and TempCBAM; the others keep [model]'s.
  CHECK(c.model.tempcnn.dropout == doctest::Approx(0.2f));
  CHECK(plain.model.tempcnn.dropout == doctest::Approx(0.2f));
  CHECK(others.model.tempcnn.dropout == doctest::Approx(0.5f));

  CHECK_THROWS_WITH_AS(
      experiments::load_config(write_temp(
          "init.toml", "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[model]\ninit = \"xavier\"\n")),
      doctest::Contains("init.toml: [model] unknown init 'xavier'"), Error);
  CHECK_THROWS_WITH_AS(experiments::load_config(write_temp(
                           "reduction.toml", base + "[[select.candidate]]\nloss_reduction = \"sum\"\n")),
                       doctest::Contains("loss_reduction 'sum' is unknown"), Error);
  CHECK_THROWS_WITH_AS(
      experiments::load_config(write_temp("bn_eps.toml", base + "[[select.candidate]]\nbn_eps = -1\n")),
      doctest::Contains("bn_eps.toml: [select.candidate 1] bn_eps must be in [0, 1], got -1"), Error);
}

TEST_CASE("the shipped selection configs load with their candidates") {
  const auto flanders =
      experiments::load_config(S2_SOURCE_DIR "/experiments/configs/flanders2019_parcels_select.toml");
  CHECK(flanders.select.refit);
  CHECK(flanders.select.candidates.size() == 3);
  CHECK(flanders.select.candidates[2].train.augment.drop_dates == doctest::Approx(0.3f));
  const auto victoria =
      experiments::load_config(S2_SOURCE_DIR "/experiments/configs/paper_victoria_select.toml");
  CHECK_FALSE(victoria.select.refit);
  CHECK(victoria.select.candidates.size() == 2);
  CHECK_FALSE(victoria.select.candidates[0].train.augment.enabled());

  // The learning-rate follow-ups: candidates inherit [augment] and override only the rate.
  const auto flanders_lr =
      experiments::load_config(S2_SOURCE_DIR "/experiments/configs/flanders2019_parcels_select_lr.toml");
  REQUIRE(flanders_lr.select.candidates.size() == 2);
  CHECK(flanders_lr.select.candidates[1].train.learning_rate == doctest::Approx(3e-4f));
  CHECK(flanders_lr.select.candidates[1].train.augment.max_shift == 4);
  const auto victoria_lr =
      experiments::load_config(S2_SOURCE_DIR "/experiments/configs/paper_victoria_select_lr.toml");
  REQUIRE(victoria_lr.select.candidates.size() == 4);
  CHECK(victoria_lr.select.candidates[0].train.learning_rate == doctest::Approx(1e-3f));
  CHECK(victoria_lr.select.candidates[3].train.learning_rate == doctest::Approx(3e-4f));
  CHECK(victoria_lr.select.candidates[3].train.augment.enabled());
}

TEST_CASE("every shipped config loads") {
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(S2_SOURCE_DIR "/experiments/configs")) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path().string());
    CHECK_NOTHROW(experiments::load_config(entry.path().string()));
    ++loaded;
  }
  CHECK(loaded >= 10);
}

TEST_CASE("every number in a config is range-checked where it is read, with the range in the message") {
  // One row per rule: a value outside its range (or not finite) and the message it must give.
  const std::pair<const char*, const char*> rows[] = {
      {"[data]\nbands = 0", "[data] bands must be in [1, 1000], got 0"},
      {"[data]\ntimesteps = -5", "[data] timesteps must be in [0, 100000], got -5"},
      {"[data]\nclasses = []", "[data] classes must name at least 2 classes"},
      {"[data]\nclasses = [\"maize\", \"wheat\", \"maize\"]", "[data] classes names 'maize' twice"},
      {"[model]\nstage_widths = [64, 0, 256]", "[model] stage_widths must be in [1, 4096], got 0"},
      {"[model]\nbn_momentum = 1.5", "[model] bn_momentum must be in [0, 1], got 1.5"},
      {"[train]\nlearning_rate = nan", "[train] learning_rate must be in [1e-12, 10], got nan"},
      {"[train]\nlearning_rate = inf", "[train] learning_rate must be in [1e-12, 10], got inf"},
      {"[train]\nlearning_rate = 0", "[train] learning_rate must be in [1e-12, 10], got 0"},
      {"[train]\nbatch_size = 1", "[train] batch_size must be in [2, 65536], got 1"},
      {"[split]\nfolds = 1", "[split] folds must be in [2, 1000], got 1"},
      {"[augment]\ndrop_dates = 1", "[augment] drop_dates must be in [0, 0.999], got 1"},
  };
  for (const auto& [section, message] : rows) {
    CAPTURE(section);
    const std::string text = std::string(section) + "\n";
    // [data] rows replace the data section; the others add theirs to a valid one.
    const std::string config = text.rfind("[data]", 0) == 0
                                   ? "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n" + text.substr(7)
                                   : "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n" + text;
    const std::string expected = std::string("range.toml: ") + message;
    CHECK_THROWS_WITH_AS(experiments::load_config(write_temp("range.toml", config)),
                         doctest::Contains(expected.c_str()), Error);
  }
}
