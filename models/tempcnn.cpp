#include "models/tempcnn.h"

#include <fmt/format.h>

#include "framework/error.h"

namespace s2::models {

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
  dense_ = register_module("dense", std::make_shared<nn::Linear>(c.filters * c.timesteps, c.dense_units));
  dense_norm_ = register_module("dense_bn", std::make_shared<nn::BatchNorm2d>(c.dense_units, c.batch_norm));
  head_ = register_module("head", std::make_shared<nn::Linear>(c.dense_units, c.classes));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
}

Tensor TempCnn::forward(const Tensor& input) {
  const Tensor x = as_image_batch(input, config_.timesteps, config_.bands);
  const int64_t n = x.size(0);
  // (N, 1, T, B) -> (N, B, T, 1): bands become channels.
  Tensor h = transpose_last2(x.reshape({n, config_.timesteps, config_.bands}))
                 .reshape({n, config_.bands, config_.timesteps, 1});
  for (size_t i = 0; i < convs_.size(); ++i) {
    h = dropout_->forward(norms_[i]->forward(convs_[i]->forward(h), /*fuse_relu=*/true));
  }
  h = dense_->forward(h.reshape({n, -1}));
  h = dense_norm_->forward(h.reshape({n, config_.dense_units, 1, 1}), /*fuse_relu=*/true);
  return head_->forward(dropout_->forward(h).reshape({n, config_.dense_units}));
}

int64_t rounding_chain(const TempCnnConfig& c) {
  int64_t chain = 0, channels = c.bands;
  for (int64_t i = 0; i < c.conv_layers; ++i) {
    chain += c.kernel_size * channels + 1 + 8;  // the conv with its bias, then batch norm and ReLU
    channels = c.filters;
  }
  return chain + (c.filters * c.timesteps + 1) + 8 + (c.dense_units + 1) + (c.classes + 24);
}

}  // namespace s2::models
