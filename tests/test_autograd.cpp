// Graph mechanics: accumulation, no_grad, freeing, shared inputs, allocator reuse.
#include <doctest/doctest.h>

#include "framework/allocator.h"
#include "framework/autograd.h"
#include "framework/error.h"
#include "framework/ops.h"
#include "kernels/rounding_bound.h"

using namespace s2;

TEST_CASE("a tensor used twice receives both gradients") {
  Tensor x = Tensor::from_vector({3}, {1, 2, 3});
  x.set_requires_grad(true);
  sum(mul(x, x)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{2, 4, 6});
}

TEST_CASE("gradients accumulate across backward calls until zeroed") {
  Tensor x = Tensor::from_vector({2}, {1, -1});
  x.set_requires_grad(true);
  sum(mul(x, Tensor::scalar(3.0f))).backward();
  sum(mul(x, Tensor::scalar(3.0f))).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{6, 6});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("no_grad records no graph") {
  Tensor x = Tensor::ones({2});
  x.set_requires_grad(true);
  NoGradGuard guard;
  const Tensor y = relu(x);
  CHECK_FALSE(y.requires_grad());
  CHECK(y.grad_fn() == nullptr);
}

TEST_CASE("graph buffers are freed after backward unless retained") {
  Tensor x = Tensor::ones({2});
  x.set_requires_grad(true);
  const Tensor y = sum(sigmoid(x));
  y.backward(/*retain_graph=*/true);
  y.backward();
  // Two backward passes accumulate 2 s(1) (1 - s(1)), s the logistic function: about 0.39322, computed
  // in float32 through exp (within 10 roundings) and 4 more, against a double value.
  const double s1 = 1.0 / (1.0 + std::exp(-1.0));
  CHECK(x.grad().data()[0] == doctest::Approx(2.0 * s1 * (1.0 - s1)).epsilon(float32_gamma(14)));
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("a second time"), Error);
}

TEST_CASE("the caching allocator reuses blocks of a repeated step") {
  auto step = [] {
    Tensor a = Tensor::ones({64, 64, 36, 10});
    a.set_requires_grad(true);
    sum(relu(mul(a, a))).backward();
  };
  step();
  const auto before = CachingAllocator::host().stats().system_allocs;
  step();
  step();
  CHECK(CachingAllocator::host().stats().system_allocs == before);
}
