#pragma once
// Optimisers with the PyTorch defaults, learning-rate schedules and gradient clipping.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/module.h"
#include "framework/tensor.h"

namespace s2::optim {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params, float lr) : params_(std::move(params)), lr_(lr) {}
  virtual ~Optimizer() = default;
  // Applies one update to every parameter that has a gradient.
  virtual void step() = 0;
  void zero_grad();
  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  int64_t steps_taken() const { return steps_; }
  // Per-parameter state ("m.3", "v.3", ...) plus the step count, for checkpoints.
  virtual NamedTensors state() const = 0;
  virtual void load_state(const NamedTensors& state) = 0;

 protected:
  std::vector<Tensor> params_;
  float lr_;
  int64_t steps_ = 0;
};

struct SgdOptions {
  float lr = 0.01f, momentum = 0.0f, weight_decay = 0.0f;
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<Tensor> params, SgdOptions options);
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;

 private:
  SgdOptions options_;
  std::vector<Tensor> velocity_;
};

struct AdamOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  bool decoupled_weight_decay = false;  // true = AdamW
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options);
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;

 private:
  AdamOptions options_;
  std::vector<Tensor> m_, v_;
};

// AdamW with PyTorch's default decay of 0.01.
std::unique_ptr<Adam> make_adamw(std::vector<Tensor> params, float lr = 1e-3f, float weight_decay = 0.01f);

// Scales all gradients so that their joint L2 norm is at most max_norm; returns the norm before.
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);

// Learning-rate schedules: call step() once per epoch (ReduceOnPlateau with the monitored value).
class Schedule {
 public:
  explicit Schedule(Optimizer& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}
  virtual ~Schedule() = default;
  virtual void step(float monitored_value) = 0;

 protected:
  Optimizer& optimizer_;
  float base_lr_;
  int64_t epoch_ = 0;
};

class StepLR : public Schedule {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, float gamma = 0.1f);
  void step(float monitored_value = 0.0f) override;

 private:
  int64_t step_size_;
  float gamma_;
};

class CosineLR : public Schedule {
 public:
  CosineLR(Optimizer& optimizer, int64_t total_epochs, float min_lr = 0.0f);
  void step(float monitored_value = 0.0f) override;

 private:
  int64_t total_;
  float min_lr_;
};

class ReduceOnPlateau : public Schedule {
 public:
  // Multiplies the rate by factor after `patience` epochs without the value decreasing.
  ReduceOnPlateau(Optimizer& optimizer, float factor = 0.1f, int64_t patience = 10, float min_lr = 0.0f,
                  float threshold = 1e-4f);
  void step(float monitored_value) override;

 private:
  float factor_, min_lr_, threshold_;
  int64_t patience_, bad_epochs_ = 0;
  float best_;
};

}  // namespace s2::optim
