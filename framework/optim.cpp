#include "framework/optim.h"

#include <cmath>
#include <limits>
#include <numbers>

#include "framework/autograd.h"
#include "framework/device.h"
#include "framework/error.h"
#include "kernels/adam_math.h"
#include "kernels/cpu/fixed_math.h"
#include "kernels/cpu/optim.h"

namespace s2::optim {

namespace {
std::vector<Tensor> zeros_like_all(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  for (const Tensor& p : params) {
    out.push_back(Tensor::zeros(p.shape(), p.device()));
  }
  return out;
}

void save_slots(NamedTensors& out, const char* prefix, const std::vector<Tensor>& slots) {
  for (size_t i = 0; i < slots.size(); ++i) {
    out.emplace_back(std::string(prefix) + std::to_string(i), slots[i]);
  }
}

void load_slots(const NamedTensors& state, const char* prefix, std::vector<Tensor>& slots) {
  for (size_t i = 0; i < slots.size(); ++i) {
    const std::string name = std::string(prefix) + std::to_string(i);
    bool found = false;
    for (const auto& [key, t] : state) {
      if (key == name) {
        S2_CHECK(t.shape() == slots[i].shape(), "optimiser state '{}' has shape {}, expected {}", name,
                 shape_str(t.shape()), shape_str(slots[i].shape()));
        slots[i].copy_from(t);
        found = true;
      }
    }
    S2_CHECK(found, "optimiser state '{}' is missing", name);
  }
}

int64_t load_steps(const NamedTensors& state) {
  for (const auto& [key, t] : state) {
    if (key == "steps") {
      return static_cast<int64_t>(t.item());
    }
  }
  fail("optimiser state 'steps' is missing");
}
}  // namespace

void Optimizer::zero_grad() {
  for (Tensor& p : params_) {
    p.zero_grad();
  }
}

Sgd::Sgd(std::vector<Tensor> params, SgdOptions options)
    : Optimizer(std::move(params), options.lr), options_(options), velocity_(zeros_like_all(params_)) {}

void Sgd::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = params_[i].grad();
    if (!g.defined()) {
      continue;
    }
    S2_CHECK(params_[i].device() == Device::CPU, "SGD runs on the CPU only; use Adam on cuda");
    const cpu::SgdStep s{lr_, options_.momentum, options_.weight_decay, options_.nesterov};
    cpu::sgd_update(params_[i].numel(), params_[i].data(), g.data(), velocity_[i].data(), s);
  }
  ++steps_;
}

NamedTensors Sgd::state() const {
  NamedTensors out{{"steps", Tensor::scalar(static_cast<float>(steps_))}};
  save_slots(out, "velocity.", velocity_);
  return out;
}

void Sgd::load_state(const NamedTensors& state) {
  steps_ = load_steps(state);
  load_slots(state, "velocity.", velocity_);
}

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Optimizer(std::move(params), options.lr),
      options_(options),
      m_(zeros_like_all(params_)),
      v_(zeros_like_all(params_)) {}

void Adam::step() {
  NoGradGuard no_grad;
  ++steps_;
  const cpu::AdamStep s{lr_,          options_.beta1,        options_.beta2,
                        options_.eps, options_.weight_decay, options_.decoupled_weight_decay,
                        steps_};
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = params_[i].grad();
    if (!g.defined()) {
      continue;
    }
    if (params_[i].device() == Device::CUDA) {
      m_[i].move_to_(Device::CUDA);  // the model may have moved after the optimiser was built
      v_[i].move_to_(Device::CUDA);
      device_kernels().adam_update(params_[i].numel(), params_[i].data(), g.data(), m_[i].data(),
                                   v_[i].data(), s);
    } else {
      cpu::adam_update(params_[i].numel(), params_[i].data(), g.data(), m_[i].data(), v_[i].data(), s);
    }
  }
}

NamedTensors Adam::state() const {
  // Float holds step counts exactly up to 2^24, far beyond any training run here.
  NamedTensors out{{"steps", Tensor::scalar(static_cast<float>(steps_))}};
  save_slots(out, "m.", m_);
  save_slots(out, "v.", v_);
  return out;
}

void Adam::load_state(const NamedTensors& state) {
  steps_ = load_steps(state);
  load_slots(state, "m.", m_);
  load_slots(state, "v.", v_);
}

std::unique_ptr<Adam> make_adamw(std::vector<Tensor> params, float lr, float weight_decay) {
  AdamOptions o;
  o.lr = lr;
  o.weight_decay = weight_decay;
  o.decoupled_weight_decay = true;
  return std::make_unique<Adam>(std::move(params), o);
}

float clip_grad_norm(const std::vector<Tensor>& params, float max_norm) {
  // On the host: to(CPU) is the gradient itself for CPU tensors and a copy for device ones (one small
  // reduction per step, cheap next to the network).
  std::vector<Tensor> grads;
  double sq = 0.0;
  for (const Tensor& p : params) {
    grads.push_back(p.grad().defined() ? p.grad().to(Device::CPU) : Tensor());
    for (int64_t i = 0; grads.back().defined() && i < grads.back().numel(); ++i) {
      sq += static_cast<double>(grads.back().data()[i]) * grads.back().data()[i];
    }
  }
  const float norm = static_cast<float>(std::sqrt(sq));
  if (norm > max_norm) {
    const float scale = max_norm / (norm + 1e-6f);
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor& g = grads[i];
      for (int64_t k = 0; g.defined() && k < g.numel(); ++k) {
        g.data()[k] *= scale;
      }
      if (g.defined() && params[i].grad().device() != Device::CPU) {
        Tensor(params[i].grad()).copy_from(g);
      }
    }
  }
  return norm;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, float gamma)
    : Schedule(optimizer), step_size_(step_size), gamma_(gamma) {
  S2_CHECK(step_size > 0, "StepLR: step_size must be positive, got {}", step_size);
}

void StepLR::step(float) {
  ++epoch_;
  optimizer_.set_lr(base_lr_ * static_cast<float>(integer_power(gamma_, epoch_ / step_size_)));
}

CosineLR::CosineLR(Optimizer& optimizer, int64_t total_epochs, float min_lr)
    : Schedule(optimizer), total_(total_epochs), min_lr_(min_lr) {
  S2_CHECK(total_epochs > 0, "CosineLR: total_epochs must be positive, got {}", total_epochs);
}

void CosineLR::step(float) {
  epoch_ = std::min(epoch_ + 1, total_);
  const double progress = static_cast<double>(epoch_) / static_cast<double>(total_);
  optimizer_.set_lr(min_lr_ +
                    (base_lr_ - min_lr_) * static_cast<float>(0.5 * (1.0 + cpu::cos_pi_f64(progress))));
}

ReduceOnPlateau::ReduceOnPlateau(Optimizer& optimizer, float factor, int64_t patience, float min_lr,
                                 float threshold)
    : Schedule(optimizer),
      factor_(factor),
      min_lr_(min_lr),
      threshold_(threshold),
      patience_(patience),
      best_(std::numeric_limits<float>::infinity()) {}

void ReduceOnPlateau::step(float monitored_value) {
  // A relative improvement threshold, as PyTorch's default 'rel' mode.
  if (monitored_value < best_ * (1.0f - threshold_)) {
    best_ = monitored_value;
    bad_epochs_ = 0;
    return;
  }
  if (++bad_epochs_ > patience_) {
    optimizer_.set_lr(std::max(optimizer_.lr() * factor_, min_lr_));
    bad_epochs_ = 0;
  }
}

}  // namespace s2::optim
