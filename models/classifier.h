#pragma once
// What the training loop, evaluation and prediction need from a model: logits for a batch of pixel
// time series.
#include "framework/module.h"

namespace s2::models {

class Classifier : public Module {
 public:
  // x: (N, T, B) or (N, 1, T, B) -> logits (N, classes)
  virtual Tensor forward(const Tensor& x) = 0;
  virtual int64_t num_classes() const = 0;
  // False for models whose layers have no CUDA kernels: they train and predict on the CPU only.
  virtual bool has_cuda_kernels() const { return true; }
  // Location-aware models (Geo-CBAM) also take where each sample is, `location` (N, 2) latitude and
  // longitude in degrees; their plain forward() is an error. Other models ignore the location.
  virtual bool uses_location() const { return false; }
  virtual Tensor forward_at(const Tensor& x, const Tensor& location) {
    (void)location;
    return forward(x);
  }
};

// Brings (N, T, B) input to (N, 1, T, B) and checks T and B; shared by the models.
Tensor as_image_batch(const Tensor& input, int64_t timesteps, int64_t bands);

}  // namespace s2::models
