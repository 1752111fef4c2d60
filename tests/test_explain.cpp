// explain (issue #16): the perturbations, the attention trace, occlusion importance, deletion curves and
// the rank correlation, each against a case whose answer is known; then the binary on a tiny trained
// model, whose outputs must agree with each other and with the model's own test accuracy.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/explain/explanation.h"
#include "experiments/explain/perturb.h"
#include "experiments/training/trainer.h"
#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "kernels/rounding_bound.h"
#include "models/cbam_crop_net.h"
#include "tests/run_binary.h"
#include "tests/temp_files.h"

using namespace s2;
using experiments::interpolate_dates;
using experiments::without_band;
namespace fs = std::filesystem;

namespace {

// A classifier that looks only at one date and band: logits (v, -v) for v = x[date][band], so class 0
// is predicted where that value is positive.
class OneValueClassifier : public models::Classifier {
 public:
  OneValueClassifier(int64_t timesteps, int64_t bands, int64_t date, int64_t band)
      : timesteps_(timesteps), bands_(bands), date_(date), band_(band) {}
  Tensor forward(const Tensor& x) override {
    const int64_t n = x.size(0);
    std::vector<float> logits;
    for (int64_t i = 0; i < n; ++i) {
      const float v = x.data()[i * timesteps_ * bands_ + date_ * bands_ + band_];
      logits.push_back(v);
      logits.push_back(-v);
    }
    return Tensor::from_vector({n, 2}, logits);
  }
  int64_t num_classes() const override { return 2; }

 private:
  int64_t timesteps_, bands_, date_, band_;
};

data::PixelDataset random_dataset(int64_t n, int64_t timesteps, int64_t bands, uint32_t seed) {
  data::PixelDataset d;
  d.timesteps = timesteps;
  d.bands = bands;
  d.class_names = {"a", "b"};
  d.source = "random";
  Generator g(seed);
  for (int64_t i = 0; i < n * timesteps * bands; ++i)
    d.values.push_back(static_cast<float>(g.uniform() * 2.0 - 1.0));
  for (int64_t i = 0; i < n; ++i) d.labels.push_back(static_cast<int32_t>(i % 2));
  return d;
}

// A CBAM network on 6 dates x 3 bands, 2 classes, one stage of 4 channels, seeded.
models::CbamCropNet tiny_cbam() {
  manual_seed(5);
  return models::CbamCropNet(models::CbamCropNetConfig{.timesteps = 6,
                                                       .bands = 3,
                                                       .classes = 2,
                                                       .stem_width = 4,
                                                       .stage_widths = {4},
                                                       .reduction = 2,
                                                       .spatial_kernel = 3});
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The accuracy at k = 0 of every curve in a deletion.csv.
std::vector<double> curve_starts(const std::string& csv) {
  std::vector<double> starts;
  std::istringstream lines(csv);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(",0,") != std::string::npos) starts.push_back(std::stod(line.substr(line.rfind(',') + 1)));
  }
  return starts;
}

// The number after `"key": ` at or after `from` in a JSON text.
double json_number(const std::string& text, const std::string& key, size_t from = 0) {
  const size_t at = text.find("\"" + key + "\": ", from);
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + key.size() + 4));
}

}  // namespace

TEST_CASE("interpolate_dates: removed dates lie on the line between the nearest kept ones") {
  const int64_t t = 7, b = 2;
  std::vector<float> sample;
  for (int64_t i = 0; i < t; ++i)
    sample.insert(sample.end(), {3.0f * static_cast<float>(i), 10.0f - static_cast<float>(i)});
  const std::vector<float> line = sample;  // linear in the date: interpolation must give it back
  interpolate_dates(sample.data(), t, b, {false, true, true, false, false, true, false});
  for (size_t i = 0; i < line.size(); ++i) {
    // lo + w (hi - lo): three roundings of terms up to |lo| + |hi - lo|, at most 2 * 18 here
    CHECK(std::abs(sample[i] - line[i]) <= float32_difference_bound(3, 36.0));
  }
  // At the ends, the nearest kept date is copied.
  std::vector<float> ends = line;
  interpolate_dates(ends.data(), t, b, {true, true, false, false, false, false, true});
  CHECK(ends[0] == line[4]);
  CHECK(ends[2] == line[4]);
  CHECK(ends[12] == line[10]);
  CHECK(ends[13] == line[11]);
  // Nothing kept: left as it is.
  std::vector<float> none = line;
  interpolate_dates(none.data(), t, b, std::vector<bool>(7, true));
  CHECK(none == line);
}

TEST_CASE("without_band: the band becomes the mean of its spectral neighbours, in reflectance") {
  const data::PixelDataset d = random_dataset(3, 4, 4, 5);
  const std::vector<float> mean{0.1f, 0.2f, 0.3f, 0.4f}, stddev{0.5f, 1.5f, 2.0f, 0.25f};
  for (int64_t band = 0; band < 4; ++band) {
    const data::PixelDataset out = without_band(d, band, mean, stddev);
    const int64_t lo = band == 0 ? 1 : band - 1, hi = band == 3 ? 2 : band + 1;
    for (int64_t r = 0; r < 12; ++r) {
      const auto raw = [&](int64_t k) {
        return static_cast<double>(d.values[static_cast<size_t>(r * 4 + k)]) *
                   stddev[static_cast<size_t>(k)] +
               mean[static_cast<size_t>(k)];
      };
      const double want =
          (0.5 * (raw(lo) + raw(hi)) - mean[static_cast<size_t>(band)]) / stddev[static_cast<size_t>(band)];
      // Two de-normalisations, a sum, a halving, a re-normalisation: 8 roundings of values below 12.
      CHECK(std::abs(out.values[static_cast<size_t>(r * 4 + band)] - want) <=
            float32_difference_bound(8, 12.0));
      for (int64_t k = 0; k < 4; ++k) {
        if (k != band)
          CHECK(out.values[static_cast<size_t>(r * 4 + k)] == d.values[static_cast<size_t>(r * 4 + k)]);
      }
    }
  }
}

TEST_CASE("occlusion importance is non-zero only for the date and the band a model reads") {
  const int64_t t = 6, b = 3;
  const data::PixelDataset d = random_dataset(40, t, b, 11);
  OneValueClassifier model(t, b, 2, 1);
  const experiments::OcclusionImportance o =
      experiments::occlusion_importance(model, d, {0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f});
  REQUIRE(o.date_all.size() == static_cast<size_t>(t));
  REQUIRE(o.band_all.size() == static_cast<size_t>(b));
  for (int64_t date = 0; date < t; ++date) {
    CAPTURE(date);
    if (date == 2) {
      CHECK(o.date_all[2] != 0.0);
    } else {
      CHECK(o.date_all[static_cast<size_t>(date)] == 0.0);
      for (const auto& by_class : o.date_by_class) CHECK(by_class[static_cast<size_t>(date)] == 0.0);
    }
  }
  CHECK(o.band_all[0] == 0.0);
  CHECK(o.band_all[1] != 0.0);
  CHECK(o.band_all[2] == 0.0);
  // Date 2's value against float64: softmax of (v, -v) gives class 0 the probability 1 / (1 + e^(-2v)).
  double want = 0.0;
  for (int64_t i = 0; i < 40; ++i) {
    const float* s = d.values.data() + i * t * b;
    const double v = s[2 * b + 1], v_interp = 0.5 * (static_cast<double>(s[1 * b + 1]) + s[3 * b + 1]);
    const auto p_true = [&](double value) {
      const double p0 = 1.0 / (1.0 + std::exp(-2.0 * value));
      return d.labels[static_cast<size_t>(i)] == 0 ? p0 : 1.0 - p0;
    };
    want += (p_true(v) - p_true(v_interp)) / 40.0;
  }
  // Each probability is a float32 softmax (a chain of classes + 24 roundings, values up to 1), and the
  // interpolated input itself is 3 roundings off (scaled by the logistic's slope, at most 1/2 x 2).
  CHECK(std::abs(o.date_all[2] - want) <= 2.0 * float32_difference_bound(2 + 24 + 3, 1.0));
  // The per-class means average to the overall mean (equal class sizes).
  CHECK(std::abs(0.5 * (o.date_by_class[0][2] + o.date_by_class[1][2]) - o.date_all[2]) <= 1e-12);
}

TEST_CASE("deletion curves: removing the date a model reads changes accuracy, removing others does not") {
  const int64_t t = 6, b = 2;
  const data::PixelDataset d = random_dataset(60, t, b, 12);
  OneValueClassifier model(t, b, 3, 0);
  const experiments::Prediction p = experiments::predict(model, d);
  int64_t hits = 0;
  for (size_t i = 0; i < d.labels.size(); ++i) hits += p.classes[i] == d.labels[i] ? 1 : 0;
  const double accuracy = static_cast<double>(hits) / 60.0;
  std::vector<double> date3_first(static_cast<size_t>(60 * t), 0.0),
      date3_last(static_cast<size_t>(60 * t), 1.0);
  for (int64_t i = 0; i < 60; ++i) {
    date3_first[static_cast<size_t>(i * t + 3)] = 1.0;
    date3_last[static_cast<size_t>(i * t + 3)] = 0.0;
  }
  const auto first = experiments::deletion_curve(model, d, date3_first, 3, "first");
  const auto last = experiments::deletion_curve(model, d, date3_last, 3, "last");
  REQUIRE(first.accuracy.size() == 4);
  CHECK(first.accuracy[0] == accuracy);
  CHECK(first.accuracy[1] != accuracy);                       // date 3 replaced by the mean of dates 2 and 4
  for (const double a : last.accuracy) CHECK(a == accuracy);  // date 3 is never among the top 3
  const auto random = experiments::random_deletion_curve(model, d, 3, 1, 4);
  CHECK(random.accuracy[0] == accuracy);
  CHECK(random.accuracy == experiments::random_deletion_curve(model, d, 3, 1, 4).accuracy);  // seeded
}

TEST_CASE("spearman: monotone, reversed, ties and constants") {
  CHECK(experiments::spearman({1, 2, 3, 4}, {10, 20, 35, 90}) == doctest::Approx(1.0));
  CHECK(experiments::spearman({1, 2, 3, 4}, {4, 3, 2, 1}) == doctest::Approx(-1.0));
  CHECK(experiments::spearman({1, 2, 3}, {5, 5, 5}) == 0.0);
  // Ranks (0, 1.5, 1.5, 3) against (0, 1, 2, 3): deviations from 1.5 give the co-moment 4.5 and the
  // second moments 4.5 and 5.
  CHECK(experiments::spearman({1, 2, 2, 3}, {1, 2, 3, 4}) == doctest::Approx(4.5 / std::sqrt(4.5 * 5.0)));
}

TEST_CASE(
    "the attention trace: same logits as the fused forward within the rounding bound, factors in (0, 1)") {
  models::CbamCropNetConfig config{.timesteps = 8,
                                   .bands = 5,
                                   .classes = 3,
                                   .stem_width = 8,
                                   .stage_widths = {8, 16},
                                   .reduction = 4,
                                   .spatial_kernel = 3};
  manual_seed(3);
  models::CbamCropNet net(config);
  net.eval();
  NoGradGuard no_grad;
  Generator g(4);
  std::vector<float> x(static_cast<size_t>(6 * 8 * 5));
  for (float& v : x) v = static_cast<float>(g.uniform() * 2.0 - 1.0);
  const Tensor input = Tensor::from_vector({6, 1, 8, 5}, x);
  models::AttentionTrace trace;
  const std::vector<float> traced = net.forward_traced(input, trace).to_vector();
  const std::vector<float> fused = net.forward(input).to_vector();
  double max_ref = 0.0, max_err = 0.0;
  for (size_t i = 0; i < fused.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(static_cast<double>(fused[i])));
    max_err = std::max(max_err, std::abs(static_cast<double>(traced[i]) - fused[i]));
  }
  CHECK(max_err <= float32_difference_bound(models::rounding_chain(config, 6, false), max_ref));
  REQUIRE(trace.channel.size() == 2);
  REQUIRE(trace.spatial.size() == 2);
  CHECK(trace.channel[1].shape() == Shape{6, 16});
  CHECK(trace.spatial[1].shape() == Shape{6, 8, 5});
  for (const auto& list : {trace.channel, trace.spatial}) {
    for (const Tensor& t : list) {
      for (const float v : t.to_vector()) CHECK((v > 0.0f && v < 1.0f));
    }
  }
  // Without attention: empty trace; channel only: no spatial maps.
  config.attention = models::Attention::ChannelOnly;
  models::CbamCropNet channel_only(config);
  channel_only.eval();
  channel_only.forward_traced(input, trace);
  CHECK(trace.channel[0].defined());
  CHECK_FALSE(trace.spatial[0].defined());
}

TEST_CASE("summarise_attention: counts by class and correctness, means of maps in (0, 1)") {
  models::CbamCropNet net = tiny_cbam();
  const data::PixelDataset d = random_dataset(50, 6, 3, 13);
  const experiments::AttentionSummary s = experiments::summarise_attention(net, d, 16);
  const experiments::Prediction p = experiments::predict(net, d);
  CHECK(s.predicted == p.classes);  // the traced path predicts as the fused one on these inputs
  REQUIRE(s.stages.size() == 1);
  int64_t total = 0;
  for (int32_t c = 0; c < 2; ++c) {
    const experiments::ClassAttention& ca = s.stages[0].classes[static_cast<size_t>(c)];
    int64_t correct = 0, wrong = 0;
    for (size_t i = 0; i < d.labels.size(); ++i) {
      if (d.labels[i] == c) (p.classes[i] == c ? correct : wrong) += 1;
    }
    CHECK(ca.correct == correct);
    CHECK(ca.wrong == wrong);
    total += ca.correct + ca.wrong;
    CHECK(ca.spatial_correct.size() == (correct > 0 ? 18u : 0u));
    CHECK(ca.channel_correct.size() == (correct > 0 ? 4u : 0u));
    for (const double v : ca.spatial_correct) CHECK((v > 0.0 && v < 1.0));
  }
  CHECK(total == 50);
  CHECK(s.date_attention.size() == 50u * 6u);
}

TEST_CASE("pool_attention: the pooled means of two parts are the means over the whole") {
  models::CbamCropNet net = tiny_cbam();
  const data::PixelDataset whole = random_dataset(50, 6, 3, 13);
  data::PixelDataset first = whole, second = whole;  // samples 0-19 and 20-49
  const size_t split = 20, width = 18;
  first.values.resize(split * width);
  first.labels.resize(split);
  second.values.erase(second.values.begin(),
                      second.values.begin() + static_cast<std::ptrdiff_t>(split * width));
  second.labels.erase(second.labels.begin(), second.labels.begin() + static_cast<std::ptrdiff_t>(split));
  const experiments::AttentionSummary all = experiments::summarise_attention(net, whole, 16);
  experiments::AttentionSummary pooled;
  experiments::pool_attention(pooled, experiments::summarise_attention(net, first, 16));
  experiments::pool_attention(pooled, experiments::summarise_attention(net, second, 16));
  CHECK(pooled.predicted == all.predicted);
  CHECK(pooled.date_attention.size() == all.date_attention.size());
  for (size_t c = 0; c < 2; ++c) {
    const auto& a = all.stages[0].classes[c];
    const auto& p = pooled.stages[0].classes[c];
    CHECK(p.correct == a.correct);
    CHECK(p.wrong == a.wrong);
    // Both are means of the same values in double: the sums' and the weighting's roundings, at most a
    // few units of 2^-53 per sample, on values below 1.
    const double bound = 8.0 * 50 * 0x1.0p-53;
    for (const auto& [got, want] :
         {std::pair{&p.spatial_correct, &a.spatial_correct}, std::pair{&p.spatial_wrong, &a.spatial_wrong},
          std::pair{&p.channel_correct, &a.channel_correct}}) {
      REQUIRE(got->size() == want->size());
      for (size_t i = 0; i < got->size(); ++i) CHECK(std::abs((*got)[i] - (*want)[i]) <= bound);
    }
  }
}

TEST_CASE("explain on a tiny trained model: files written, curves start at the model's test accuracy") {
  const fs::path dir = testing::temp_dir() / "explain";
  fs::create_directories(dir);
  std::ofstream(dir / "tiny.toml")
      << "[data]\nroot = \"" S2_SHARED_DATA
         "\"\n"
         "train = \"victoria-2017/train.csv\"\ntest = \"victoria-2017/test.csv\"\n"
         "timesteps = 6\n[model]\nstem_width = 4\nstage_widths = [4]\n"
         "reduction = 2\nspatial_kernel = 3\n[train]\nepochs = 1\n";
  const std::string bin = S2_BINARY_DIR;
  const testing::Outcome trained =
      testing::run(dir.string(), bin + "/train --config tiny.toml --out tiny --threads 1");
  REQUIRE_MESSAGE(trained.exit_code == 0, trained.output);
  const testing::Outcome o = testing::run(
      dir.string(), bin + "/explain --checkpoint tiny/model.ckpt --out ex --threads 1 --random-repeats 2");
  REQUIRE_MESSAGE(o.exit_code == 0, o.output);
  for (const char* f : {"explain.json", "attention.csv", "occlusion.csv", "deletion.csv",
                        "attention_stage1.svg", "occlusion.svg", "deletion.svg"}) {
    CHECK_MESSAGE(fs::exists(dir / "ex" / f), f);
  }
  // Every curve starts (k = 0) at the test OA that train reported.
  const double oa = json_number(read_text(dir / "tiny" / "report.json"), "overall_accuracy");
  const std::vector<double> starts = curve_starts(read_text(dir / "ex" / "deletion.csv"));
  CHECK(starts.size() == 3);  // attention, occlusion, random
  for (const double a : starts) CHECK(a == doctest::Approx(oa).epsilon(1e-6));
  CHECK(o.output.find("rank correlation of attention and occlusion") != std::string::npos);
  // A model without attention: occlusion and the two curves that need no attention, and it says so.
  std::string tempcnn_config = read_text(dir / "tiny.toml");
  tempcnn_config.replace(tempcnn_config.find("[model]\n"), 8, "[model]\nkind = \"tempcnn\"\n");
  std::ofstream(dir / "tempcnn.toml") << tempcnn_config;
  const testing::Outcome tempcnn_trained =
      testing::run(dir.string(), bin + "/train --config tempcnn.toml --out tempcnn --threads 1");
  REQUIRE_MESSAGE(tempcnn_trained.exit_code == 0, tempcnn_trained.output);
  const testing::Outcome plain = testing::run(
      dir.string(),
      bin + "/explain --checkpoint tempcnn/model.ckpt --out ex-tempcnn --threads 1 --random-repeats 1");
  REQUIRE_MESSAGE(plain.exit_code == 0, plain.output);
  CHECK(plain.output.find("This model has no attention") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "ex-tempcnn" / "attention.csv"));
  const std::string plain_deletion = read_text(dir / "ex-tempcnn" / "deletion.csv");
  CHECK(plain_deletion.find("occlusion,") != std::string::npos);
  CHECK(plain_deletion.find("attention,") == std::string::npos);
  // A k-fold run: --fold rebuilds that fold's test pixels, so the curves start at the fold's OA.
  std::string kfold_config = read_text(dir / "tiny.toml");
  kfold_config.replace(kfold_config.find("test = "),
                       kfold_config.find("timesteps") - kfold_config.find("test = "), "");
  kfold_config += "[split]\nkind = \"grouped_kfold\"\nfolds = 2\nvalidation_fraction = 0\n";
  std::ofstream(dir / "kfold.toml") << kfold_config;
  const testing::Outcome kfold_trained =
      testing::run(dir.string(), bin + "/train --config kfold.toml --out kfold --threads 1 --seed 3");
  REQUIRE_MESSAGE(kfold_trained.exit_code == 0, kfold_trained.output);
  const testing::Outcome fold = testing::run(dir.string(), bin +
                                                               "/explain --checkpoint kfold/model-fold2.ckpt "
                                                               "--fold fold2 --split-seed 3 --out ex-fold "
                                                               "--threads 1 --random-repeats 1");
  REQUIRE_MESSAGE(fold.exit_code == 0, fold.output);
  const std::string kfold_report = read_text(dir / "kfold" / "report.json");
  const double fold2_oa = json_number(kfold_report, "overall_accuracy", kfold_report.find("\"fold2\""));
  const std::vector<double> fold_starts = curve_starts(read_text(dir / "ex-fold" / "deletion.csv"));
  CHECK(fold_starts.size() == 3);
  for (const double a : fold_starts) {
    CHECK(a == doctest::Approx(fold2_oa).epsilon(1e-6));
  }
  const testing::Outcome no_fold = testing::run(
      dir.string(), bin + "/explain --checkpoint kfold/model-fold2.ckpt --fold fold9 --out ex-none");
  CHECK(no_fold.exit_code == 1);
  CHECK(no_fold.output.find("the config's split has no fold 'fold9'") != std::string::npos);
  // Bad input: an option out of range is refused with a message naming it.
  const testing::Outcome bad =
      testing::run(dir.string(), bin + "/explain --checkpoint tiny/model.ckpt --out ex2 --max-removed 6");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("option --max-removed must be 1 to 5, got 6") != std::string::npos);

  // evaluate --attention yes: the report links the stage's heat map, drawn from the same attention.csv.
  const testing::Outcome evaluated = testing::run(
      dir.string(), bin + "/evaluate --checkpoint tiny/model.ckpt --out eval --attention yes --threads 1");
  REQUIRE_MESSAGE(evaluated.exit_code == 0, evaluated.output);
  CHECK(fs::exists(dir / "eval" / "attention_stage1.svg"));
  CHECK(read_text(dir / "eval" / "report.md").find("![attention_stage1.svg](attention_stage1.svg)") !=
        std::string::npos);
  CHECK(read_text(dir / "eval" / "attention.csv") == read_text(dir / "ex" / "attention.csv"));
  const testing::Outcome no_attention =
      testing::run(dir.string(),
                   bin + "/evaluate --checkpoint tempcnn/model.ckpt --out eval2 --attention yes --threads 1");
  CHECK(no_attention.exit_code == 1);
  CHECK(no_attention.output.find("a tempcnn model has no attention to draw") != std::string::npos);

  // ablate --attention yes: each attention variant's models pooled over seeds, linked from ablation.md.
  const testing::Outcome ablated =
      testing::run(dir.string(), bin +
                                     "/ablate --config tiny.toml --variants paper,no_attention --seeds 1,2 "
                                     "--out abl --attention yes --threads 1");
  REQUIRE_MESSAGE(ablated.exit_code == 0, ablated.output);
  const std::string table = read_text(dir / "abl" / "ablation.md");
  CHECK(table.find("![paper/attention_stage1.svg](paper/attention_stage1.svg)") != std::string::npos);
  CHECK(fs::exists(dir / "abl" / "paper" / "attention_stage1.svg"));
  CHECK_FALSE(fs::exists(dir / "abl" / "no_attention"));
  // Pooled over two seeds: every test pixel counted twice, once per seed's model (the counts of stage 1's
  // first cell, over the classes and correct/wrong).
  int64_t counted = 0;
  std::string first_band;
  std::istringstream rows(read_text(dir / "abl" / "paper" / "attention.csv"));
  for (std::string row; std::getline(rows, row);) {
    std::vector<std::string> cells;  // stage, class, samples, count, date, band, attention
    std::istringstream cols(row);
    for (std::string cell; std::getline(cols, cell, ',');) cells.push_back(cell);
    if (cells.size() != 7 || cells[0] != "1" || cells[4] != "date 1") continue;
    if (first_band.empty()) first_band = cells[5];
    if (cells[5] == first_band) counted += std::stoll(cells[3]);
  }
  int64_t test_pixels = -1;  // the header
  std::istringstream test_rows(read_text(fs::path(S2_SHARED_DATA) / "victoria-2017" / "test.csv"));
  for (std::string row; std::getline(test_rows, row);) test_pixels += row.empty() ? 0 : 1;
  CHECK(counted == 2 * test_pixels);
}
