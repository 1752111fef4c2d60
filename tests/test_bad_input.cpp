// The bad-input table (issue #14): one row per input rule and per reported case, each run through the
// real binaries as a user would, asserting the exit status and the message. A row fails when the binary
// crashes (a signal), exits 0, says "internal error", or words the problem differently.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "data/npy.h"
#include "framework/checkpoint.h"
#include "tests/npy_bytes.h"
#include "tests/run_binary.h"
#include "tests/temp_files.h"

using namespace s2;
using s2::testing::Outcome;
using s2::testing::run;
namespace fs = std::filesystem;

namespace {
const std::string kBin = S2_BINARY_DIR;
const std::string kData = S2_SHARED_DATA;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A small valid pixel_csv config on the Victoria files; `extra` adds sections or keys after [data].
std::string victoria_config(const std::string& data_keys, const std::string& extra = "") {
  return "[data]\nroot = \"" + kData +
         "\"\ntrain = \"victoria-2017/train.csv\"\ntest = \"victoria-2017/test.csv\"\n" + "timesteps = 4\n" +
         data_keys + "\n[model]\nstem_width = 2\nstage_widths = [2]\nreduction = 2\n" +
         "spatial_kernel = 3\n[train]\nepochs = 1\n" + extra;
}

// A trained tiny model to corrupt; trained once per test run.
const std::string& tiny_checkpoint(const fs::path& dir) {
  static const std::string path = [&] {
    write(dir / "tiny.toml", victoria_config(""));
    const Outcome o = run(dir.string(), kBin + "/train --config tiny.toml --out tiny --threads 1");
    REQUIRE_MESSAGE(o.exit_code == 0, o.output);
    return (dir / "tiny" / "model.ckpt").string();
  }();
  return path;
}

struct Row {
  std::string name;                              // the rule or the reported case
  std::function<void(const fs::path&)> prepare;  // writes the row's files into its folder
  std::string command;                           // run in that folder; $B = the binaries
  std::string message;                           // must appear in the output
};

std::string expand(std::string command) {
  for (size_t at; (at = command.find("$B")) != std::string::npos;) command.replace(at, 2, kBin);
  return command;
}

void no_files(const fs::path&) {}

void config_file(const fs::path& dir, const std::string& text) {
  write(dir / "c.toml", text);
}
}  // namespace

TEST_CASE("bad input: every row ends in a named error with exit status 1, never a crash") {
  const fs::path root = s2::testing::temp_path("bad-input");
  fs::remove_all(root);
  const std::string ckpt = tiny_checkpoint(root / "trained");
  const auto with_config = [](const std::string& text) {
    return [text](const fs::path& dir) { config_file(dir, text); };
  };
  // A copy of the trained checkpoint with its content changed and a valid checksum.
  const auto corrupted = [&](const std::function<void(Checkpoint&)>& change) {
    return [ckpt, change](const fs::path& dir) {
      Checkpoint c = load_checkpoint(ckpt);
      change(c);
      save_checkpoint((dir / "m.ckpt").string(), c);
    };
  };
  // The trained checkpoint evaluated on an NPY file claiming `shape`.
  const auto npy_data = [&](const std::string& shape, const std::vector<float>& values) {
    return [ckpt, shape, values](const fs::path& dir) {
      fs::copy_file(ckpt, dir / "m.ckpt");
      write(dir / "x.npy", s2::testing::npy_bytes("<f4", "(" + shape + ")", values));
      write(dir / "y.csv", "0\n");
    };
  };
  const std::string evaluate_npy = "$B/evaluate --checkpoint m.ckpt --data x.npy --labels y.csv";
  std::vector<Row> rows{
      // Rule: every number is range-checked where it is read, with the range in the message.
      {"[data] bands = 0 (was SIGFPE)", with_config(victoria_config("bands = 0")), "$B/train --config c.toml",
       "c.toml: [data] bands must be in [1, 1000], got 0"},
      {"[model] stage_widths with a 0 (was SIGFPE)",
       with_config("[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\n[model]\nstage_widths = [64, 0, 256]\n"),
       "$B/train --config c.toml", "c.toml: [model] stage_widths must be in [1, 4096], got 0"},
      {"learning_rate = nan (was a NaN model, exit 0)",
       with_config(victoria_config("", "learning_rate = nan\n")), "$B/train --config c.toml",
       "[train] learning_rate must be in [1e-12, 10], got nan"},
      {"learning_rate = inf", with_config(victoria_config("", "learning_rate = inf\n")),
       "$B/train --config c.toml", "[train] learning_rate must be in [1e-12, 10], got inf"},
      {"learning_rate = 0", with_config(victoria_config("", "learning_rate = 0\n")),
       "$B/train --config c.toml", "[train] learning_rate must be in [1e-12, 10], got 0"},
      {"learning_rate negative", with_config(victoria_config("", "learning_rate = -0.001\n")),
       "$B/train --config c.toml", "[train] learning_rate must be in [1e-12, 10], got -0.001"},
      {"timesteps = -5 (was quietly the native dates)",
       with_config("[data]\ntrain = \"a.csv\"\ntest = \"b.csv\"\ntimesteps = -5\n"),
       "$B/train --config c.toml", "[data] timesteps must be in [0, 100000], got -5"},
      {"checkpoint whose embedded config has stage_widths [8, 0] (was SIGFPE)", corrupted([](Checkpoint& c) {
         const auto at = c.config.find("stage_widths = [2]");
         REQUIRE(at != std::string::npos);
         c.config.replace(at, 18, "stage_widths = [8, 0]");
       }),
       "$B/evaluate --checkpoint m.ckpt", "[model] stage_widths must be in [1, 4096], got 0"},
      // Rule: tables of names are checked for duplicates and gaps.
      {"duplicate class names", with_config(victoria_config("classes = [\"a\", \"a\"]")),
       "$B/train --config c.toml", "[data] classes names 'a' twice"},
      {"classes = [] (was names '0'..'7')", with_config(victoria_config("classes = []")),
       "$B/train --config c.toml", "[data] classes must name at least 2 classes"},
      {"duplicate band names", with_config(victoria_config("band_names = [\"B02\", \"B02\"]")),
       "$B/train --config c.toml", "[data] band_names names 'B02' twice"},
      {"a class without any sample (a gap in the labels)",
       with_config(
           victoria_config("classes = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\"]")),
       "$B/train --config c.toml", "'i'"},
      // Rule: options are range-checked (--threads above the machine is capped with a warning).
      {"train --threads 100000 (was SIGSEGV)", no_files,
       "$B/train --config " S2_SOURCE_DIR "/experiments/configs/demo_victoria.toml --threads 100000",
       "option --threads must be 1 to 1024, got 100000"},
      {"bench_cpu --threads 100000 (was SIGSEGV)", no_files, "$B/bench_cpu --threads 100000",
       "option --threads must be 1 to 1024, got 100000"},
      {"--threads 0", no_files,
       "$B/train --config " S2_SOURCE_DIR "/experiments/configs/demo_victoria.toml --threads 0",
       "option --threads must be 1 to 1024, got 0"},
      {"--threads negative", no_files, "$B/evaluate --checkpoint x.ckpt --threads -3",
       "option --threads must be 1 to 1024, got -3"},
      {"an option without its value (was 'needs a value' only)", no_files,
       "$B/train --config x.toml --resume --threads 2",
       "option --resume needs a value, got the option --threads"},
      {"an output path under a regular file (was 'internal error')",
       [](const fs::path& dir) {
         config_file(dir, victoria_config(""));
         write(dir / "plain.txt", "a file\n");
       },
       "$B/train --config c.toml --out plain.txt/run", "plain.txt/run"},
      // Rule: every float from outside is checked for finiteness, whatever the format (NaN in a table is
      // a gap, filled in time: data/gap_filling).
      {"pixel CSV holding infinity",
       [](const fs::path& dir) {
         write(dir / "p.csv", "label,id,a,b\n0,1,0.5,inf\n1,2,0.5,0.25\n");
         config_file(dir, "[data]\ntrain = \"p.csv\"\ntest = \"p.csv\"\nbands = 2\n");
       },
       "$B/train --config c.toml", "p.csv:2: column 4: value inf is infinite"},
      {"pixel CSV whose every sample has a band never seen",
       [](const fs::path& dir) {
         write(dir / "p.csv", "label,id,a,b\n0,1,0.5,nan\n1,2,0.5,\n");
         config_file(dir, "[data]\ntrain = \"p.csv\"\ntest = \"p.csv\"\nbands = 2\n");
       },
       "$B/train --config c.toml", "p.csv': no sample has a band seen on 1 dates or more"},
      // Rule: coordinates are WGS84 degrees, one per sample; a location-aware model needs them.
      {"a coords file with a row count that differs",
       [](const fs::path& dir) {
         write(dir / "p.csv", "label,id,a,b\n0,1,0.5,0.25\n1,2,0.5,0.25\n");
         write(dir / "xy.csv", "51.0,4.0\n");
         config_file(dir,
                     "[data]\ntrain = \"p.csv\"\ntrain_coords = \"xy.csv\"\nbands = 2\n[split]\nkind = "
                     "\"stratified\"\n");
       },
       "$B/train --config c.toml", "xy.csv' has 1 rows for the 2 samples of"},
      {"coordinates out of range (projected metres given as degrees)",
       [](const fs::path& dir) {
         write(dir / "p.csv", "label,id,lat,lon,a,b\n0,1,5650000,500000,0.5,0.25\n1,2,51,4,0.5,0.25\n");
         config_file(dir, "[data]\ntrain = \"p.csv\"\nbands = 2\n[split]\nkind = \"stratified\"\n");
       },
       "$B/train --config c.toml", "p.csv': sample 0 is at latitude 5650000, longitude 500000"},
      {"a Geo-CBAM variant on data without coordinates", with_config(victoria_config("", "")),
       "$B/ablate --config c.toml --variants paper,geo_both --seeds 1",
       "'geo_both' is Geo-CBAM (geo = 'both') and needs where each sample is, but"},
      {"NPY values holding infinity",
       npy_data("1, 4, 10", std::vector<float>(40, std::numeric_limits<float>::infinity())), evaluate_npy,
       "x.npy': value inf of sample 0 (date 1, band 1) is infinite in float32"},
      {"checkpoint weights holding NaN, valid checksum (was a map of class 1)",
       corrupted([](Checkpoint& c) { c.tensors[0].second.data()[0] = std::nanf(""); }),
       "$B/evaluate --checkpoint m.ckpt", "holds a NaN or infinite value"},
      // Rule: file structure: a shape that cannot be, a truncated file.
      {"NPY shape (-80, 73, 10) (was read as 80)", npy_data("-80, 73, 10", {}), evaluate_npy, "x.npy'"},
      {"NPY claiming a huge shape", npy_data("4000000000, 73, 10", {}), evaluate_npy, "x.npy'"},
      {"a truncated checkpoint",
       [ckpt](const fs::path& dir) {
         std::ifstream in(ckpt, std::ios::binary);
         const std::string bytes{std::istreambuf_iterator<char>(in), {}};
         write(dir / "m.ckpt", bytes.substr(0, bytes.size() / 2));
       },
       "$B/evaluate --checkpoint m.ckpt", "m.ckpt"},
      // Rule: a file whose meaning depends on another is checked against it.
      {"a checkpoint used with data of other bands", npy_data("1, 4, 7", std::vector<float>(28, 0.5f)),
       evaluate_npy, "x.npy' has 4 dates x 7 bands, but the model was trained on 4 x 10"},
      {"resuming a training state into another config",
       [](const fs::path& dir) {
         config_file(dir, victoria_config(""));
         const Outcome first = run(dir.string(), kBin + "/train --config c.toml --out run --threads 1");
         REQUIRE_MESSAGE(first.exit_code == 0, first.output);
         config_file(dir, victoria_config("", "learning_rate = 0.01\n"));
       },
       "$B/train --config c.toml --out run --threads 1 --resume yes", "was written by another run"},
  };
  // (Training that turns non-finite, the last rule, is test_training's "a diverging run ...": no config
  // can set a learning rate high enough to force it from the command line.)
#ifdef S2_HAVE_GDAL
  // predict_map exists only in GDAL builds (the GPU nodes build without GDAL).
  rows.push_back({"predict_map --threads 100000 (was SIGSEGV)", no_files, "$B/predict_map --threads 100000",
                  "option --threads must be 1 to 1024, got 100000"});
  // Legend tables too: the Flanders images with an edited legend.
  const auto raster_row = [](const std::string& name, const std::string& legend, const std::string& message) {
    return Row{name,
               [legend](const fs::path& dir) {
                 fs::create_directories(dir / "series");
                 fs::create_directory_symlink(kData + "/worldcereal/flanders-2019/s2", dir / "series" / "s2");
                 fs::create_symlink(kData + "/worldcereal/flanders-2019/labels.tif",
                                    dir / "series" / "labels.tif");
                 write(dir / "series" / "legend.csv", legend);
                 config_file(dir,
                             "[data]\nformat = \"raster_series\"\ntrain = \"series\"\ntimesteps = 6\n"
                             "[split]\nkind = \"grouped_kfold\"\n");
               },
               "$B/train --config c.toml", message};
  };
  const std::string legend =
      "code,name\n1110,Winter wheat\n1200,Maize\n1500,Barley\n1510,Winter barley\n"
      "5100,Potatoes\n8100,Sugar beet\n9120,Permanent grass crops\n";
  rows.push_back(raster_row("a legend listing a code twice", legend + "1200,Maize again\n",
                            "legend.csv:9: code 1200 is listed twice"));
  rows.push_back(raster_row("a legend naming two codes alike", legend + "1300,Maize\n",
                            "legend.csv:9: name 'Maize' is listed for codes 1200 and 1300"));
  rows.push_back(
      raster_row("a legend with code 0", legend + "0,Nothing\n", "legend.csv:9: code 0 must be positive"));
  rows.push_back(Row{"a merge of a class the legend does not have",
                     [&](const fs::path& dir) {
                       raster_row("", legend, "").prepare(dir);
                       config_file(dir,
                                   "[data]\nformat = \"raster_series\"\ntrain = \"series\"\ntimesteps = 6\n"
                                   "[data.merge]\nBarlee = \"Cereal\"\n[split]\nkind = \"grouped_kfold\"\n");
                     },
                     "$B/train --config c.toml", "[data] merge names 'Barlee', which is not in the legend"});
  rows.push_back(raster_row("a label code missing from the legend", "code,name\n1110,Winter wheat\n",
                            "is not in the legend"));
  // The map tools' options and inputs.
  rows.push_back({"predict_map --cog maybe", no_files,
                  "$B/predict_map --checkpoint m.ckpt --input x --out m.tif --cog maybe",
                  "option --cog takes auto, yes or no, got 'maybe'"});
  rows.push_back({"evaluate_map with nothing to evaluate against", no_files, "$B/evaluate_map --map m.tif",
                  "evaluate_map needs --labels (a label raster) or --sample"});
  rows.push_back({"prepare with a negative buffer", no_files,
                  "$B/prepare --polygons p.geojson --class-field crop --images i --out o --buffer -5",
                  "option --buffer is an inward distance in metres, 0 or more, got -5"});
  rows.push_back(
      {"polygons without the class attribute",
       [](const fs::path& dir) {
         write(dir / "fields.geojson",
               R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"crop":"Maize"},)"
               R"("geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]})");
       },
       "$B/prepare --polygons fields.geojson --class-field code --images " + kData +
           "/worldcereal/flanders-2019 --out o",
       "fields.geojson': layer 'fields' has no attribute 'code' (its attributes: crop)"});
#endif
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    CAPTURE(row.name);
    const fs::path dir = root / std::to_string(i);
    fs::create_directories(dir);
    row.prepare(dir);
    const Outcome o = run(dir.string(), expand(row.command));
    CAPTURE(o.output);
    CHECK_FALSE(o.signalled);
    CHECK(o.exit_code == 1);
    CHECK(o.output.find("error: ") != std::string::npos);
    CHECK(o.output.find("internal error") == std::string::npos);
    CHECK(o.output.find(row.message) != std::string::npos);
  }
}
