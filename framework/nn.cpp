#include "framework/nn.h"

#include "framework/init.h"

namespace s2::nn {

namespace {
void initialise(Tensor& w, Init init) {
  if (init == Init::HeNormal) {
    init::he_normal(w);
  } else {
    init::glorot_uniform(w);
  }
}
}  // namespace

Conv2d::Conv2d(const Conv2dConfig& config) : config_(config) {
  Tensor w = Tensor::empty({config.out_channels, config.in_channels, config.kernel_h, config.kernel_w});
  initialise(w, config.init);
  weight = register_parameter("weight", w);
  if (config.bias) {
    bias = register_parameter("bias", Tensor::zeros({config.out_channels}));
  }
}

BatchNorm2d::BatchNorm2d(int64_t channels, BatchNormOptions options) : options_(options) {
  gamma = register_parameter("gamma", Tensor::ones({channels}));
  beta = register_parameter("beta", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::ones({channels}));
}

Tensor BatchNorm2d::forward(const Tensor& x, bool fuse_relu, const Tensor& residual) {
  return batch_norm2d(x, gamma, beta, running_mean, running_var, is_training(), options_, fuse_relu,
                      residual);
}

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, Init init) {
  Tensor w = Tensor::empty({out_features, in_features});
  initialise(w, init);
  weight = register_parameter("weight", w);
  if (with_bias) {
    bias = register_parameter("bias", Tensor::zeros({out_features}));
  }
}

}  // namespace s2::nn
