#pragma once
// TempCNN (Pelletier, Webb and Petitjean, 2019): 1-D convolutions over time with the bands as
// channels, conv-BN-ReLU-dropout blocks, then a dense layer and the softmax head.
#include <memory>
#include <vector>

#include "framework/nn.h"
#include "framework/ops.h"
#include "models/classifier.h"

namespace s2::models {

struct TempCnnConfig {
  int64_t timesteps = 36, bands = 10, classes = 5;
  int64_t filters = 64, kernel_size = 5, conv_layers = 3;
  int64_t dense_units = 256;
  float dropout = 0.2f;
  BatchNormOptions batch_norm = {};
};

class TempCnn : public Classifier {
 public:
  explicit TempCnn(const TempCnnConfig& config);
  Tensor forward(const Tensor& x) override;
  int64_t num_classes() const override { return config_.classes; }
  const TempCnnConfig& config() const { return config_; }
  // Dropout and its 1D convolution layout (transpose_last2) have no CUDA kernels.
  bool has_cuda_kernels() const override { return false; }

 private:
  TempCnnConfig config_;
  std::vector<std::shared_ptr<nn::Conv2d>> convs_;
  std::vector<std::shared_ptr<nn::BatchNorm2d>> norms_;
  std::shared_ptr<nn::Linear> dense_, head_;
  std::shared_ptr<nn::BatchNorm2d> dense_norm_;
  std::shared_ptr<nn::Dropout> dropout_;
};

// The longest chain of float32 roundings from the input to the logits in inference (as the
// CbamCropNet's rounding_chain): each conv's reduction (k x channels + bias), its batch norm and ReLU,
// the dense layer, its batch norm, the head and the softmax.
int64_t rounding_chain(const TempCnnConfig& c);

}  // namespace s2::models
