#include "models/tree_ensemble.h"

#include <fmt/format.h>

#include <cmath>

#include "framework/error.h"

#ifdef S2_HAVE_XGBOOST
#include <xgboost/c_api.h>
#endif

namespace s2::models {

namespace {
// The serialised trees are bytes; a buffer holds them three to a float, as integers below 2^24, so
// every value is finite and exact (checkpoints reject NaN, which raw bytes read as floats could be).
constexpr uint32_t kExact = 1u << 24;  // float32 holds every integer below this

Tensor pack_bytes(const char* bytes, size_t n) {
  S2_CHECK(n / 3 < kExact, "a tree ensemble of {} bytes is too large to save", n);
  Tensor t = Tensor::zeros({static_cast<int64_t>(2 + (n + 2) / 3)});
  t.data()[0] = static_cast<float>(n % kExact);  // the length in two parts, each exact
  t.data()[1] = static_cast<float>(n / kExact);
  for (size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i]));
    float& slot = t.data()[2 + i / 3];
    slot = static_cast<float>(static_cast<uint32_t>(slot) | (byte << (8 * (i % 3))));
  }
  return t;
}

std::string unpack_bytes(const Tensor& t, const std::string& path) {
  const auto whole = [](float v) { return v >= 0 && v < static_cast<float>(kExact) && v == std::floor(v); };
  S2_CHECK(t.ndim() == 1 && t.numel() >= 2 && whole(t.data()[0]) && whole(t.data()[1]),
           "'{}': the tree ensemble's booster tensor is malformed", path);
  const size_t n = static_cast<size_t>(t.data()[0]) + static_cast<size_t>(t.data()[1]) * kExact;
  S2_CHECK(static_cast<size_t>(t.numel()) == 2 + (n + 2) / 3,
           "'{}': the tree ensemble's booster holds {} values for {} bytes", path, t.numel(), n);
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    const float v = t.data()[2 + i / 3];
    S2_CHECK(whole(v), "'{}': the tree ensemble's booster is corrupt", path);
    bytes[i] = static_cast<char>((static_cast<uint32_t>(v) >> (8 * (i % 3))) & 0xffu);
  }
  return bytes;
}

int64_t default_trees(const TreeEnsembleConfig& c) {
  return c.trees > 0 ? c.trees : c.kind == "rf" ? 500 : 300;
}
}  // namespace

TreeEnsemble::TreeEnsemble(const TreeEnsembleConfig& config) : config_(config) {
  S2_CHECK(config.kind == "rf" || config.kind == "gbdt", "unknown tree ensemble '{}' (expected rf or gbdt)",
           config.kind);
  S2_CHECK(tree_ensembles_available(),
           "model '{}' needs XGBoost, and this build of s2cbam has none (install libxgboost-dev and rebuild)",
           config.kind);
  S2_CHECK(config.classes >= 2, "model needs at least 2 classes, got {}", config.classes);
  register_buffer("booster", pack_bytes("", 0));  // unfitted
}

std::vector<std::pair<std::string, std::string>> TreeEnsemble::parameters_for(int64_t features,
                                                                              uint64_t seed) const {
  const bool forest = config_.kind == "rf";
  const int64_t depth = config_.max_depth >= 0 ? config_.max_depth : forest ? 0 : 6;
  const double subsample = config_.subsample > 0 ? config_.subsample : forest ? 0.632 : 0.8;
  std::vector<std::pair<std::string, std::string>> p{
      {"objective", "multi:softprob"},
      {"num_class", std::to_string(config_.classes)},
      {"tree_method", "hist"},
      {"nthread", "1"},  // one thread: the histograms' sums in one order, the same model everywhere
      {"seed", std::to_string(seed % 2147483647u)},
      {"max_depth", std::to_string(depth)},
      {"subsample", fmt::format("{}", subsample)},
      {"verbosity", "0"}};
  if (depth == 0) p.emplace_back("grow_policy", "lossguide");  // unlimited depth needs leaf-wise growth
  if (forest) {
    // One round of parallel trees, each split choosing among sqrt(features) candidates, no shrinkage.
    const double share = std::sqrt(static_cast<double>(features)) / static_cast<double>(features);
    p.insert(p.end(), {{"num_parallel_tree", std::to_string(default_trees(config_))},
                       {"colsample_bynode", fmt::format("{}", share)},
                       {"eta", "1"},
                       {"lambda", "1e-05"}});
  } else {
    p.insert(p.end(), {{"eta", fmt::format("{}", config_.learning_rate)}, {"colsample_bytree", "0.8"}});
  }
  return p;
}

#ifdef S2_HAVE_XGBOOST

bool tree_ensembles_available() {
  return true;
}

namespace {
void xgb(int status, const char* what) {
  S2_CHECK(status == 0, "XGBoost {}: {}", what, XGBGetLastError());
}

struct Matrix {
  DMatrixHandle handle = nullptr;
  Matrix(const Tensor& x, int64_t features) {
    const Tensor c = x.to(Device::CPU);
    xgb(XGDMatrixCreateFromMat(c.data(), static_cast<bst_ulong>(c.numel() / features),
                               static_cast<bst_ulong>(features), std::nanf(""), &handle),
        "cannot take the samples");
  }
  ~Matrix() { XGDMatrixFree(handle); }
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;
};
}  // namespace

struct TreeEnsemble::Booster {
  BoosterHandle handle = nullptr;
  explicit Booster(const DMatrixHandle* cache = nullptr, bst_ulong caches = 0) {
    xgb(XGBoosterCreate(cache, caches, &handle), "cannot create a booster");
  }
  ~Booster() { XGBoosterFree(handle); }
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
};

TreeEnsemble::~TreeEnsemble() = default;

void TreeEnsemble::fit(const Tensor& x, const std::vector<int32_t>& labels, const std::vector<float>& weights,
                       uint64_t seed) {
  const int64_t features = config_.timesteps * config_.bands, n = x.numel() / features;
  S2_CHECK(x.numel() == n * features && n == static_cast<int64_t>(labels.size()) && n >= 2,
           "tree ensemble: {} values and {} labels for samples of {} features", x.numel(), labels.size(),
           features);
  Matrix train(x, features);
  std::vector<float> y(labels.begin(), labels.end());
  xgb(XGDMatrixSetFloatInfo(train.handle, "label", y.data(), static_cast<bst_ulong>(n)), "labels");
  if (!weights.empty())
    xgb(XGDMatrixSetFloatInfo(train.handle, "weight", weights.data(), static_cast<bst_ulong>(n)), "weights");
  auto booster = std::make_unique<Booster>(&train.handle, 1);
  for (const auto& [key, value] : parameters_for(features, seed))
    xgb(XGBoosterSetParam(booster->handle, key.c_str(), value.c_str()), key.c_str());
  const int64_t rounds = config_.kind == "rf" ? 1 : default_trees(config_);
  for (int64_t r = 0; r < rounds; ++r)
    xgb(XGBoosterUpdateOneIter(booster->handle, static_cast<int>(r), train.handle), "training");
  bst_ulong length = 0;
  const char* bytes = nullptr;
  xgb(XGBoosterSaveModelToBuffer(booster->handle, R"({"format": "ubj"})", &length, &bytes), "saving");
  replace_buffer("booster", pack_bytes(bytes, static_cast<size_t>(length)));
  booster_ = std::move(booster);
}

void TreeEnsemble::restore(const NamedTensors& state, const std::string& path) {
  for (const auto& [name, t] : state) {
    if (name != "booster") continue;
    replace_buffer("booster", t.to(Device::CPU).clone());
    load_booster(path);
    return;
  }
  fail("checkpoint '{}': tensor 'model.booster' is missing (written by another model?)", path);
}

void TreeEnsemble::load_booster(const std::string& path) {
  const std::string bytes = unpack_bytes(named_buffers().front().second, path);
  booster_.reset();
  if (bytes.empty()) return;
  auto booster = std::make_unique<Booster>();
  xgb(XGBoosterLoadModelFromBuffer(booster->handle, bytes.data(), static_cast<bst_ulong>(bytes.size())),
      fmt::format("cannot read the trees saved in '{}'", path).c_str());
  xgb(XGBoosterSetParam(booster->handle, "nthread", "1"), "nthread");
  booster_ = std::move(booster);
}

Tensor TreeEnsemble::forward(const Tensor& input) {
  const Tensor x = as_image_batch(input, config_.timesteps, config_.bands);
  S2_CHECK(booster_ != nullptr, "tree ensemble '{}' is not fitted", config_.kind);
  Matrix samples(x, config_.timesteps * config_.bands);
  bst_ulong length = 0;
  const float* p = nullptr;
  xgb(XGBoosterPredict(booster_->handle, samples.handle, 0, 0, 0, &length, &p), "prediction");
  const int64_t n = x.size(0), k = config_.classes;
  S2_CHECK(static_cast<int64_t>(length) == n * k, "XGBoost predicted {} values for {} samples x {} classes",
           length, n, k);
  // Log-probabilities, floored so that a class no tree voted for stays finite.
  Tensor logits = Tensor::empty({n, k});
  for (int64_t i = 0; i < n * k; ++i) logits.data()[i] = std::log(std::max(p[i], 1e-12f));
  return logits.to(input.device());
}

#else

bool tree_ensembles_available() {
  return false;
}
struct TreeEnsemble::Booster {};
TreeEnsemble::~TreeEnsemble() = default;
void TreeEnsemble::fit(const Tensor&, const std::vector<int32_t>&, const std::vector<float>&, uint64_t) {}
void TreeEnsemble::restore(const NamedTensors&, const std::string&) {}
void TreeEnsemble::load_booster(const std::string&) {}
Tensor TreeEnsemble::forward(const Tensor& x) {
  return x;
}

#endif

}  // namespace s2::models
