// Optimiser steps against hand-computed values, schedules and clipping.
#include <doctest/doctest.h>

#include <cmath>

#include "framework/optim.h"

using namespace s2;
using doctest::Approx;

namespace {
Tensor param_with_grad(std::vector<float> value, std::vector<float> grad) {
  const auto n = static_cast<int64_t>(value.size());
  Tensor p = Tensor::from_vector({n}, value);
  p.set_requires_grad(true);
  p.set_grad(Tensor::from_vector({n}, grad));
  return p;
}
}  // namespace

TEST_CASE("SGD with momentum and weight decay") {
  Tensor p = param_with_grad({1.0f}, {0.5f});
  optim::Sgd sgd({p}, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.1f});
  sgd.step();  // g = 0.5 + 0.1 * 1 = 0.6; v = 0.6; p = 1 - 0.06
  CHECK(p.item() == Approx(0.94f));
  sgd.step();  // g = 0.5 + 0.094 = 0.594; v = 0.9 * 0.6 + 0.594 = 1.134; p = 0.94 - 0.1134
  CHECK(p.item() == Approx(0.8266f));
}

TEST_CASE("SGD with Nesterov momentum looks ahead along the momentum buffer") {
  Tensor p = param_with_grad({1.0f}, {0.5f});
  optim::Sgd sgd({p}, {.lr = 0.1f, .momentum = 0.9f, .nesterov = true});
  sgd.step();  // v = 0.5; d = g + 0.9 v = 0.95; p = 1 - 0.095
  CHECK(p.item() == Approx(0.905f));
  sgd.step();  // v = 0.45 + 0.5 = 0.95; d = 0.5 + 0.855 = 1.355; p = 0.905 - 0.1355
  CHECK(p.item() == Approx(0.7695f));
}

TEST_CASE("Adam first two steps") {
  Tensor p = param_with_grad({1.0f, -2.0f}, {0.1f, -0.4f});
  optim::Adam adam({p}, {});
  adam.step();  // bias-corrected first step moves by lr * sign(g)
  CHECK(p.data()[0] == Approx(1.0f - 1e-3f));
  CHECK(p.data()[1] == Approx(-2.0f + 1e-3f));
  p.set_grad(Tensor::from_vector({2}, {0.3f, -0.4f}));
  adam.step();
  // m = 0.9*0.01 + 0.03 = 0.039 -> /0.19; v = 0.999*1e-5 + 0.001*0.09 -> /0.001999
  const double m_hat = (0.9 * 0.1 * 0.1 + 0.1 * 0.3) / (1 - 0.81);
  const double v_hat = (0.999 * 0.001 * 0.01 + 0.001 * 0.09) / (1 - 0.998001);
  CHECK(p.data()[0] == Approx(1.0 - 1e-3 - 1e-3 * m_hat / (std::sqrt(v_hat) + 1e-8)));
  CHECK(p.data()[1] == Approx(-2.0f + 2e-3f));
}

TEST_CASE("AdamW decays the weights directly, where Adam adds the decay to the gradient") {
  // p = 2, gradient 0.4, lr 0.1, decay 0.5, first step (m and v bias-corrected to g and g^2):
  //   AdamW: p = 2 (1 - 0.1 * 0.5) - 0.1 * 0.4 / (0.4 + eps)             = 1.9 - 0.1   = 1.8
  //   Adam with L2: g' = 0.4 + 0.5 * 2 = 1.4, p = 2 - 0.1 * 1.4 / (1.4 + eps) = 2 - 0.1 = 1.9
  // Both to within the epsilon's share (1e-8 / 0.4) of the step; a zero gradient would not tell them apart.
  Tensor p = param_with_grad({2.0f}, {0.4f}), q = param_with_grad({2.0f}, {0.4f});
  optim::make_adamw({p}, 0.1f, 0.5f)->step();
  optim::AdamOptions with_l2;
  with_l2.lr = 0.1f;
  with_l2.weight_decay = 0.5f;
  optim::Adam({q}, with_l2).step();
  CHECK(p.item() == Approx(1.8f).epsilon(1e-6));
  CHECK(q.item() == Approx(1.9f).epsilon(1e-6));
}

TEST_CASE("optimiser state round trip resumes identically") {
  Tensor a = param_with_grad({1, 2}, {0.3f, -0.1f}), b = param_with_grad({1, 2}, {0.3f, -0.1f});
  optim::Adam first({a}, {}), second({b}, {});
  first.step();
  second.load_state(first.state());
  b.copy_from(a);
  first.step();
  second.step();
  CHECK(a.to_vector() == b.to_vector());
  CHECK(second.steps_taken() == 2);
}

TEST_CASE("learning-rate schedules") {
  Tensor p = param_with_grad({0}, {0});
  optim::Sgd sgd({p}, {.lr = 1.0f});
  optim::StepLR step(sgd, 2, 0.5f);
  step.step();
  CHECK(sgd.lr() == Approx(1.0f));
  step.step();
  CHECK(sgd.lr() == Approx(0.5f));
  optim::Sgd sgd2({p}, {.lr = 1.0f});
  optim::CosineLR cosine(sgd2, 4, 0.0f);
  cosine.step();
  cosine.step();
  CHECK(sgd2.lr() == Approx(0.5f));
  optim::Sgd sgd3({p}, {.lr = 1.0f});
  optim::ReduceOnPlateau plateau(sgd3, 0.1f, 1);
  plateau.step(1.0f);
  plateau.step(1.0f);
  CHECK(sgd3.lr() == Approx(1.0f));
  plateau.step(1.0f);
  CHECK(sgd3.lr() == Approx(0.1f));
}

TEST_CASE("gradient clipping by global norm") {
  Tensor a = param_with_grad({0, 0}, {3, 0}), b = param_with_grad({0}, {4});
  CHECK(optim::clip_grad_norm({a, b}, 1.0f) == Approx(5.0f));
  CHECK(a.grad().data()[0] == Approx(0.6f));
  CHECK(b.grad().data()[0] == Approx(0.8f));
}
