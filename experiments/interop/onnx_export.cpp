#include "experiments/interop/onnx_export.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "experiments/interop/onnx_graph.h"
#include "experiments/training/saved_model.h"
#include "framework/atomic_file.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "models/cbam_crop_net.h"
#include "models/tempcnn.h"

namespace s2::experiments {

namespace {

// The graph of one model, its tensors looked up by their s2cbam names (which become the initialisers').
class Builder {
 public:
  Builder(const SavedModel& m, float eps) : eps_(eps) {
    for (const auto& [name, t] : m.model->named_state()) tensors_[name] = t;
  }
  OnnxGraph graph;

  std::string weight(const std::string& name) {
    if (!added_.insert(name).second) return name;
    const auto it = tensors_.find(name);
    S2_CHECK(it != tensors_.end(), "ONNX export: the model has no tensor {}", name);
    return graph.initializer(name, it->second);
  }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }

  // A stride-1 convolution padded as s2cbam's 'same' (any extra row or column at the bottom and right).
  std::string conv(const std::string& x, const std::string& layer) {
    const Tensor& w = tensors_.at(layer + ".weight");
    const int64_t kh = w.size(2), kw = w.size(3);
    std::vector<std::string> inputs{x, weight(layer + ".weight")};
    if (has(layer + ".bias")) inputs.push_back(weight(layer + ".bias"));
    return graph.node("Conv", inputs,
                      {{"kernel_shape", std::vector<int64_t>{kh, kw}},
                       {"pads", std::vector<int64_t>{(kh - 1) / 2, (kw - 1) / 2, kh - 1 - (kh - 1) / 2,
                                                     kw - 1 - (kw - 1) / 2}},
                       {"strides", std::vector<int64_t>{1, 1}}});
  }
  std::string batch_norm(const std::string& x, const std::string& layer) {
    return graph.node("BatchNormalization",
                      {x, weight(layer + ".gamma"), weight(layer + ".beta"), weight(layer + ".running_mean"),
                       weight(layer + ".running_var")},
                      {{"epsilon", eps_}});
  }
  // x (batch, in) times the layer's (out, in) weight, plus its bias.
  std::string linear(const std::string& x, const std::string& layer) {
    std::vector<std::string> inputs{x, weight(layer + ".weight")};
    if (has(layer + ".bias")) inputs.push_back(weight(layer + ".bias"));
    return graph.node("Gemm", inputs, {{"transB", int64_t{1}}});
  }
  std::string relu(const std::string& x) { return graph.node("Relu", {x}); }
  std::string axes(const std::vector<int64_t>& a) {
    const std::string name = fmt::format("axes_{}", fmt::join(a, "_"));
    if (added_.insert(name).second) graph.int64_initializer(name, a);
    return name;
  }

 private:
  std::map<std::string, Tensor> tensors_;
  std::set<std::string> added_;
  float eps_;
};

std::string residual_unit(Builder& b, const std::string& x, const std::string& unit) {
  const std::string z = b.relu(b.batch_norm(b.conv(x, unit + ".conv1"), unit + ".bn1"));
  std::string y = b.batch_norm(b.conv(z, unit + ".conv2"), unit + ".bn2");
  if (b.has(unit + ".skip.weight")) y = b.graph.node("Add", {y, b.conv(x, unit + ".skip")});
  return b.relu(y);
}

std::string cbam(Builder& b, std::string x, const std::string& block) {
  if (b.has(block + ".channel.fc1.weight")) {
    const auto mlp = [&](const std::string& pooled) {
      return b.linear(b.relu(b.linear(pooled, block + ".channel.fc1")), block + ".channel.fc2");
    };
    const std::string avg =
        b.graph.node("ReduceMean", {x}, {{"axes", std::vector<int64_t>{2, 3}}, {"keepdims", int64_t{0}}});
    const std::string max =
        b.graph.node("ReduceMax", {x}, {{"axes", std::vector<int64_t>{2, 3}}, {"keepdims", int64_t{0}}});
    const std::string w = b.graph.node("Sigmoid", {b.graph.node("Add", {mlp(avg), mlp(max)})});
    x = b.graph.node("Mul", {x, b.graph.node("Unsqueeze", {w, b.axes({2, 3})})});
  }
  if (b.has(block + ".spatial.conv.weight")) {
    const std::string mean =
        b.graph.node("ReduceMean", {x}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{1}}});
    const std::string max =
        b.graph.node("ReduceMax", {x}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{1}}});
    const std::string both = b.graph.node("Concat", {mean, max}, {{"axis", int64_t{1}}});
    x = b.graph.node("Mul", {x, b.graph.node("Sigmoid", {b.conv(both, block + ".spatial.conv")})});
  }
  return x;
}

std::string cbam_crop_net(Builder& b, const models::CbamCropNetConfig& c) {
  std::string h = b.relu(b.batch_norm(b.conv("x", "stem_conv"), "stem_bn"));
  for (size_t s = 0; s < c.stage_widths.size(); ++s) {
    for (int64_t u = 0; u < c.units_per_stage; ++u)
      h = residual_unit(b, h, fmt::format("stage{}.unit{}", s + 1, u + 1));
    if (c.attention != models::Attention::None) h = cbam(b, h, fmt::format("stage{}.cbam", s + 1));
  }
  h = b.graph.node("Flatten", {b.graph.node("GlobalAveragePool", {h})}, {{"axis", int64_t{1}}});
  return b.linear(h, "head");
}

std::string tempcnn(Builder& b, const models::TempCnnConfig& c) {
  // (batch, 1, T, B) -> (batch, B, T, 1): bands become channels, a (k x 1) kernel convolves over time.
  std::string h = b.graph.node("Transpose", {"x"}, {{"perm", std::vector<int64_t>{0, 3, 2, 1}}});
  for (int64_t i = 1; i <= c.conv_layers; ++i)
    h = b.relu(b.batch_norm(b.conv(h, fmt::format("conv{}", i)), fmt::format("bn{}", i)));
  h = b.linear(b.graph.node("Flatten", {h}, {{"axis", int64_t{1}}}), "dense");
  h = b.relu(b.batch_norm(b.graph.node("Unsqueeze", {h, b.axes({2, 3})}), "dense_bn"));
  return b.linear(b.graph.node("Flatten", {h}, {{"axis", int64_t{1}}}), "head");
}

}  // namespace

OnnxSummary export_onnx(const std::string& checkpoint_path, const std::string& out, bool embed_config) {
  const Checkpoint ck = load_checkpoint(checkpoint_path);
  const SavedModel m = saved_model_of(ck, checkpoint_path, "", true);
  Builder b(m, m.config.model.batch_norm().eps);
  b.graph.input("x", {1, m.timesteps, m.bands});
  std::string logits;
  S2_CHECK(!m.model->uses_location(),
           "'{}': ONNX export writes models of the pixel series alone; this Geo-CBAM model (geo = '{}') also "
           "takes coordinates",
           checkpoint_path, models::geo_attention_name(m.config.model.cbam.geo));
  if (const auto* net = dynamic_cast<const models::CbamCropNet*>(m.model.get())) {
    logits = cbam_crop_net(b, net->config());
  } else if (const auto* temp = dynamic_cast<const models::TempCnn*>(m.model.get());
             temp != nullptr && temp->config().attention == models::Attention::None) {
    logits = tempcnn(b, temp->config());
  } else {  // TempCBAM's attention has no statement here yet
    S2_CHECK(false, "'{}': ONNX export knows the cbam, plain_cnn and tempcnn models, not '{}'",
             checkpoint_path, m.config.model.kind);
  }
  b.graph.node("Identity", {logits}, {}, "logits");
  b.graph.node("Softmax", {logits}, {{"axis", int64_t{1}}}, "probabilities");
  const auto k = static_cast<int64_t>(m.class_names.size());
  b.graph.output("logits", {k});
  b.graph.output("probabilities", {k});
  std::map<std::string, std::string> metadata{
      {"s2cbam.model_kind", m.config.model.kind},
      {"s2cbam.metadata", ck.metadata},
      {"classes", fmt::format("{}", fmt::join(m.class_names, "\n"))},
      {"input",
       fmt::format("x: float32 (batch, 1, {}, {}): each pixel's series resampled to the model's {} regular "
                   "dates (rows) of its {} bands (columns) in the config's order, band b standardised as "
                   "(value - norm.mean[b]) / norm.stddev[b]",
                   m.timesteps, m.bands, m.timesteps, m.bands)},
      {"norm.mean", fmt::format("{}", fmt::join(m.normaliser.mean, ","))},
      {"norm.stddev", fmt::format("{}", fmt::join(m.normaliser.stddev, ","))}};
  if (embed_config) metadata["s2cbam.config"] = ck.config;
  const std::string bytes = b.graph.model(m.config.model.kind, metadata);
  write_file_atomic(out, bytes);
  return {m.config.model.kind, 0, 0, bytes.size()};
}

}  // namespace s2::experiments
