#include "experiments/interop/keras_import.h"

#include <cpl_vsi.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "data/dataset.h"
#include "experiments/cli/config.h"
#include "experiments/training/experiment.h"
#include "experiments/training/saved_model.h"
#include "framework/atomic_file.h"
#include "framework/checkpoint.h"
#include "framework/error.h"

namespace s2::experiments {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxValues = int64_t{1} << 28;  // 1 GiB of float32: far above any model here

// The file's model.weights.h5 copied out of a .keras zip (GDAL's /vsizip/), removed when done.
class ExtractedWeights {
 public:
  ExtractedWeights(const std::string& keras_path) {
    // The braces let GDAL open a zip whose name does not end in .zip.
    const std::string member = "/vsizip/{" + fs::absolute(keras_path).string() + "}/model.weights.h5";
    VSILFILE* in = VSIFOpenL(member.c_str(), "rb");
    S2_CHECK(in != nullptr, "'{}' is not a Keras 3 archive with a model.weights.h5 inside", keras_path);
    path_ = (fs::temp_directory_path() / fmt::format("s2cbam-keras-{}.weights.h5", getpid())).string();
    std::ofstream out(path_, std::ios::binary);
    char buffer[1 << 16];
    for (size_t n; (n = VSIFReadL(buffer, 1, sizeof buffer, in)) > 0;)
      out.write(buffer, static_cast<std::streamsize>(n));
    VSIFCloseL(in);
    S2_CHECK(out.good(), "cannot extract the weights of '{}' to '{}'", keras_path, path_);
  }
  ~ExtractedWeights() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Walk {
  std::map<std::string, KerasArray>* out;
  std::string path;
  int64_t total = 0;
  std::string error;
};

// Reads one dataset if it is numeric; anything else (strings, references) is not a weight.
herr_t visit(hid_t group, const char* name, const H5L_info_t*, void* data) {
  auto& walk = *static_cast<Walk*>(data);
  const hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
  if (d < 0) return 0;  // a group
  const hid_t type = H5Dget_type(d), space = H5Dget_space(d);
  const H5T_class_t cls = H5Tget_class(type);
  const int rank = H5Sget_simple_extent_ndims(space);
  herr_t status = 0;
  if ((cls == H5T_FLOAT || cls == H5T_INTEGER) && rank >= 0 && rank <= 8) {
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    KerasArray a;
    int64_t n = 1;
    for (const hsize_t v : dims) {
      a.shape.push_back(static_cast<int64_t>(v));
      n = v == 0 ? 0 : std::min<int64_t>(n * static_cast<int64_t>(v), kMaxValues + 1);
    }
    walk.total += n;
    if (walk.total > kMaxValues) {
      walk.error = fmt::format("more than {} values: not a model s2cbam imports", kMaxValues);
      status = -1;
    } else {
      a.values.resize(static_cast<size_t>(n));
      if (n > 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()) < 0) {
        walk.error = fmt::format("dataset {} cannot be read as float32", name);
        status = -1;
      }
      std::string key = name;
      for (const std::string prefix : {"layers/", "model_weights/"}) {
        if (key.starts_with(prefix)) key = key.substr(prefix.size());
      }
      if (key.ends_with(":0")) key.resize(key.size() - 2);
      if (std::string(name).starts_with("layers/") || std::string(name).starts_with("model_weights/")) {
        (*walk.out)[key] = std::move(a);
      }
    }
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(d);
  return status;
}

// Keras (kh, kw, in, out) -> (out, in, kh, kw); (in, out) -> (out, in); vectors as they are.
KerasArray to_s2cbam_layout(const KerasArray& a) {
  if (a.shape.size() == 4) {
    const int64_t kh = a.shape[0], kw = a.shape[1], in = a.shape[2], out = a.shape[3];
    KerasArray t{{out, in, kh, kw}, std::vector<float>(a.values.size())};
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x)
        for (int64_t i = 0; i < in; ++i)
          for (int64_t o = 0; o < out; ++o)
            t.values[static_cast<size_t>(((o * in + i) * kh + y) * kw + x)] =
                a.values[static_cast<size_t>(((y * kw + x) * in + i) * out + o)];
    return t;
  }
  if (a.shape.size() == 2) {
    const int64_t in = a.shape[0], out = a.shape[1];
    KerasArray t{{out, in}, std::vector<float>(a.values.size())};
    for (int64_t i = 0; i < in; ++i)
      for (int64_t o = 0; o < out; ++o)
        t.values[static_cast<size_t>(o * in + i)] = a.values[static_cast<size_t>(i * out + o)];
    return t;
  }
  return a;
}

// The config text with [model]'s batch-norm options set to Keras's (replacing the user's, if any).
std::string with_keras_batch_norm(const std::string& text) {
  const std::string keras =
      "bn_eps = 0.001\nbn_momentum = 0.01  # Keras's BatchNormalization (import_keras)\n";
  std::string out;
  bool in_model = false, placed = false;
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const std::string trimmed = line.substr(std::min(line.find_first_not_of(" \t"), line.size()));
    if (trimmed.starts_with("[")) {
      in_model = trimmed.starts_with("[model]");
      out += line + "\n";
      if (in_model) out += keras, placed = true;
      continue;
    }
    if (in_model && (trimmed.starts_with("bn_eps") || trimmed.starts_with("bn_momentum"))) continue;
    out += line + "\n";
  }
  return placed ? out : out + "\n[model]\n" + keras;
}

}  // namespace

std::map<std::string, KerasArray> read_keras_weights(const std::string& path) {
  S2_CHECK(fs::exists(path), "'{}' does not exist", path);
  std::unique_ptr<ExtractedWeights> extracted;
  std::string h5 = path;
  if (fs::path(path).extension() == ".keras") {
    extracted = std::make_unique<ExtractedWeights>(path);
    h5 = extracted->path();
  }
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // our errors name the file instead of HDF5's stack
  const hid_t file = H5Fopen(h5.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  S2_CHECK(file >= 0, "'{}' is not an HDF5 file (a Keras .h5 or the weights inside a .keras)", path);
  std::map<std::string, KerasArray> weights;
  Walk walk{&weights, path, 0, ""};
  const herr_t status = H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, visit, &walk);
  H5Fclose(file);
  S2_CHECK(status >= 0 && walk.error.empty(), "'{}': {}", path,
           walk.error.empty() ? "unreadable HDF5 structure" : walk.error);
  S2_CHECK(!weights.empty(), "'{}' holds no Keras weights (no layers/ or model_weights/ group)", path);
  return weights;
}

std::vector<KerasTensorSource> notebook_layer_map(int64_t stages) {
  std::vector<KerasTensorSource> map;
  const auto suffix = [](int64_t i) { return i == 0 ? std::string() : fmt::format("_{}", i); };
  // A layer's variables: s2cbam leaf, Keras 3 index, legacy name.
  using Vars = std::vector<std::tuple<const char*, int, const char*>>;
  const Vars conv{{"weight", 0, "kernel"}}, conv_bias{{"weight", 0, "kernel"}, {"bias", 1, "bias"}};
  const Vars dense{{"weight", 0, "kernel"}, {"bias", 1, "bias"}};
  const Vars bn{{"gamma", 0, "gamma"},
                {"beta", 1, "beta"},
                {"running_mean", 2, "moving_mean"},
                {"running_var", 3, "moving_variance"}};
  const auto add = [&](const std::string& s2, const std::string& keras3_layer,
                       const std::string& legacy_layer, const Vars& vars) {
    for (const auto& [leaf, index, legacy_name] : vars) {
      map.push_back({s2 + "." + leaf, fmt::format("{}/vars/{}", keras3_layer, index),
                     fmt::format("{}/{}", legacy_layer, legacy_name), keras3_layer});
    }
  };
  // The notebook creates its layers in this order, so Keras numbers them so: the stem conv2d and
  // batch_normalization; per stage a ResidualUnit (three convs and two batch norms, made in its
  // __init__) then a CBAM block (two dense layers and the spatial conv).
  add("stem_conv", "conv2d", "conv2d/conv2d", conv_bias);
  add("stem_bn", "batch_normalization", "batch_normalization/batch_normalization", bn);
  for (int64_t s = 0; s < stages; ++s) {
    const std::string unit = "residual_unit" + suffix(s), s2 = fmt::format("stage{}.unit1", s + 1);
    const std::string legacy = unit + "/" + unit + "/";
    add(s2 + ".conv1", unit + "/main_layers/conv2d", legacy + fmt::format("conv2d_{}", 4 * s + 1), conv);
    add(s2 + ".bn1", unit + "/main_layers/batch_normalization",
        legacy + fmt::format("batch_normalization_{}", 2 * s + 1), bn);
    add(s2 + ".conv2", unit + "/main_layers/conv2d_1", legacy + fmt::format("conv2d_{}", 4 * s + 2), conv);
    add(s2 + ".bn2", unit + "/main_layers/batch_normalization_1",
        legacy + fmt::format("batch_normalization_{}", 2 * s + 2), bn);
    add(s2 + ".skip", unit + "/skip_layers/conv2d", legacy + fmt::format("conv2d_{}", 4 * s + 3), conv);
    const std::string cbam = fmt::format("stage{}.cbam", s + 1);
    for (int64_t d = 0; d < 2; ++d) {
      const std::string name = "dense" + suffix(2 * s + d);
      add(fmt::format("{}.channel.fc{}", cbam, d + 1), name, name + "/" + name, dense);
    }
    // Keras 3 numbers the top-level convs alone (the stem is conv2d); legacy files number every conv.
    const std::string spatial3 = fmt::format("conv2d_{}", s + 1),
                      spatial = fmt::format("conv2d_{}", 4 * s + 4);
    add(cbam + ".spatial.conv", spatial3, spatial + "/" + spatial, conv);
  }
  const std::string head = "dense" + suffix(2 * stages);
  add("head", head, head + "/" + head, dense);
  return map;
}

void import_keras(const KerasImport& o) {
  std::map<std::string, KerasArray> weights = read_keras_weights(o.keras_path);
  const std::string config_text = with_keras_batch_norm(read_file(o.config_path));
  const ExperimentConfig config = parse_config(config_text, o.config_path);
  S2_CHECK(config.model.kind == "cbam" && config.model.cbam.attention == models::Attention::Cbam &&
               config.model.cbam.units_per_stage == 1 && config.model.cbam.residual_skip,
           "'{}': import_keras fills the paper network (kind cbam, attention cbam, one unit per stage with "
           "its skip); "
           "the config describes another",
           o.config_path);
  const auto stages = static_cast<int64_t>(config.model.cbam.stage_widths.size());
  const std::vector<KerasTensorSource> sources = notebook_layer_map(stages);
  const KerasTensorSource& head = *std::find_if(
      sources.begin(), sources.end(), [](const KerasTensorSource& s) { return s.s2cbam == "head.weight"; });
  const bool keras3 = weights.count("conv2d/vars/0") > 0;  // the stem conv, as Keras 3 stores it
  const auto find = [&](const KerasTensorSource& s) -> const KerasArray& {
    const auto it = weights.find(keras3 ? s.keras3 : s.legacy);
    S2_CHECK(it != weights.end(), "'{}' has no {} for Keras layer '{}' (s2cbam's {}), the notebook's {}",
             o.keras_path, keras3 ? s.keras3 : s.legacy, s.layer, s.s2cbam,
             keras3 ? "Keras 3 layout" : "legacy layout");
    return it->second;
  };
  for (const KerasTensorSource& s : sources) find(s);  // every layer there, in the network's order
  const KerasArray& head_kernel = find(head);
  S2_CHECK(head_kernel.shape.size() == 2, "'{}': the head dense layer '{}' is not a matrix", o.keras_path,
           head.layer);

  // The data side: dates and bands from the config, the classes given or the training data's, and
  // the normalisation fitted on the training data (read only when needed).
  std::optional<LoadedData> data;
  if (o.fit_normalisation || o.classes.empty()) data = load_data(config);
  const std::vector<std::string> classes = o.classes.empty() ? data->train.class_names : o.classes;
  const int64_t timesteps = data ? data->train.timesteps : config.data.timesteps;
  const int64_t bands = data ? data->train.bands
                             : (config.data.format == "raster_series"
                                    ? static_cast<int64_t>(series_options(config).bands.size())
                                    : config.data.bands);
  S2_CHECK(timesteps > 0, "'{}': [data] timesteps must name the model's dates (the notebook's: 36)",
           o.config_path);
  S2_CHECK(head_kernel.shape[1] == static_cast<int64_t>(classes.size()),
           "'{}': the Keras model has {} outputs, the config '{}' {} classes ({})", o.keras_path,
           head_kernel.shape[1], o.config_path, classes.size(), fmt::join(classes, ", "));
  Checkpoint ck;
  ck.config = config_text;
  ck.metadata = fmt::format(
      "model_kind = \"cbam\"\ntimesteps = {}\nbands = {}\nclasses = [\"{}\"]\nimported_from = \"{} "
      "(Keras)\"\n",
      timesteps, bands, fmt::join(classes, "\", \""), o.keras_path);
  data::BandNormaliser norm;
  if (o.fit_normalisation) {
    norm = data::BandNormaliser::fit(data->train);
  } else {
    norm.mean.assign(static_cast<size_t>(bands), 0.0f);
    norm.stddev.assign(static_cast<size_t>(bands), 1.0f);
  }
  ck.add("norm", norm.state());
  SavedModel m = saved_model_of(ck, o.config_path, o.config_path, false);
  std::map<std::string, Tensor> model;
  for (auto& [name, t] : m.model->named_state()) model[name] = t;
  NamedTensors filled;
  for (const KerasTensorSource& s : sources) {
    const KerasArray a = to_s2cbam_layout(find(s));
    const auto it = model.find(s.s2cbam);
    S2_CHECK(it != model.end(), "the s2cbam model has no tensor {} for Keras layer '{}'", s.s2cbam, s.layer);
    S2_CHECK(
        a.shape == it->second.shape(),
        "'{}': Keras layer '{}' gives {} the shape [{}] (in s2cbam's layout), the paper network needs [{}]",
        o.keras_path, s.layer, s.s2cbam, fmt::join(a.shape, ", "), fmt::join(it->second.shape(), ", "));
    filled.emplace_back(s.s2cbam, Tensor::from_vector(a.shape, a.values));
    weights.erase(keras3 ? s.keras3 : s.legacy);
    model.erase(it);
  }
  S2_CHECK(model.empty(), "'{}': the paper network's {} got no weights from the Keras file", o.keras_path,
           model.begin()->first);
  // Anything left under the model's layers is a layer the notebook's network does not have; legacy
  // files also hold the optimiser's state, which is not the model's.
  std::vector<std::string> extra;
  for (const auto& [key, a] : weights) {
    if (!key.starts_with("optimizer") && !key.starts_with("top_level_model_weights")) extra.push_back(key);
  }
  S2_CHECK(extra.empty(), "'{}' holds weights that the paper network does not have: {}", o.keras_path,
           fmt::join(extra, ", "));
  ck.add("model", filled);
  save_checkpoint(o.out, ck);
}

}  // namespace s2::experiments
