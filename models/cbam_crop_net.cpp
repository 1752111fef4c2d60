#include "models/cbam_crop_net.h"

#include "framework/error.h"
#include "framework/named_values.h"

namespace s2::models {

namespace {
// The initialiser of every layer but the stem and the head under a convention.
nn::Init body_init(WeightInit w) {
  return w == WeightInit::Torch ? nn::Init::TorchDefault : nn::Init::HeNormal;
}

std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t k, bool bias, nn::Init init) {
  return std::make_shared<nn::Conv2d>(nn::Conv2dConfig{in, out, k, k, bias, {}, init});
}

bool geo_in_channel(GeoAttention g) {
  return g == GeoAttention::Channel || g == GeoAttention::Both;
}
bool geo_in_spatial(GeoAttention g) {
  return g == GeoAttention::Spatial || g == GeoAttention::Both;
}
}  // namespace

std::shared_ptr<nn::Linear> geo_layer(const LocationEncoding& location, int64_t out) {
  return std::make_shared<nn::Linear>(location.features(), out, false, nn::Init::Zeros);
}

void check_geo_fits(GeoAttention geo, Attention attention) {
  const bool channel = attention == Attention::Cbam || attention == Attention::ChannelOnly;
  const bool spatial = attention == Attention::Cbam || attention == Attention::SpatialOnly;
  S2_CHECK((!geo_in_channel(geo) || channel) && (!geo_in_spatial(geo) || spatial),
           "geo '{}' needs the attention it enters, and attention is '{}'", geo_attention_name(geo),
           attention_name(attention));
}

Tensor encoded_location(const Tensor& location, int64_t batch, GeoAttention geo,
                        const LocationEncoding& encoding, Device device) {
  if (geo == GeoAttention::None) return {};
  S2_CHECK(location.defined(),
           "Geo-CBAM (geo = '{}') needs where each sample is: give the data coordinates ([data] "
           "train_coords, lat/lon columns, or a georeferenced raster)",
           geo_attention_name(geo));
  S2_CHECK(location.ndim() == 2 && location.size(0) == batch && location.size(1) == 2,
           "Geo-CBAM: location must be (N, 2) = ({}, 2), got {}", batch, shape_str(location.shape()));
  return encode_locations(location, encoding).to(device);
}

namespace {
constexpr std::array<NamedValue<GeoAttention>, 5> kGeoNames{{{GeoAttention::None, "none"},
                                                             {GeoAttention::Channel, "channel"},
                                                             {GeoAttention::Spatial, "spatial"},
                                                             {GeoAttention::Both, "both"},
                                                             {GeoAttention::Head, "head"}}};
constexpr std::array<NamedValue<WeightInit>, 3> kInitNames{
    {{WeightInit::He, "he"}, {WeightInit::Keras, "keras"}, {WeightInit::Torch, "torch"}}};
constexpr std::array<NamedValue<Attention>, 4> kAttentionNames{{{Attention::Cbam, "cbam"},
                                                                {Attention::ChannelOnly, "channel"},
                                                                {Attention::SpatialOnly, "spatial"},
                                                                {Attention::None, "none"}}};
}  // namespace

GeoAttention parse_geo_attention(const std::string& name) {
  return parse_named(kGeoNames, name, "geo");
}

const char* geo_attention_name(GeoAttention g) {
  return name_of(kGeoNames, g);
}

WeightInit parse_weight_init(const std::string& name) {
  return parse_named(kInitNames, name, "init");
}

const char* weight_init_name(WeightInit w) {
  return name_of(kInitNames, w);
}

Attention parse_attention(const std::string& name) {
  return parse_named(kAttentionNames, name, "attention");
}

const char* attention_name(Attention a) {
  return name_of(kAttentionNames, a);
}

ResidualUnit::ResidualUnit(int64_t in_channels, int64_t out_channels, const CbamCropNetConfig& config) {
  const nn::Init init = body_init(config.init);
  const BatchNormOptions& bn = config.batch_norm;
  conv1_ = register_module("conv1", conv(in_channels, out_channels, 3, false, init));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(out_channels, bn));
  conv2_ = register_module("conv2", conv(out_channels, out_channels, 3, false, init));
  bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out_channels, bn));
  if (config.residual_skip) {
    skip_ = register_module("skip", conv(in_channels, out_channels, 1, false, init));
  }
}

Tensor ResidualUnit::forward(const Tensor& x) {
  const Tensor z = bn1_->forward(conv1_->forward(x), /*fuse_relu=*/true);
  if (!skip_) {
    return bn2_->forward(conv2_->forward(z), /*fuse_relu=*/true);
  }
  return bn2_->forward(conv2_->forward(z), /*fuse_relu=*/true, /*residual=*/skip_->forward(x));
}

ChannelAttention::ChannelAttention(int64_t channels, const CbamCropNetConfig& config) {
  const int64_t reduction = config.reduction;
  S2_CHECK(reduction > 0 && channels % reduction == 0 && channels >= reduction,
           "channel attention: {} channels cannot be reduced by a ratio of {}", channels, reduction);
  const nn::Init init = body_init(config.init);
  fc1_ = register_module("fc1",
                         std::make_shared<nn::Linear>(channels, channels / reduction, config.mlp_bias, init));
  fc2_ = register_module("fc2",
                         std::make_shared<nn::Linear>(channels / reduction, channels, config.mlp_bias, init));
  if (geo_in_channel(config.geo))
    geo_ = register_module("geo", geo_layer(config.location, channels / reduction));
}

Tensor ChannelAttention::forward(const Tensor& x, const Tensor& where) const {
  if (!geo_) return channel_attention(x, fc1_->weight, fc1_->bias, fc2_->weight, fc2_->bias);
  return mul(x, weights(x, where).reshape({x.size(0), x.size(1), 1, 1}));
}

Tensor ChannelAttention::weights(const Tensor& x, const Tensor& where) const {
  if (!geo_) return channel_attention_weights(x, fc1_->weight, fc1_->bias, fc2_->weight, fc2_->bias);
  // fc1([pooled; where]) = fc1(pooled) + geo(where): the location joins both descriptors alike.
  const int64_t n = x.size(0), c = x.size(1);
  const Tensor place = geo_->forward(where);
  auto mlp = [&](const Tensor& pooled) {
    return fc2_->forward(relu(add(fc1_->forward(pooled.reshape({n, c})), place)));
  };
  return sigmoid(add(mlp(global_avg_pool2d(x)), mlp(global_max_pool2d(x))));
}

SpatialAttention::SpatialAttention(const CbamCropNetConfig& config) {
  const int64_t kernel_h = config.spatial_kernel, kernel_w = config.spatial_kernel_width();
  S2_CHECK(kernel_h > 0 && kernel_w > 0, "spatial attention kernel must be positive, got {} x {}", kernel_h,
           kernel_w);
  conv_ = register_module("conv", std::make_shared<nn::Conv2d>(nn::Conv2dConfig{
                                      2, 1, kernel_h, kernel_w, false, {}, body_init(config.init)}));
  if (geo_in_spatial(config.geo)) {
    geo_scale_ = register_module("geo_scale", geo_layer(config.location, 1));
    geo_shift_ = register_module("geo_shift", geo_layer(config.location, 1));
  }
  fused_ = !geo_scale_ && kernel_h == kernel_w;
}

Tensor SpatialAttention::forward(const Tensor& x, const Tensor& where) const {
  if (fused_) return spatial_attention(x, conv_->weight);
  return mul(x, map(x, where));
}

Tensor SpatialAttention::logits(const Tensor& x) const {
  return conv2d(concat_channels({channel_mean(x), channel_max(x)}), conv_->weight, Tensor());
}

Tensor SpatialAttention::map(const Tensor& x, const Tensor& where) const {
  if (fused_) return spatial_attention_map(x, conv_->weight);
  if (!geo_scale_) return sigmoid(logits(x));
  // sigmoid(logits * (1 + scale(where)) + shift(where)), per sample.
  const int64_t n = x.size(0);
  const Tensor scale = add(geo_scale_->forward(where), Tensor::full({1, 1}, 1.0f)).reshape({n, 1, 1, 1});
  return sigmoid(add(mul(logits(x), scale), geo_shift_->forward(where).reshape({n, 1, 1, 1})));
}

Cbam::Cbam(int64_t channels, const CbamCropNetConfig& config) {
  const Attention mode = config.attention;
  if (mode == Attention::Cbam || mode == Attention::ChannelOnly) {
    channel_ = register_module("channel", std::make_shared<ChannelAttention>(channels, config));
  }
  if (mode == Attention::Cbam || mode == Attention::SpatialOnly) {
    spatial_ = register_module("spatial", std::make_shared<SpatialAttention>(config));
  }
}

Tensor Cbam::forward(const Tensor& x, const Tensor& where) const {
  Tensor y = channel_ ? channel_->forward(x, where) : x;
  return spatial_ ? spatial_->forward(y, where) : y;
}

Tensor Cbam::forward_traced(const Tensor& x, const Tensor& where, Tensor& channel_weights,
                            Tensor& spatial_map) const {
  Tensor y = x;
  if (channel_) {
    channel_weights = channel_->weights(x, where);
    y = mul(x, channel_weights.reshape({x.size(0), x.size(1), 1, 1}));
  }
  if (spatial_) {
    spatial_map = spatial_->map(y, where);
    y = mul(y, spatial_map);
  }
  return y;
}

CbamCropNet::CbamCropNet(const CbamCropNetConfig& config) : config_(config) {
  S2_CHECK(config.timesteps > 0 && config.bands > 0, "model input {} x {} must be non-empty",
           config.timesteps, config.bands);
  S2_CHECK(config.classes >= 2, "model needs at least 2 classes, got {}", config.classes);
  S2_CHECK(!config.stage_widths.empty() && config.units_per_stage >= 1,
           "model needs at least one stage with at least one unit");
  const nn::Init stem_init =
      config.init == WeightInit::Keras ? nn::Init::GlorotUniform : body_init(config.init);
  stem_conv_ = register_module("stem_conv", conv(1, config.stem_width, 3, config.stem_bias, stem_init));
  stem_bn_ =
      register_module("stem_bn", std::make_shared<nn::BatchNorm2d>(config.stem_width, config.batch_norm));
  int64_t channels = config.stem_width;
  for (size_t s = 0; s < config.stage_widths.size(); ++s) {
    for (int64_t u = 0; u < config.units_per_stage; ++u) {
      const std::string name = fmt::format("stage{}.unit{}", s + 1, u + 1);
      units_.push_back(
          register_module(name, std::make_shared<ResidualUnit>(channels, config.stage_widths[s], config)));
      channels = config.stage_widths[s];
    }
    if (config.attention != Attention::None) {
      attention_.push_back(
          register_module(fmt::format("stage{}.cbam", s + 1), std::make_shared<Cbam>(channels, config)));
    }
  }
  const nn::Init head_init =
      config.init == WeightInit::Torch ? nn::Init::TorchDefault : nn::Init::GlorotUniform;
  head_ = register_module("head", std::make_shared<nn::Linear>(channels, config.classes, true, head_init));
  // head([pooled; where]) = head(pooled) + geo_head(where): the encoding concatenated before the classifier.
  if (config.geo == GeoAttention::Head)
    geo_head_ = register_module("geo_head", geo_layer(config.location, config.classes));
  check_geo_fits(config.geo, config.attention);
}

Tensor CbamCropNet::run(const Tensor& input, const Tensor& location,
                        std::vector<std::pair<std::string, Shape>>* shapes, AttentionTrace* trace) {
  const Tensor x = as_image_batch(input, config_.timesteps, config_.bands);
  auto note = [&](const std::string& name, const Tensor& t) {
    if (shapes != nullptr) {
      shapes->emplace_back(name, t.shape());
    }
  };
  // The encoded location, for Geo-CBAM.
  const Tensor where = encoded_location(location, x.size(0), config_.geo, config_.location, x.device());
  Tensor h = stem_bn_->forward(stem_conv_->forward(x), /*fuse_relu=*/true);
  note("stem", h);
  const size_t per_stage = static_cast<size_t>(config_.units_per_stage);
  for (size_t s = 0; s < config_.stage_widths.size(); ++s) {
    for (size_t u = 0; u < per_stage; ++u) {
      h = units_[s * per_stage + u]->forward(h);
    }
    if (!attention_.empty() && trace != nullptr) {
      Tensor channel, spatial;
      h = attention_[s]->forward_traced(h, where, channel, spatial);
      trace->channel.push_back(channel);
      trace->spatial.push_back(spatial.defined() ? spatial.reshape({h.size(0), h.size(2), h.size(3)})
                                                 : spatial);
    } else if (!attention_.empty()) {
      h = attention_[s]->forward(h, where);
    }
    note(fmt::format("stage{}", s + 1), h);
  }
  h = global_avg_pool2d(h);
  h = h.reshape({h.size(0), h.size(1)});
  note("pool", h);
  h = geo_head_ ? add(head_->forward(h), geo_head_->forward(where)) : head_->forward(h);
  note("logits", h);
  return h;
}

Tensor CbamCropNet::forward(const Tensor& x) {
  return run(x, Tensor(), nullptr, nullptr);
}

Tensor CbamCropNet::forward_at(const Tensor& x, const Tensor& location) {
  return run(x, location, nullptr, nullptr);
}

Tensor CbamCropNet::forward_traced(const Tensor& x, AttentionTrace& trace, const Tensor& location) {
  trace = {};
  return run(x, location, nullptr, &trace);
}

std::vector<std::pair<std::string, Shape>> CbamCropNet::stage_shapes(const Tensor& x,
                                                                     const Tensor& location) {
  std::vector<std::pair<std::string, Shape>> shapes;
  run(x, location, &shapes, nullptr);
  return shapes;
}

int64_t cbam_rounding_chain(int64_t pixels, int64_t channels, int64_t reduction, int64_t kernel_taps) {
  return (pixels + channels + channels / reduction + 15) + (channels + 2 * kernel_taps + 13);
}

int64_t rounding_chain(const CbamCropNetConfig& c, int64_t batch, bool training) {
  const int64_t p = c.timesteps * c.bands, bn = training ? 2 * batch * p + 8 : 8;
  const int64_t taps = c.spatial_kernel * c.spatial_kernel_width();
  int64_t chain = 9 + 1 + bn, in = c.stem_width;
  for (const int64_t width : c.stage_widths) {
    for (int64_t u = 0; u < c.units_per_stage; ++u) {
      chain += (9 * in + 1) + bn + (9 * width + 1) + bn + 1;
      in = width;
    }
    chain += cbam_rounding_chain(p, width, c.reduction, taps);
    in = width;
  }
  return chain + (p + 1) + (in + 1) + (c.classes + 24);
}

}  // namespace s2::models
