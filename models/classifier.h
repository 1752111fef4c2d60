#pragma once
// What the training loop, evaluation and prediction need from a model: logits for a batch of pixel
// time series.
#include <cstdint>
#include <string>
#include <vector>

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
  // Models fitted in one call instead of by gradient steps (tree ensembles): x (N, T, B) or
  // (N, 1, T, B), one weight per sample (empty = all 1).
  virtual bool fits_directly() const { return false; }
  virtual void fit(const Tensor& x, const std::vector<int32_t>& labels,
                   const std::vector<float>& sample_weights, uint64_t seed);
  // Takes a saved state (a checkpoint's "model." tensors, prefix removed): by default into the
  // parameters and buffers of the same names and shapes; `path` names the source in errors.
  virtual void restore(const NamedTensors& state, const std::string& path);
};

// Brings (N, T, B) input to (N, 1, T, B) and checks T and B; shared by the models.
Tensor as_image_batch(const Tensor& input, int64_t timesteps, int64_t bands);

}  // namespace s2::models
