#include "models/tempcnn.h"

#include <fmt/format.h>

#include "framework/error.h"
#include "framework/named_values.h"

namespace s2::models {

namespace {
// The CBAM settings of TempCBAM's blocks: PyTorch's initialisation, as the paper network's default, and
// a spatial kernel over dates alone.
CbamCropNetConfig block_attention(const TempCnnConfig& c) {
  CbamCropNetConfig b;
  b.attention = c.attention;
  b.reduction = c.reduction;
  b.spatial_kernel = c.attention_kernel;
  b.spatial_kernel_w = 1;
  b.geo = c.geo;
  b.location = c.location;
  return b;
}
}  // namespace

namespace {
constexpr std::array<NamedValue<AttentionJoin>, 3> kJoinNames{{{AttentionJoin::Multiply, "multiply"},
                                                               {AttentionJoin::Residual, "residual"},
                                                               {AttentionJoin::Gated, "gated"}}};
}  // namespace

AttentionJoin parse_attention_join(const std::string& name) {
  return parse_named(kJoinNames, name, "attention_join");
}

const char* attention_join_name(AttentionJoin j) {
  return name_of(kJoinNames, j);
}

TempCnn::TempCnn(const TempCnnConfig& c) : config_(c) {
  S2_CHECK(c.conv_layers >= 1 && c.filters > 0 && c.kernel_size > 0 && c.dense_units > 0,
           "TempCNN needs positive filters, kernel size, conv layers and dense units");
  int64_t channels = c.bands;
  for (int64_t i = 0; i < c.conv_layers; ++i) {
    // A (k x 1) kernel over a (T x 1) image is a 1-D convolution over time.
    convs_.push_back(register_module(
        fmt::format("conv{}", i + 1),
        std::make_shared<nn::Conv2d>(nn::Conv2dConfig{channels, c.filters, c.kernel_size, 1})));
    norms_.push_back(register_module(fmt::format("bn{}", i + 1),
                                     std::make_shared<nn::BatchNorm2d>(c.filters, c.batch_norm)));
    channels = c.filters;
  }
  check_geo_fits(c.geo, c.attention);
  if (c.attention != Attention::None) {
    for (int64_t i = 0; i < c.conv_layers; ++i) {
      attention_.push_back(register_module(fmt::format("cbam{}", i + 1),
                                           std::make_shared<Cbam>(c.filters, block_attention(c))));
      if (c.attention_join == AttentionJoin::Gated)  // zeros: no random draws, the others' stay put
        gates_.push_back(
            register_parameter(fmt::format("cbam{}_gate", i + 1), Tensor::zeros({1, c.filters, 1, 1})));
    }
  }
  dense_ = register_module("dense", std::make_shared<nn::Linear>(c.filters * c.timesteps, c.dense_units));
  dense_norm_ = register_module("dense_bn", std::make_shared<nn::BatchNorm2d>(c.dense_units, c.batch_norm));
  head_ = register_module("head", std::make_shared<nn::Linear>(c.dense_units, c.classes));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
  // head([features; where]) = head(features) + geo_head(where).
  if (c.geo == GeoAttention::Head) geo_head_ = register_module("geo_head", geo_layer(c.location, c.classes));
}

Tensor TempCnn::forward(const Tensor& x) {
  return run(x, Tensor());
}

Tensor TempCnn::forward_at(const Tensor& x, const Tensor& location) {
  return run(x, location);
}

Tensor TempCnn::run(const Tensor& input, const Tensor& location) {
  const Tensor x = as_image_batch(input, config_.timesteps, config_.bands);
  const int64_t n = x.size(0);
  const Tensor where = encoded_location(location, n, config_.geo, config_.location, x.device());
  // (N, 1, T, B) -> (N, B, T, 1): bands become channels.
  Tensor h = transpose_last2(x.reshape({n, config_.timesteps, config_.bands}))
                 .reshape({n, config_.bands, config_.timesteps, 1});
  for (size_t i = 0; i < convs_.size(); ++i) {
    h = norms_[i]->forward(convs_[i]->forward(h), /*fuse_relu=*/true);
    if (!attention_.empty()) {
      const Tensor attended = attention_[i]->forward(h, where);
      switch (config_.attention_join) {
        case AttentionJoin::Multiply: h = attended; break;
        case AttentionJoin::Residual: h = add(h, attended); break;
        case AttentionJoin::Gated: h = add(h, mul(gates_[i], attended)); break;
      }
    }
    h = dropout_->forward(h);
  }
  h = dense_->forward(h.reshape({n, -1}));
  h = dense_norm_->forward(h.reshape({n, config_.dense_units, 1, 1}), /*fuse_relu=*/true);
  const Tensor logits = head_->forward(dropout_->forward(h).reshape({n, config_.dense_units}));
  return geo_head_ ? add(logits, geo_head_->forward(where)) : logits;
}

int64_t rounding_chain(const TempCnnConfig& c) {
  int64_t chain = 0, channels = c.bands;
  for (int64_t i = 0; i < c.conv_layers; ++i) {
    chain += c.kernel_size * channels + 1 + 8;  // the conv with its bias, then batch norm and ReLU
    channels = c.filters;
    // CBAM over the T dates, with its k x 1 date kernel.
    if (c.attention != Attention::None)
      chain += cbam_rounding_chain(c.timesteps, c.filters, c.reduction, c.attention_kernel) +
               (c.attention_join == AttentionJoin::Multiply   ? 0
                : c.attention_join == AttentionJoin::Residual ? 1
                                                              : 2);
  }
  return chain + (c.filters * c.timesteps + 1) + 8 + (c.dense_units + 1) + (c.classes + 24);
}

}  // namespace s2::models
