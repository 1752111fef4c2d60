#pragma once
// The layers the models are built from.
#include "framework/module.h"
#include "framework/ops.h"

namespace s2::nn {

// HeNormal and GlorotUniform are Keras's (zero biases); TorchDefault is PyTorch's (uniform +-1/sqrt(fan_in)
// for the weight and the bias).
enum class Init { HeNormal, GlorotUniform, TorchDefault, Zeros };

struct Conv2dConfig {
  int64_t in_channels, out_channels, kernel_h, kernel_w;
  bool bias = true;
  Conv2dOptions options = {};
  Init init = Init::HeNormal;
};

class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dConfig& config);
  Tensor forward(const Tensor& x) const { return conv2d(x, weight, bias, config_.options); }
  Tensor weight, bias;

 private:
  Conv2dConfig config_;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, BatchNormOptions options = {});
  // fuse_relu returns relu(bn(x)) in one pass; a residual is added before the ReLU.
  Tensor forward(const Tensor& x, bool fuse_relu = false, const Tensor& residual = Tensor());
  Tensor gamma, beta, running_mean, running_var;

 private:
  BatchNormOptions options_;
};

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Init init = Init::GlorotUniform);
  Tensor forward(const Tensor& x) const { return linear(x, weight, bias); }
  Tensor weight, bias;
};

class Dropout : public Module {
 public:
  explicit Dropout(float p) : p_(p) {}
  Tensor forward(const Tensor& x) const { return dropout(x, p_, is_training()); }

 private:
  float p_;
};

}  // namespace s2::nn
