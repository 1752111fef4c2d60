#pragma once
// TempCNN (Pelletier, Webb and Petitjean, 2019): 1-D convolutions over time with the bands as
// channels, conv-BN-ReLU-dropout blocks, then a dense layer and the softmax head.
//
// TempCBAM (issue #21; ours): the same with a CBAM block after each conv block's ReLU, on its
// (filters x T) maps: the channel attention's MLP weighs the filters, and the spatial attention, with a
// k x 1 kernel, weighs the dates. Optionally Geo-CBAM's location entries (models/cbam_crop_net.h).
// With attention None it is TempCNN, the same layers and the same random draws.
#include <memory>
#include <string>
#include <vector>

#include "framework/nn.h"
#include "framework/ops.h"
#include "models/cbam_crop_net.h"
#include "models/classifier.h"

namespace s2::models {

enum class AttentionJoin { Multiply, Residual, Gated };
AttentionJoin parse_attention_join(const std::string& name);
const char* attention_join_name(AttentionJoin j);

struct TempCnnConfig {
  int64_t timesteps = 36, bands = 10, classes = 5;
  int64_t filters = 64, kernel_size = 5, conv_layers = 3;
  int64_t dense_units = 256;
  float dropout = 0.2f;
  BatchNormOptions batch_norm = {};
  // TempCBAM: the attention after each block, its MLP reduction and date-kernel length, and where the
  // location enters (geo head: the encoding joins the dense features before the classifier).
  Attention attention = Attention::None;
  int64_t reduction = 8, attention_kernel = 7;
  // How each block's attention a meets its maps x: x a, as CBAM; residual (Wang et al. 2017),
  // x (1 + a), so that attention can only amplify; gated, x (1 + g a) with a gate g per filter that
  // starts at 0 (as ReZero and LayerScale start their branches), so that the untrained network is
  // TempCNN and attention enters only as far as training finds it useful.
  AttentionJoin attention_join = AttentionJoin::Multiply;
  GeoAttention geo = GeoAttention::None;
  LocationEncoding location = {};
};

class TempCnn : public Classifier {
 public:
  explicit TempCnn(const TempCnnConfig& config);
  Tensor forward(const Tensor& x) override;
  Tensor forward_at(const Tensor& x, const Tensor& location) override;
  bool uses_location() const override { return config_.geo != GeoAttention::None; }
  int64_t num_classes() const override { return config_.classes; }
  const TempCnnConfig& config() const { return config_; }
  // Dropout and its 1D convolution layout (transpose_last2) have no CUDA kernels.
  bool has_cuda_kernels() const override { return false; }

 private:
  Tensor run(const Tensor& x, const Tensor& location);
  TempCnnConfig config_;
  std::vector<std::shared_ptr<Cbam>> attention_;  // TempCBAM's, one per conv block
  std::vector<Tensor> gates_;                     // (1, filters, 1, 1) per block, for the gated join
  std::shared_ptr<nn::Linear> geo_head_;
  std::vector<std::shared_ptr<nn::Conv2d>> convs_;
  std::vector<std::shared_ptr<nn::BatchNorm2d>> norms_;
  std::shared_ptr<nn::Linear> dense_, head_;
  std::shared_ptr<nn::BatchNorm2d> dense_norm_;
  std::shared_ptr<nn::Dropout> dropout_;
};

// The longest chain of float32 roundings from the input to the logits in inference (as the
// CbamCropNet's rounding_chain): each conv's reduction (k x channels + bias), its batch norm and ReLU,
// TempCBAM's attention, the dense layer, its batch norm, the head and the softmax.
int64_t rounding_chain(const TempCnnConfig& c);

}  // namespace s2::models
