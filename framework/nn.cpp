#include "framework/nn.h"

#include "framework/init.h"

namespace s2::nn {

namespace {
// Biases start at zero except under PyTorch's convention, which draws them after the weight.
void initialise(Tensor& w, Tensor& bias, Init init) {
  switch (init) {
    case Init::HeNormal: init::he_normal(w); break;
    case Init::GlorotUniform: init::glorot_uniform(w); break;
    case Init::TorchDefault: init::torch_default(w, bias.defined() ? &bias : nullptr); break;
    case Init::Zeros: w.fill_(0.0f); break;  // draws nothing, so the other layers' draws stay as they were
  }
}
}  // namespace

Conv2d::Conv2d(const Conv2dConfig& config) : config_(config) {
  Tensor w = Tensor::empty({config.out_channels, config.in_channels, config.kernel_h, config.kernel_w});
  Tensor b = config.bias ? Tensor::zeros({config.out_channels}) : Tensor();
  initialise(w, b, config.init);
  weight = register_parameter("weight", w);
  if (config.bias) {
    bias = register_parameter("bias", b);
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
  Tensor b = with_bias ? Tensor::zeros({out_features}) : Tensor();
  initialise(w, b, init);
  weight = register_parameter("weight", w);
  if (with_bias) {
    bias = register_parameter("bias", b);
  }
}

}  // namespace s2::nn
