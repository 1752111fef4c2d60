#include "experiments/interop/safetensors_weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "experiments/training/saved_model.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "framework/safetensors.h"
#include "models/torch_names.h"

namespace s2::experiments {

namespace {

const std::string kNormPrefix = "s2cbam.norm.";

// Values as text that reads back to the same float32 ("%.9g" is enough for any float32).
std::string float_list(const std::vector<float>& v) {
  std::string s;
  for (const float x : v) s += fmt::format("{}{:.9g}", s.empty() ? "" : ",", x);
  return s;
}

std::vector<float> parse_float_list(const std::string& text, const std::string& path,
                                    const std::string& key) {
  std::vector<float> v;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const size_t end = std::min(text.find(',', start), text.size());
    float x = 0;
    const auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + end, x);
    S2_CHECK(ec == std::errc() && ptr == text.data() + end, "'{}': metadata {} holds '{}', not a number",
             path, key, text.substr(start, end - start));
    v.push_back(x);
    start = end + 1;
  }
  return v;
}

}  // namespace

ExportSummary export_safetensors(const std::string& checkpoint_path, const std::string& out,
                                 WeightNames names) {
  const Checkpoint ck = load_checkpoint(checkpoint_path);
  const SavedModel m = saved_model_of(ck, checkpoint_path, "", true);
  const NamedTensors tensors = m.model->named_state();
  std::vector<std::string> unmapped;
  for (const auto& [name, t] : tensors) {
    if (!models::torch_reference_name(name)) unmapped.push_back(name);
  }
  if (names == WeightNames::Auto) names = unmapped.empty() ? WeightNames::Torch : WeightNames::S2cbam;
  S2_CHECK(names != WeightNames::Torch || unmapped.empty(),
           "'{}': its model ({}) is not the PyTorch statement's network: {} has no name there; export with "
           "--names "
           "s2cbam",
           checkpoint_path, m.config.model.kind, unmapped.empty() ? "" : unmapped.front());
  SafeTensors file;
  for (const auto& [name, t] : tensors) {
    const std::string exported = names == WeightNames::Torch ? *models::torch_reference_name(name) : name;
    file.tensors.emplace_back(exported, t);
    // PyTorch's batch norms carry a step counter that load_state_dict expects.
    if (names == WeightNames::Torch && exported.ends_with(".running_mean")) {
      file.integers.emplace_back(exported.substr(0, exported.size() - 12) + "num_batches_tracked", 0);
    }
  }
  file.metadata = {
      {"format", "pt"},
      {"producer", "s2cbam"},
      {"names", names == WeightNames::Torch ? "torch_cbam_ref" : "s2cbam"},
      {"s2cbam.config", ck.config},
      {"s2cbam.metadata", ck.metadata},
      {"classes", fmt::format("{}", fmt::join(m.class_names, ","))},
      {"bn_epsilon", fmt::format("{}", m.config.model.batch_norm().eps)},
      {"input", fmt::format("x of shape (N, 1, {}, {}): the config's bands in order at its {} regular dates, "
                            "band b standardised as (x - s2cbam.norm.mean[b]) / s2cbam.norm.stddev[b]",
                            m.timesteps, m.bands, m.timesteps)}};
  for (const auto& [name, t] : m.normaliser.state())
    file.metadata[kNormPrefix + name] = float_list(t.to_vector());
  save_safetensors(out, file);
  ExportSummary s{names, file.tensors.size(), 0};
  for (const auto& [name, t] : file.tensors) s.values += t.numel();
  return s;
}

void import_safetensors(const std::string& path, const std::string& like, const std::string& out) {
  const SafeTensors file = load_safetensors(path);
  Checkpoint ck;
  if (file.metadata.count("s2cbam.config") && file.metadata.count("s2cbam.metadata")) {
    ck.config = file.metadata.at("s2cbam.config");
    ck.metadata = file.metadata.at("s2cbam.metadata");
    for (const auto& [key, value] : file.metadata) {
      if (!key.starts_with(kNormPrefix)) continue;
      const std::vector<float> v = parse_float_list(value, path, key);
      ck.tensors.emplace_back("norm." + key.substr(kNormPrefix.size()),
                              Tensor::from_vector({static_cast<int64_t>(v.size())}, v));
    }
  } else {
    S2_CHECK(!like.empty(),
             "'{}' carries no s2cbam config (weights from elsewhere): name a checkpoint of the same model, "
             "whose config, "
             "data description and normalisation it takes, with --like",
             path);
    const Checkpoint other = load_checkpoint(like);
    ck.config = other.config;
    ck.metadata = other.metadata;
    ck.add("norm", other.with_prefix("norm"));
  }
  // Record the origin (replacing an earlier one) before the model is built from the metadata.
  std::string metadata;
  for (size_t start = 0; start < ck.metadata.size();) {
    const size_t end = std::min(ck.metadata.find('\n', start), ck.metadata.size());
    const std::string line = ck.metadata.substr(start, end - start);
    if (!line.starts_with("imported_from")) metadata += line + "\n";
    start = end + 1;
  }
  ck.metadata = metadata + fmt::format("imported_from = \"{} (safetensors)\"\n", path);
  const SavedModel m = saved_model_of(ck, path, like, false);
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : file.tensors) by_name[name] = &t;
  NamedTensors weights;
  for (const auto& [name, t] : m.model->named_state()) {
    const auto torch = models::torch_reference_name(name);
    auto it = by_name.find(name);
    if (it == by_name.end() && torch) it = by_name.find(*torch);
    S2_CHECK(it != by_name.end(), "'{}' has no tensor for the model's {}{}", path, name,
             torch ? fmt::format(" (PyTorch name {})", *torch) : "");
    S2_CHECK(it->second->shape() == t.shape(), "'{}': tensor {} has shape [{}], the model's {} is [{}]", path,
             it->first, fmt::join(it->second->shape(), ", "), name, fmt::join(t.shape(), ", "));
    weights.emplace_back(name, *it->second);
    by_name.erase(it);
  }
  std::vector<std::string>
      extra;  // (no std::views::keys: the fuzz build's clang 14 rejects it on libstdc++ 12)
  for (const auto& [name, t] : by_name) extra.push_back(name);
  S2_CHECK(extra.empty(), "'{}' holds tensors the model does not have: {}", path, fmt::join(extra, ", "));
  ck.add("model", weights);
  save_checkpoint(out, ck);
}

}  // namespace s2::experiments
