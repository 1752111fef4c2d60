#pragma once
// The paper's attention CNN for one pixel's time series, read as a T x B x 1 image (NCHW: N,1,T,B),
// and its ablation variants, all chosen by CbamCropNetConfig.
#include <memory>
#include <string>
#include <vector>

#include "framework/nn.h"
#include "models/classifier.h"
#include "models/location_encoding.h"

namespace s2::models {

enum class Attention { Cbam, ChannelOnly, SpatialOnly, None };
Attention parse_attention(const std::string& name);
const char* attention_name(Attention a);

// Geo-CBAM (issue #21; the paper's design is not public, so this one is ours): where the location
// encoding (models/location_encoding.h) enters. Channel: a linear map of it joins the pooled
// descriptors in the first layer of the channel-attention MLP (as if concatenated to them). Spatial: it
// scales and shifts the spatial attention's logits per sample (FiLM). Both: the two. Head: the naive
// baseline, concatenated to the pooled features before the classifier. Every geo layer starts at zero,
// so an untrained Geo-CBAM computes what CBAM does.
enum class GeoAttention { None, Channel, Spatial, Both, Head };
GeoAttention parse_geo_attention(const std::string& name);
const char* geo_attention_name(GeoAttention g);

// Weight initialisation conventions (issue #20). He: truncated He normal for every conv and the
// attention MLP, Glorot uniform for the dense head, zero biases (s2cbam's default until the conventions
// study). Keras: the notebook's, the same but with a Glorot-uniform stem conv (Keras's default for a
// Conv2D given no initialiser). Torch: PyTorch's defaults for every layer, biases drawn too; the default,
// as it trained best on validation (experiments/configs/paper_victoria_conventions.toml, README).
enum class WeightInit { He, Keras, Torch };
WeightInit parse_weight_init(const std::string& name);
const char* weight_init_name(WeightInit w);

struct CbamCropNetConfig {
  int64_t timesteps = 36, bands = 10, classes = 5;
  int64_t stem_width = 64;
  std::vector<int64_t> stage_widths{64, 128, 256};
  int64_t units_per_stage = 1;
  Attention attention = Attention::Cbam;
  bool residual_skip = true;
  int64_t reduction = 8;             // channel-attention MLP: C -> C / reduction -> C
  int64_t spatial_kernel = 7;        // spatial-attention conv size
  int64_t spatial_kernel_w = 0;      // its width where not square (0: square); TempCBAM's k x 1
  BatchNormOptions batch_norm = {};  // Keras defaults (momentum 0.99 in Keras's convention)
  WeightInit init = WeightInit::Torch;
  bool stem_bias = true;                  // the stem conv's bias (Keras and PyTorch both have one)
  bool mlp_bias = true;                   // the channel-attention MLP's biases
  GeoAttention geo = GeoAttention::None;  // None: the paper network
  LocationEncoding location = {};
  int64_t spatial_kernel_width() const { return spatial_kernel_w > 0 ? spatial_kernel_w : spatial_kernel; }
};

// Shared by the models with Geo-CBAM (this one and TempCBAM, models/tempcnn.h).
// A geo layer: a linear map of the location encoding without bias, starting at zero (no effect until
// trained) and drawing no random numbers, so an untrained geo model is its plain version of its seed.
std::shared_ptr<nn::Linear> geo_layer(const LocationEncoding& location, int64_t out);
// Fails unless `geo` enters attention that `attention` has.
void check_geo_fits(GeoAttention geo, Attention attention);
// The encoded `location` (N, 2) for a batch of `batch` samples on `device`, after checking it is there
// and has that shape; undefined for geo None.
Tensor encoded_location(const Tensor& location, int64_t batch, GeoAttention geo,
                        const LocationEncoding& encoding, Device device);

// conv3x3-BN-ReLU-conv3x3-BN, plus a 1x1 conv skip, add, ReLU. Convs have no bias.
class ResidualUnit : public Module {
 public:
  ResidualUnit(int64_t in_channels, int64_t out_channels, const CbamCropNetConfig& config);
  Tensor forward(const Tensor& x);

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_, skip_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_;
};

// Shared MLP over global average and max pooling, summed, sigmoid, scales the channels.
// With geo channel attention, the encoded location `where` (N, E) enters the MLP's first layer.
class ChannelAttention : public Module {
 public:
  ChannelAttention(int64_t channels, const CbamCropNetConfig& config);
  Tensor forward(const Tensor& x, const Tensor& where = {}) const;
  Tensor weights(const Tensor& x, const Tensor& where = {}) const;  // the factors alone, (N, C)

 private:
  std::shared_ptr<nn::Linear> fc1_, fc2_, geo_;
};

// Channel mean and max -> kxk conv 2->1 without bias -> sigmoid, scales the pixels.
// With geo spatial attention, the encoded location scales and shifts the conv's output before the sigmoid.
// A square kernel without geo runs the fused op (which has a CUDA kernel); others compose it from ops.
class SpatialAttention : public Module {
 public:
  explicit SpatialAttention(const CbamCropNetConfig& config);
  Tensor forward(const Tensor& x, const Tensor& where = {}) const;
  Tensor map(const Tensor& x, const Tensor& where = {}) const;  // the factors alone, (N, 1, H, W)

 private:
  Tensor logits(const Tensor& x) const;  // the conv over channel mean and max, before the sigmoid
  std::shared_ptr<nn::Conv2d> conv_;
  std::shared_ptr<nn::Linear> geo_scale_, geo_shift_;
  bool fused_ = true;
};

class Cbam : public Module {
 public:
  Cbam(int64_t channels, const CbamCropNetConfig& config);
  Tensor forward(const Tensor& x, const Tensor& where = {}) const;
  // The same block through the unfused ops (channel_attention_weights, spatial_attention_map, mul),
  // handing out the factors it applied: channel weights (N, C) and the spatial map (N, 1, H, W), each
  // left undefined where the variant has no such attention.
  Tensor forward_traced(const Tensor& x, const Tensor& where, Tensor& channel_weights,
                        Tensor& spatial_map) const;

 private:
  std::shared_ptr<ChannelAttention> channel_;
  std::shared_ptr<SpatialAttention> spatial_;
};

// What each CBAM stage applied to a batch, for explaining predictions (experiments/explain): per stage,
// the channel weights (N, C) and the spatial map over the date x band plane (N, T, B); a stage's entry
// is undefined where the variant lacks that attention, and both lists are empty without attention.
struct AttentionTrace {
  std::vector<Tensor> channel, spatial;
};

// The paper network; with attention None and no residual skip it is the plain 2D CNN baseline.
class CbamCropNet : public Classifier {
 public:
  explicit CbamCropNet(const CbamCropNetConfig& config);
  Tensor forward(const Tensor& x) override;
  Tensor forward_at(const Tensor& x, const Tensor& location) override;
  bool uses_location() const override { return config_.geo != GeoAttention::None; }
  // Geo-CBAM and non-square spatial kernels compose their attention from CPU-only ops.
  bool has_cuda_kernels() const override {
    return !uses_location() && config_.spatial_kernel_width() == config_.spatial_kernel;
  }
  // The logits, through the unfused attention ops, and the attention of every stage (`location` as
  // forward_at takes it, for Geo-CBAM).
  Tensor forward_traced(const Tensor& x, AttentionTrace& trace, const Tensor& location = {});
  int64_t num_classes() const override { return config_.classes; }
  // Every intermediate shape, for tests and for printing a summary.
  std::vector<std::pair<std::string, Shape>> stage_shapes(const Tensor& x, const Tensor& location = {});
  const CbamCropNetConfig& config() const { return config_; }

 private:
  Tensor run(const Tensor& x, const Tensor& location, std::vector<std::pair<std::string, Shape>>* shapes,
             AttentionTrace* trace);
  CbamCropNetConfig config_;
  std::shared_ptr<nn::Conv2d> stem_conv_;
  std::shared_ptr<nn::BatchNorm2d> stem_bn_;
  std::vector<std::shared_ptr<ResidualUnit>> units_;
  std::vector<std::shared_ptr<Cbam>> attention_;
  std::shared_ptr<nn::Linear> head_, geo_head_;
};

// The longest chain of float32 roundings from the input to the logits (kernels/rounding_bound.h), for
// comparing two implementations of this network: each layer's reduction length along the path, the
// batch statistics of every batch norm in training (two sums of N x P values), the attention blocks
// (pooling, MLP, sigmoid; channel mean and max, the k x k conv), the pooling, the dense layer and the
// softmax.
int64_t rounding_chain(const CbamCropNetConfig& c, int64_t batch, bool training);
// One CBAM block's share of that chain, on maps of `pixels` positions and `channels` channels: the
// pooling, the MLP (reduced by `reduction`) and sigmoid, then the channel mean and max and the conv of
// `kernel_taps` taps per input over them. Shared with TempCBAM's chain (models/tempcnn.h).
int64_t cbam_rounding_chain(int64_t pixels, int64_t channels, int64_t reduction, int64_t kernel_taps);

}  // namespace s2::models
