// Experiment configs: the shipped ones load, and bad keys or types are clear errors.
#include <doctest/doctest.h>

#include <filesystem>

#include "experiments/config.h"
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
  CHECK(c.model.batch_norm.momentum == doctest::Approx(0.1f));
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
  const auto attention =
      write_temp("attn.toml", "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[model]\nattention = \"self\"\n");
  CHECK_THROWS_WITH_AS(experiments::load_config(attention), doctest::Contains("unknown attention 'self'"),
                       Error);
  const auto kind =
      write_temp("kind.toml", "[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[model]\nkind = \"lstm\"\n");
  CHECK_THROWS_WITH_AS(experiments::load_config(kind), doctest::Contains("kind 'lstm' is unknown"), Error);
  const auto broken = write_temp("broken.toml", "[data\ntrain = 1\n");
  CHECK_THROWS_WITH_AS(experiments::load_config(broken), doctest::Contains("cannot read config"), Error);
  CHECK_THROWS_WITH_AS(experiments::load_config("/no/such.toml"), doctest::Contains("/no/such.toml"), Error);
}
