// Models to and from other tools (experiments/interop): safetensors export and import round trip,
// PyTorch's names for the paper network, the logits of ../shared/bench/torch_cbam_ref.py on the exported
// weights (committed by scripts/safetensors_reference.py, so CI needs no PyTorch), and bad files.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/npy.h"
#include "experiments/interop/keras_import.h"
#include "experiments/interop/onnx_export.h"
#include "experiments/interop/safetensors_weights.h"
#include "experiments/training/experiment.h"
#include "experiments/training/saved_model.h"
#include "experiments/training/trainer.h"
#include "framework/atomic_file.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "framework/random.h"
#include "framework/safetensors.h"
#include "kernels/rounding_bound.h"
#include "models/tempcnn.h"
#include "models/torch_names.h"
#include "tests/run_binary.h"
#include "tests/temp_files.h"

using namespace s2;
using namespace s2::experiments;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kClasses{"bare ground", "canola", "cereals", "legumes", "forest"};

// The paper network (5 classes, 36 x 10 input) with seeded weights, batch-norm statistics and
// normalisation, as a checkpoint: what the exports start from, the same on every machine.
const std::string& paper_checkpoint() {
  static const std::string path = [] {
    Checkpoint ck;
    ck.config =
        "[data]\nformat = \"pixel_csv\"\ntrain = \"train.csv\"\ntest = \"test.csv\"\nbands = 10\ntimesteps = "
        "36\n"
        "[model]\nattention = \"cbam\"\n";
    ck.metadata =
        "model_kind = \"cbam\"\ntimesteps = 36\nbands = 10\nclasses = [\"bare ground\", \"canola\", "
        "\"cereals\", \"legumes\", \"forest\"]\n";
    Generator g(12);
    std::vector<float> mean(10), stddev(10);
    for (size_t b = 0; b < 10; ++b)
      mean[b] = 1000.0f * g.uniform(), stddev[b] = 100.0f + 900.0f * g.uniform();
    ck.add("norm",
           {{"mean", Tensor::from_vector({10}, mean)}, {"stddev", Tensor::from_vector({10}, stddev)}});
    manual_seed(11);
    SavedModel m = saved_model_of(ck, "paper", "", false);
    for (auto& [name, t] : m.model->named_buffers()) {  // running statistics away from 0 and 1
      for (int64_t i = 0; i < t.numel(); ++i) {
        t.data()[i] = name.ends_with("running_var") ? 0.5f + g.uniform() : 0.2f * g.normal();
      }
    }
    for (auto& [name, t] : m.model->named_parameters()) {
      if (name.ends_with("gamma") || name.ends_with("beta")) {
        for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] += 0.3f * g.normal();
      }
    }
    ck.add("model", m.model->named_parameters());
    ck.add("model", m.model->named_buffers());
    const std::string out = s2::testing::temp_path("paper.ckpt");
    save_checkpoint(out, ck);
    return out;
  }();
  return path;
}

// 16 samples of standard normal input, (16, 1, 36, 10).
Tensor reference_input() {
  Generator g(5);
  std::vector<float> v(16 * 36 * 10);
  for (float& x : v) x = g.normal();
  return Tensor::from_vector({16, 1, 36, 10}, v);
}

}  // namespace

TEST_CASE("safetensors export and import give back the same model, names, normalisation and config") {
  const std::string file = s2::testing::temp_path("paper.safetensors"),
                    back = s2::testing::temp_path("back.ckpt");
  const ExportSummary s = export_safetensors(paper_checkpoint(), file, WeightNames::Auto);
  CHECK(s.names == WeightNames::Torch);
  const SafeTensors st = load_safetensors(file);
  std::set<std::string> names;
  for (const auto& [name, t] : st.tensors) names.insert(name);
  // PyTorch's module names, batch-norm counters included (load_state_dict wants them).
  for (const char* expected :
       {"stem.0.weight", "stem.0.bias", "stem.1.weight", "stem.1.running_var", "r1.c1.weight", "r2.b2.bias",
        "r3.skip.weight", "a1.fc1.weight", "a2.fc2.bias", "a3.sconv.weight", "head.weight", "head.bias"}) {
    CHECK(names.count(expected) == 1);
  }
  CHECK(st.integers.size() == 7);  // the stem's batch norm and two per residual unit
  // Which s2cbam tensor each PyTorch name holds, as torch_cbam_ref.py's modules use them (a swap of two
  // same-shaped layers would pass every shape check).
  const SavedModel source = load_saved_model(paper_checkpoint());
  std::map<std::string, std::vector<float>> exported, own;
  for (const auto& [name, t] : st.tensors) exported[name] = t.to_vector();
  for (const auto& [name, t] : source.model->named_state()) own[name] = t.to_vector();
  for (const auto& [torch, s2] :
       std::vector<std::pair<std::string, std::string>>{{"r1.c1.weight", "stage1.unit1.conv1.weight"},
                                                        {"r1.c2.weight", "stage1.unit1.conv2.weight"},
                                                        {"r1.b1.weight", "stage1.unit1.bn1.gamma"},
                                                        {"r1.b2.running_var", "stage1.unit1.bn2.running_var"},
                                                        {"a1.fc1.weight", "stage1.cbam.channel.fc1.weight"},
                                                        {"a1.fc2.bias", "stage1.cbam.channel.fc2.bias"},
                                                        {"stem.1.bias", "stem_bn.beta"}}) {
    CAPTURE(torch);
    CHECK(exported.at(torch) == own.at(s2));
  }
  CHECK(st.metadata.at("bn_epsilon") == "0.001");
  int64_t trainable = 0;
  const SavedModel original = load_saved_model(paper_checkpoint());
  for (const auto& [name, t] : original.model->named_parameters()) trainable += t.numel();
  CHECK(trainable == 1250851);  // the paper's count for 5 classes

  import_safetensors(file, "", back);
  const SavedModel imported = load_saved_model(back);
  CHECK(weights_checksum(imported.model->named_state()) == weights_checksum(original.model->named_state()));
  CHECK(imported.normaliser.mean == original.normaliser.mean);  // %.9g reads back to the same float
  CHECK(imported.normaliser.stddev == original.normaliser.stddev);
  CHECK(imported.class_names == kClasses);
  CHECK(imported.origin == file + " (safetensors)");

  // s2cbam's own names, and weights from elsewhere (no metadata) with --like.
  export_safetensors(paper_checkpoint(), file, WeightNames::S2cbam);
  SafeTensors bare = load_safetensors(file);
  CHECK(bare.tensors.front().first == "stem_conv.weight");
  bare.metadata.clear();
  save_safetensors(file, bare);
  CHECK_THROWS_WITH_AS(import_safetensors(file, "", back), doctest::Contains("carries no s2cbam config"),
                       s2::Error);
  import_safetensors(file, paper_checkpoint(), back);
  CHECK(weights_checksum(load_saved_model(back).model->named_state()) ==
        weights_checksum(original.model->named_state()));
}

TEST_CASE("PyTorch's statement of the network gives the same logits on the exported weights") {
  // scripts/safetensors_reference.py loads the export into torch_cbam_ref.Net with load_state_dict
  // (strict), sets its batch norms' epsilon from the metadata, and saves its eval-mode logits on
  // reference_input() (torch 2.15.0, float32) as tests/data/torch_cbam_ref_logits.npy.
  const std::string file = s2::testing::temp_path("reference.safetensors");
  export_safetensors(paper_checkpoint(), file, WeightNames::Torch);
  SavedModel m = load_saved_model(paper_checkpoint());
  auto config = dynamic_cast<models::CbamCropNet&>(*m.model).config();
  const int64_t chain = models::rounding_chain(config, 16, false);
  if (const char* dir = std::getenv("S2_WRITE_INTEROP_FIXTURE")) {  // the script's first half
    fs::copy_file(file, fs::path(dir) / "paper.safetensors", fs::copy_options::overwrite_existing);
    const Tensor x = reference_input();
    data::write_npy((fs::path(dir) / "input.npy").string(), x.shape(), x.to_vector());
    // The script's --check holds another PyTorch build to the same bound as this test.
    std::ofstream(fs::path(dir) / "chain.txt") << chain << "\n";
  }
  const data::NpyArray want = data::read_npy(S2_SOURCE_DIR "/tests/data/torch_cbam_ref_logits.npy");
  REQUIRE(want.shape == std::vector<int64_t>{16, 5});
  const std::vector<float> got = m.model->forward(reference_input()).to_vector();
  double largest = 0;
  for (const double v : want.values) largest = std::max(largest, std::fabs(v));
  // Two float32 evaluations of the same inference chain, sized by the largest logit: the worst-case bound,
  // and the probabilistic one (lambda = 8: fails by chance with probability below 2 n e^-32, about 1e-10).
  // Only the second is tight enough for the layouts: a transposed 3 x 3 kernel of r1.c1 moves the logits
  // by 2.2e-5, batch-norm statistics in reverse order by 8.8e-5 (measured with the script's model).
  const double worst_case = float32_difference_bound(chain, largest);
  const double probable = 2 * float32_probabilistic_gamma(chain, 8.0) * largest;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(std::fabs(got[i] - want.values[i]) <= worst_case);
    CHECK(std::fabs(got[i] - want.values[i]) <= probable);
    worst = std::max(worst, std::fabs(got[i] - want.values[i]));
  }
  MESSAGE("largest logit " << largest << ", largest difference " << worst << ", bounds " << worst_case
                           << " and " << probable << " (chain " << chain << ")");
}

TEST_CASE("bad safetensors files and mismatched weights: errors that name the file and the tensor") {
  const std::string file = s2::testing::temp_path("bad.safetensors"),
                    out = s2::testing::temp_path("bad.ckpt");
  s2::write_file_atomic(file, "abc");
  CHECK_THROWS_WITH_AS(load_safetensors(file), doctest::Contains("too short for a safetensors file"),
                       s2::Error);
  const auto with_header = [&](const std::string& header, size_t data_bytes) {
    const uint64_t n = header.size();
    s2::write_file_atomic(
        file, std::string(reinterpret_cast<const char*>(&n), 8) + header + std::string(data_bytes, '\0'));
  };
  with_header(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 24);
  CHECK_THROWS_WITH_AS(load_safetensors(file), doctest::Contains("tensor 'w' has the byte range [0, 20)"),
                       s2::Error);
  with_header(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 2);
  CHECK_THROWS_WITH_AS(load_safetensors(file), doctest::Contains("tensor 'w' has dtype U8"), s2::Error);
  with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 8);
  CHECK_THROWS_WITH_AS(load_safetensors(file), doctest::Contains("bad safetensors header: expected '}'"),
                       s2::Error);
  // A \u escape must be four hex digits (a fuzzer found that "zzzz" escaped as an unnamed exception).
  with_header(R"({"w\uzz1z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  CHECK_THROWS_WITH_AS(load_safetensors(file), doctest::Contains("a \\u escape needs four hex digits"),
                       s2::Error);
  with_header(R"({"w\u0041":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  const SafeTensors escaped = load_safetensors(file);
  REQUIRE(escaped.tensors.size() == 1);
  CHECK(escaped.tensors[0].first == "wA");
  const uint64_t huge = 1000;
  s2::write_file_atomic(file, std::string(reinterpret_cast<const char*>(&huge), 8) + "{}");
  CHECK_THROWS_WITH_AS(load_safetensors(file), doctest::Contains("the header claims 1000 bytes"), s2::Error);

  // F16 and BF16 read as float32.
  const uint16_t halves[2] = {0x3c00, 0xc000};  // 1 and -2 in F16; 0x3f80 is 1 in BF16
  const uint16_t brains[1] = {0x3f80};
  s2::write_file_atomic(file, [&] {
    const std::string header =
        R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}})";
    const uint64_t n = header.size();
    return std::string(reinterpret_cast<const char*>(&n), 8) + header +
           std::string(reinterpret_cast<const char*>(halves), 4) +
           std::string(reinterpret_cast<const char*>(brains), 2);
  }());
  const SafeTensors mixed = load_safetensors(file);
  CHECK(mixed.tensors[0].second.to_vector() == std::vector<float>{1.0f, -2.0f});
  CHECK(mixed.tensors[1].second.to_vector() == std::vector<float>{1.0f});

  export_safetensors(paper_checkpoint(), file, WeightNames::Torch);
  SafeTensors st = load_safetensors(file);
  st.tensors[2].second = Tensor::zeros({7});  // stem.1.weight (64 values)
  save_safetensors(file, st);
  CHECK_THROWS_WITH_AS(
      import_safetensors(file, "", out),
      doctest::Contains("tensor stem.1.weight has shape [7], the model's stem_bn.gamma is [64]"), s2::Error);
  export_safetensors(paper_checkpoint(), file, WeightNames::Torch);
  st = load_safetensors(file);
  st.tensors.erase(st.tensors.begin() + 1);  // stem.0.bias
  st.tensors.emplace_back("extra.weight", Tensor::zeros({1}));
  save_safetensors(file, st);
  CHECK_THROWS_WITH_AS(
      import_safetensors(file, "", out),
      doctest::Contains("has no tensor for the model's stem_conv.bias (PyTorch name stem.0.bias)"),
      s2::Error);
}

TEST_CASE("the export_weights and import_weights binaries") {
  const std::string bin = S2_BINARY_DIR, dir = s2::testing::temp_path("cli");
  fs::create_directories(dir);
  const auto exported = s2::testing::run(
      dir, bin + "/export_weights --checkpoint " + paper_checkpoint() + " --out w.safetensors");
  INFO(exported.output);
  CHECK(exported.exit_code == 0);
  // 1,250,851 trainable values and the 1,920 running statistics.
  CHECK(exported.output.find(
            "wrote w.safetensors: 56 tensors, 1252771 values, PyTorch (torch_cbam_ref.py) names") !=
        std::string::npos);
  const auto imported =
      s2::testing::run(dir, bin + "/import_weights --safetensors w.safetensors --out back.ckpt");
  CHECK(imported.exit_code == 0);
  CHECK(load_saved_model(dir + "/back.ckpt").origin == "w.safetensors (safetensors)");
  const auto bad = s2::testing::run(
      dir, bin + "/export_weights --checkpoint " + paper_checkpoint() + " --out x --names keras");
  CHECK(bad.output.find("option --names takes auto, torch or s2cbam, got 'keras'") != std::string::npos);
}

namespace {

// A model of `kind` (a [model] table) for the Victoria data with seeded weights and batch-norm
// statistics, normalised by the training file: a checkpoint as training would leave it.
std::string victoria_checkpoint(const std::string& name, const std::string& model_table) {
  const std::string config_text =
      "[data]\nformat = \"pixel_csv\"\nroot = \"" S2_SHARED_DATA
      "\"\ntrain = \"victoria-2017/train.csv\"\ntest = \"victoria-2017/test.csv\"\n"
      "bands = 10\ntimesteps = 36\n[split]\nkind = \"given\"\n[model]\n" +
      model_table;
  const ExperimentConfig c = load_config(s2::testing::write_temp(name + ".toml", config_text));
  const LoadedData d = load_data(c);
  Checkpoint ck;
  ck.config = config_text;
  ck.metadata = fmt::format("model_kind = \"{}\"\ntimesteps = 36\nbands = 10\nclasses = [\"{}\"]\n",
                            c.model.kind, fmt::join(d.train.class_names, "\", \""));
  ck.add("norm", data::BandNormaliser::fit(d.train).state());
  manual_seed(21);
  SavedModel m = saved_model_of(ck, name, "", false);
  Generator g(22);
  for (auto& [n, t] : m.model->named_buffers()) {
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data()[i] = n.ends_with("running_var") ? 0.5f + g.uniform() : 0.2f * g.normal();
  }
  ck.add("model", m.model->named_parameters());
  ck.add("model", m.model->named_buffers());
  const std::string path = s2::testing::temp_path(name + ".ckpt");
  save_checkpoint(path, ck);
  return path;
}

}  // namespace

TEST_CASE(
    "ONNX exports give onnxruntime's probabilities on the Victoria test set: paper, ablation, TempCNN") {
  // scripts/onnx_reference.py runs each export in onnxruntime (1 thread) on the normalised Victoria test
  // set and commits the probabilities as tests/data/onnx_<name>_probabilities.npy, and the FNV-1a of
  // each export's bytes in tests/data/onnx_exports.txt: an export that changes must be checked again.
  const std::vector<std::pair<std::string, std::string>> models{
      {"paper", "attention = \"cbam\"\n"},
      {"spatial_no_skip", "attention = \"spatial\"\nresidual_skip = false\nunits_per_stage = 2\n"},
      {"tempcnn", "kind = \"tempcnn\"\n"}};
  const std::string hashes = s2::read_file(S2_SOURCE_DIR "/tests/data/onnx_exports.txt");
  const char* fixture = std::getenv("S2_WRITE_INTEROP_FIXTURE");
  std::vector<std::string> checkpoints;
  for (const auto& [name, table] : models) {  // the exports first, so the script gets all of them
    checkpoints.push_back(victoria_checkpoint(name, table));
    export_onnx(checkpoints.back(), s2::testing::temp_path(name + ".onnx"),
                false);  // the same bytes anywhere
    if (fixture != nullptr) {
      fs::copy_file(s2::testing::temp_path(name + ".onnx"), fs::path(fixture) / (name + ".onnx"),
                    fs::copy_options::overwrite_existing);
    }
  }
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string& name = models[i].first;
    CAPTURE(name);
    const std::string onnx = s2::testing::temp_path(name + ".onnx");
    const OnnxSummary s = export_onnx(checkpoints[i], onnx, false);
    const std::string bytes = s2::read_file(onnx);
    CHECK(hashes.find(name + " " + Fnv1a().add(bytes).hex()) != std::string::npos);
    SavedModel m = load_saved_model(checkpoints[i]);
    const data::PixelDataset d = load_for_model(m, test_files(m.config));
    data::PixelDataset normalised = d;
    m.normaliser.apply(normalised);
    if (fixture != nullptr) {
      data::write_npy((fs::path(fixture) / "victoria_test_x.npy").string(), {d.size(), 1, 36, 10},
                      normalised.values);
    }
    const Prediction p = predict(*m.model, normalised);
    const data::NpyArray want =
        data::read_npy(fmt::format("{}/tests/data/onnx_{}_probabilities.npy", S2_SOURCE_DIR, name));
    REQUIRE(want.shape == std::vector<int64_t>{d.size(), 8});
    const int64_t chain =
        s.model_kind == "tempcnn"
            ? models::rounding_chain(dynamic_cast<models::TempCnn&>(*m.model).config())
            : models::rounding_chain(dynamic_cast<models::CbamCropNet&>(*m.model).config(), 1, false);
    // A softmax output moves by at most half the largest error of the logits, which the chain bounds at
    // the size of the largest logit (from s2cbam's own forward pass).
    const std::vector<float> logits =
        m.model->forward(Tensor::from_vector({d.size(), 1, 36, 10}, normalised.values)).to_vector();
    double largest = 1;
    for (const float v : logits) largest = std::max(largest, std::fabs(static_cast<double>(v)));
    const double worst_case = float32_difference_bound(chain, largest);
    const double probable = 2 * float32_probabilistic_gamma(chain, 8.0) * largest;
    double worst = 0;
    for (size_t j = 0; j < p.probabilities.size(); ++j) {
      worst = std::max(worst, std::fabs(p.probabilities[j] - want.values[j]));
    }
    CHECK(worst <= worst_case);
    CHECK(worst <= probable);
    MESSAGE(name << ": " << s.bytes << " bytes, largest logit " << largest << ", largest difference " << worst
                 << " (bounds " << worst_case << ", " << probable << ")");
  }
}

#ifdef S2_HAVE_HDF5
TEST_CASE("ONNX export refuses a model it has no statement for instead of writing another network") {
  // TempCBAM is a TempCNN with attention: exporting its TempCNN layers alone would be a different model.
  const std::string checkpoint = victoria_checkpoint("tempcbam", "kind = \"tempcbam\"\n");
  CHECK_THROWS_WITH_AS(
      export_onnx(checkpoint, s2::testing::temp_path("tempcbam.onnx"), false),
      doctest::Contains("ONNX export knows the cbam, plain_cnn and tempcnn models, not 'tempcbam'"), Error);
  CHECK_FALSE(fs::exists(s2::testing::temp_path("tempcbam.onnx")));
}

TEST_CASE("Keras weights of the notebook's model: .keras and legacy .h5 give Keras's own softmax") {
  // scripts/keras_reference.py builds the notebook's model in Keras 3 (TensorFlow 2.21), draws its weights
  // and batch-norm statistics, saves it both ways, and commits its softmax on the first 64 Victoria test
  // samples (resampled to 36 x 10 and normalised as here) as tests/data/keras_softmax.npy.
  const std::string config = s2::testing::write_temp(
      "keras.toml", "[data]\nformat = \"pixel_csv\"\nroot = \"" S2_SHARED_DATA
                    "\"\ntrain = \"victoria-2017/train.csv\"\ntest = \"victoria-2017/test.csv\"\nbands = 10\n"
                    "timesteps = 36\n[split]\nkind = \"given\"\n[model]\nbn_momentum = 0.1\n");
  // The input: the first 64 test samples, normalised by the training file's statistics.
  LoadedData victoria = load_data(load_config(config));
  data::BandNormaliser::fit(victoria.train).apply(victoria.test);
  const std::vector<float> first(victoria.test.values.begin(), victoria.test.values.begin() + 64 * 360);
  if (const char* dir = std::getenv("S2_WRITE_INTEROP_FIXTURE")) {  // the script's input
    data::write_npy((fs::path(dir) / "keras_input.npy").string(), {64, 1, 36, 10}, first);
  }
  const data::NpyArray want = data::read_npy(S2_SOURCE_DIR "/tests/data/keras_softmax.npy");
  for (const char* file : {"keras_cbam.keras", "keras_cbam.h5"}) {
    const std::string name = file;
    CAPTURE(name);
    const std::string out = s2::testing::temp_path(name + ".ckpt");
    // The notebook's five outputs named here (Victoria has eight classes); no normalisation stored.
    import_keras(
        {std::string(S2_SOURCE_DIR "/tests/data/") + file, config, out, false, {"a", "b", "c", "d", "e"}});
    SavedModel m = load_saved_model(out);
    CHECK(m.origin.ends_with(std::string(file) + " (Keras)"));
    CHECK(m.config.model.cbam.batch_norm.eps == 0.001f);      // Keras's, whatever the config said
    CHECK(m.config.model.cbam.batch_norm.momentum == 0.01f);  // Keras's 0.99 in s2cbam's convention
    CHECK(m.normaliser.mean == std::vector<float>(10, 0.0f));
    REQUIRE(want.shape == std::vector<int64_t>{64, 5});
    const Tensor logits = m.model->forward(Tensor::from_vector({64, 1, 36, 10}, first));
    const std::vector<float> got = softmax(logits).to_vector();
    double largest = 1;
    for (const float v : logits.to_vector()) largest = std::max(largest, std::fabs(static_cast<double>(v)));
    const int64_t chain =
        models::rounding_chain(dynamic_cast<models::CbamCropNet&>(*m.model).config(), 64, false);
    const double worst_case = float32_difference_bound(chain, largest);
    const double probable = 2 * float32_probabilistic_gamma(chain, 8.0) * largest;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want.values[i]));
    CHECK(worst <= worst_case);
    CHECK(worst <= probable);
    MESSAGE(std::string(file) << ": largest logit " << largest << ", largest difference " << worst
                              << " (bounds " << worst_case << ", " << probable << ")");
  }
}

TEST_CASE("Keras files that are not the notebook's model: errors that name the file and the layer") {
  const std::string config =
      s2::testing::write_temp("keras-bad.toml", "[data]\nformat = \"pixel_csv\"\nroot = \"" S2_SHARED_DATA
                                                "\"\ntrain = \"victoria-2017/train.csv\"\nbands = "
                                                "10\ntimesteps = 36\n[split]\nkind = \"grouped\"\n[model]\n");
  const std::string out = s2::testing::temp_path("bad-keras.ckpt");
  // The Victoria training file has 8 classes; the notebook's model 5.
  CHECK_THROWS_WITH_AS(import_keras({S2_SOURCE_DIR "/tests/data/keras_cbam.h5", config, out, true, {}}),
                       doctest::Contains("the Keras model has 5 outputs, the config"), s2::Error);
  const std::string wide = s2::testing::write_temp(
      "keras-wide.toml",
      "[data]\nformat = \"pixel_csv\"\nroot = \"" S2_SHARED_DATA
      "\"\ntrain = \"victoria-2017/train.csv\"\nbands = 10\ntimesteps = 36\n[split]\nkind = \"grouped\"\n"
      "[model]\nstage_widths = [64, 128, 256, 512]\n");
  CHECK_THROWS_WITH_AS(
      import_keras(
          {S2_SOURCE_DIR "/tests/data/keras_cbam.keras", wide, out, false, {"a", "b", "c", "d", "e"}}),
      doctest::Contains("has no residual_unit_3/main_layers/conv2d/vars/0 for Keras layer "
                        "'residual_unit_3/main_layers/conv2d' "
                        "(s2cbam's stage4.unit1.conv1.weight)"),
      s2::Error);
  const std::string not_h5 = s2::testing::write_temp("not.h5", "plain text");
  CHECK_THROWS_WITH_AS(read_keras_weights(not_h5), doctest::Contains("is not an HDF5 file"), s2::Error);
  const std::string not_zip = s2::testing::write_temp("not.keras", "plain text");
  CHECK_THROWS_WITH_AS(read_keras_weights(not_zip), doctest::Contains("is not a Keras 3 archive"), s2::Error);
}
#endif
