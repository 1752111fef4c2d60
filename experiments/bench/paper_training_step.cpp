#include "experiments/bench/paper_training_step.h"

#include "framework/ops.h"

namespace s2::experiments {

namespace {
// The default configuration, after seeding the initialisers (so every run starts from the same weights).
models::CbamCropNetConfig seeded_paper_config() {
  manual_seed(0);
  return {};
}

// The module's parameters once it is on `device` (the optimiser keeps its moments there).
std::vector<Tensor> parameters_on(Module& module, Device device) {
  module.to(device);
  return module.parameters();
}
}  // namespace

PaperTrainingStep::PaperTrainingStep(int64_t batch, Device device)
    : net_(seeded_paper_config()), adam_(parameters_on(net_, device), {}) {
  Tensor x = Tensor::empty({batch, 1, 36, 10});
  for (int64_t i = 0; i < x.numel(); ++i) {
    x.data()[i] = generator_.normal();
  }
  for (int64_t i = 0; i < batch; ++i) {
    labels_.push_back(static_cast<int32_t>(generator_.below(5)));
  }
  x_ = x.to(device);
}

void PaperTrainingStep::run() {
  adam_.zero_grad();
  const Tensor loss = softmax_cross_entropy(net_.forward(x_), labels_);
  loss.backward();
  adam_.step();
  (void)loss.item();
}

}  // namespace s2::experiments
