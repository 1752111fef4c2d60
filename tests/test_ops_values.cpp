// Forward results against hand-computed values, and error messages for bad shapes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "framework/error.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "kernels/rounding_bound.h"

using namespace s2;
using doctest::Approx;

TEST_CASE("conv2d 'same' 3x3 on a known input is a correlation, not a convolution") {
  // x = 1..9 in a 3x3 image; the kernel weighs only the right neighbour (x 1) and the one below (x 10):
  // y[i][j] = x[i][j+1] + 10 x[i+1][j] + 0.5, zero beyond the border. A flipped kernel (a true
  // convolution) would weigh the left and upper neighbours instead. Small integers: exact in float32.
  const Tensor x = Tensor::from_vector({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tensor w = Tensor::from_vector({1, 1, 3, 3}, {0, 0, 0, 0, 0, 1, 0, 10, 0});
  const Tensor b = Tensor::from_vector({1}, {0.5f});
  for (auto algorithm : {ConvAlgorithm::Im2colGemm, ConvAlgorithm::Winograd}) {
    const Tensor y = conv2d(x, w, b, {.algorithm = algorithm});
    const std::vector<float> expected{2 + 40 + 0.5f, 3 + 50 + 0.5f, 0 + 60 + 0.5f,  //
                                      5 + 70 + 0.5f, 6 + 80 + 0.5f, 0 + 90 + 0.5f,  //
                                      8 + 0 + 0.5f,  9 + 0 + 0.5f,  0 + 0 + 0.5f};
    CHECK(y.shape() == Shape{1, 1, 3, 3});
    CHECK(y.to_vector() == expected);
  }
}

TEST_CASE("conv2d output sizes follow Keras 'same' and 'valid'") {
  auto out = [](Shape x, Shape w, Conv2dOptions o) {
    const auto g = conv2d_geometry(x, w, o);
    return std::vector<int64_t>{g.h_out, g.w_out, g.pad_top, g.pad_left};
  };
  CHECK(out({1, 1, 36, 10}, {1, 1, 3, 3}, {}) == std::vector<int64_t>{36, 10, 1, 1});
  CHECK(out({1, 1, 36, 10}, {1, 1, 7, 7}, {}) == std::vector<int64_t>{36, 10, 3, 3});
  // Stride 2 on an even size: TF pads 1 in total, all of it at the bottom/right.
  const Conv2dOptions stride2{.stride_h = 2, .stride_w = 2, .padding = Padding::Same};
  const std::vector<int64_t> strided = out({1, 1, 6, 6}, {1, 1, 3, 3}, stride2);
  CHECK(strided == std::vector<int64_t>{3, 3, 0, 0});
  const Conv2dOptions valid{.stride_h = 1, .stride_w = 1, .padding = Padding::Valid};
  const std::vector<int64_t> unpadded = out({1, 1, 7, 5}, {1, 1, 3, 2}, valid);
  CHECK(unpadded == std::vector<int64_t>{5, 4, 0, 0});
}

TEST_CASE("batch norm training output is standardised and updates running statistics") {
  const Tensor x = Tensor::from_vector({2, 1, 1, 2}, {1, 2, 3, 6});  // mean 3, var 3.5
  Tensor gamma = Tensor::from_vector({1}, {2.0f}), beta = Tensor::from_vector({1}, {1.0f});
  Tensor rm = Tensor::zeros({1}), rv = Tensor::ones({1});
  const BatchNormOptions o{.momentum = 0.1f, .eps = 0.0f, .unbiased_running_var = true};
  const Tensor y = batch_norm2d(x, gamma, beta, rm, rv, true, o);
  const float sd = std::sqrt(3.5f);
  CHECK(y.data()[0] == Approx(2.0f * (1 - 3) / sd + 1));
  CHECK(y.data()[3] == Approx(2.0f * (6 - 3) / sd + 1));
  CHECK(rm.item() == Approx(0.3f));
  CHECK(rv.item() == Approx(0.9f + 0.1f * 14.0f / 3.0f));  // unbiased variance 14/3
  const Tensor ye = batch_norm2d(x, gamma, beta, rm, rv, false, o, true);
  CHECK(ye.data()[0] == Approx(std::max(0.0f, 2.0f * (1 - 0.3f) / std::sqrt(rv.item()) + 1)));
}

TEST_CASE("batch norm training against float64: a large mean, planes ending in a partial group of lanes") {
  // 63 pixels per plane: 7 groups of 8 lanes and one of 7 (kernels/cpu/batchnorm.cpp). Values near 100
  // with spread 2, so that a variance computed carelessly (E[x^2] - E[x]^2 in float) would be far off.
  const int64_t n = 5, c = 3, pixels = 63, count = n * pixels;
  Generator g(31);
  std::vector<float> x(static_cast<size_t>(n * c * pixels)), dy(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = 100.0f + 2.0f * g.normal(), dy[i] = g.normal();
  const std::vector<float> gamma_v{0.7f, 1.3f, -0.4f}, beta_v{0.1f, -0.5f, 0.2f};
  Tensor xt = Tensor::from_vector({n, c, 7, 9}, x);
  xt.set_requires_grad(true);
  Tensor gamma = Tensor::from_vector({c}, gamma_v), beta = Tensor::from_vector({c}, beta_v);
  gamma.set_requires_grad(true);
  beta.set_requires_grad(true);
  Tensor rm = Tensor::zeros({c}), rv = Tensor::ones({c});
  const float eps = 1e-3f;
  const Tensor y = batch_norm2d(xt, gamma, beta, rm, rv, true, {.eps = eps});
  sum(mul(y, Tensor::from_vector({n, c, 7, 9}, dy))).backward();
  const double u = kFloat32UnitRoundoff;
  for (int64_t ch = 0; ch < c; ++ch) {
    CAPTURE(ch);
    auto at = [&](int64_t b, int64_t p) { return static_cast<size_t>((b * c + ch) * pixels + p); };
    double mean = 0, var = 0, dbeta = 0, dgamma = 0, g_mass = 0, xg_mass = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t p = 0; p < pixels; ++p) mean += x[at(b, p)];
    mean /= static_cast<double>(count);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t p = 0; p < pixels; ++p) var += (x[at(b, p)] - mean) * (x[at(b, p)] - mean);
    var /= static_cast<double>(count);
    const double invstd = 1.0 / std::sqrt(var + eps), gm = gamma_v[static_cast<size_t>(ch)];
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t p = 0; p < pixels; ++p) {
        const double xi = x[at(b, p)], gi = dy[at(b, p)];
        dbeta += gi, dgamma += gi * (xi - mean) * invstd;
        g_mass += std::abs(gi), xg_mass += std::abs(gi) * (std::abs(xi) + 2 * std::abs(mean)) * invstd;
      }
    }
    // The weight gradients: each term's x - mean in float (its error u (|x| + 2 |mean|) / std), times
    // 1/std and the final cast, summed in double (its own error below 1e-12 of these).
    const double err_dgamma = float32_gamma(3) * xg_mass + u * std::abs(dgamma) + 1e-12 * xg_mass;
    const double err_dbeta = u * std::abs(dbeta) + 1e-12 * g_mass;
    CHECK(std::abs(gamma.grad().data()[ch] - dgamma) <= err_dgamma);
    CHECK(std::abs(beta.grad().data()[ch] - dbeta) <= err_dbeta);
    const double k = gm * invstd / static_cast<double>(count);
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t p = 0; p < pixels; ++p) {
        const double xi = x[at(b, p)], xhat = (xi - mean) * invstd;
        // The mean and 1/std rounded once each, scale and shift in 2 and 2 more roundings, x * scale +
        // shift in 2: within gamma(6) of (|x| + |mean|) |gamma| / std + |beta|.
        const double exact_y = gm * xhat + beta_v[static_cast<size_t>(ch)];
        const double bound_y = float32_gamma(6) * ((std::abs(xi) + std::abs(mean)) * std::abs(gm) * invstd +
                                                   std::abs(beta_v[static_cast<size_t>(ch)]));
        CHECK(std::abs(y.data()[at(b, p)] - exact_y) <= bound_y);
        // dx = k (count dy - dbeta - xhat dgamma): its three terms within gamma(4) of their magnitudes,
        // plus what the errors of xhat (as in dgamma's terms), dgamma and dbeta carry, and k's roundings.
        const double t1 = static_cast<double>(count) * dy[at(b, p)], t3 = xhat * dgamma;
        const double exact_dx = k * (t1 - dbeta - t3);
        const double xhat_err = float32_gamma(3) * (std::abs(xi) + 2 * std::abs(mean)) * invstd;
        const double bound_dx =
            std::abs(k) *
                (float32_gamma(4) * (std::abs(t1) + std::abs(dbeta) + std::abs(t3)) +
                 xhat_err * std::abs(dgamma) + (std::abs(xhat) + xhat_err) * err_dgamma + err_dbeta) +
            float32_gamma(4) * std::abs(exact_dx);
        CHECK(std::abs(xt.grad().data()[at(b, p)] - exact_dx) <= bound_dx);
      }
    }
  }
}

TEST_CASE(
    "batch norm with the residual and ReLU fused: the bits of the three separate ops, and their gradients") {
  Generator g(21);
  const Shape shape{4, 3, 5, 2};
  Tensor x = Tensor::empty(shape), r = Tensor::empty(shape), dy = Tensor::empty(shape);
  for (Tensor* t : {&x, &r, &dy}) {
    for (int64_t i = 0; i < t->numel(); ++i) t->data()[i] = 2.0f * g.normal();
  }
  const Tensor gamma = Tensor::from_vector({3}, {0.7f, 1.3f, -0.4f}),
               beta = Tensor::from_vector({3}, {0.1f, -0.5f, 0.2f});
  for (const bool training : {true, false}) {
    CAPTURE(training);
    Tensor rm1 = Tensor::from_vector({3}, {0.2f, 0.1f, -0.3f}),
           rv1 = Tensor::from_vector({3}, {1.5f, 0.6f, 2.0f});
    Tensor rm2 = rm1.clone(), rv2 = rv1.clone();
    Tensor x1 = x.clone(), x2 = x.clone(), r1 = r.clone(), r2 = r.clone();
    for (Tensor* t : {&x1, &x2, &r1, &r2}) t->set_requires_grad(true);
    const Tensor fused = batch_norm2d(x1, gamma, beta, rm1, rv1, training, {}, true, r1);
    const Tensor apart = relu(add(batch_norm2d(x2, gamma, beta, rm2, rv2, training, {}, false), r2));
    CHECK(fused.to_vector() == apart.to_vector());
    CHECK(rm1.to_vector() == rm2.to_vector());
    CHECK(rv1.to_vector() == rv2.to_vector());
    sum(mul(fused, dy)).backward();
    sum(mul(apart, dy)).backward();
    CHECK(x1.grad().to_vector() == x2.grad().to_vector());
    CHECK(r1.grad().to_vector() == r2.grad().to_vector());
  }
}

TEST_CASE("pooling and channel reductions") {
  const Tensor x = Tensor::from_vector({1, 2, 1, 3}, {1, 5, 3, -2, 0, 7});
  CHECK(global_avg_pool2d(x).to_vector() == std::vector<float>{3, 5.0f / 3});
  CHECK(global_max_pool2d(x).to_vector() == std::vector<float>{5, 7});
  CHECK(channel_mean(x).to_vector() == std::vector<float>{-0.5f, 2.5f, 5});
  CHECK(channel_max(x).to_vector() == std::vector<float>{1, 5, 7});
  const Tensor c = concat_channels({x, channel_max(x)});
  CHECK(c.shape() == Shape{1, 3, 1, 3});
  CHECK(c.to_vector() == std::vector<float>{1, 5, 3, -2, 0, 7, 1, 5, 7});
}

TEST_CASE("global pooling over long rows: the serial scan's first maximum, the mean within its bound") {
  // The forward reductions run in 8 interleaved lanes (kernels/cpu/pooling.cpp). Row lengths around
  // multiples of 8; small integers, so that the maximum repeats across lanes and the first one must win.
  for (const int64_t pixels : {1, 7, 8, 9, 23, 360}) {
    CAPTURE(pixels);
    Generator g(static_cast<uint64_t>(pixels));
    std::vector<float> v(static_cast<size_t>(pixels));
    for (auto& e : v) e = std::round(4.0f * g.normal());
    Tensor x = Tensor::from_vector({1, 1, 1, pixels}, v);
    x.set_requires_grad(true);
    const Tensor y = global_max_pool2d(x);
    sum(y).backward();
    const auto first = std::max_element(v.begin(), v.end()) - v.begin();  // the first of the largest
    std::vector<float> route(v.size(), 0.0f);
    route[static_cast<size_t>(first)] = 1.0f;
    CHECK(y.item() == v[static_cast<size_t>(first)]);
    CHECK(x.grad().to_vector() == route);
    CHECK(global_max_pool2d(x.detach()).item() == y.item());  // no gradient: the value-only scan
    // The largest value last, in the partial lane group's last element when there is one.
    std::vector<float> rising(v.size());
    for (size_t i = 0; i < rising.size(); ++i) rising[i] = static_cast<float>(i) - 3.0f;
    CHECK(global_max_pool2d(Tensor::from_vector({1, 1, 1, pixels}, rising)).item() == rising.back());
    // The mean: at most ceil(n / 8) additions per lane, 3 to combine the lanes, 1 division.
    double exact = 0, magnitude = 0;
    for (const float e : v) exact += e, magnitude += std::abs(e);
    const auto chain = (pixels + 7) / 8 + 4;
    CHECK(std::abs(global_avg_pool2d(x.detach()).item() - exact / static_cast<double>(pixels)) <=
          float32_gamma(chain) * magnitude / static_cast<double>(pixels));
  }
}

TEST_CASE("the maximum over channels: the same value with and without the arg-max, the first one routed") {
  // Small integers over 5 channels, so that ties across channels are common.
  const int64_t n = 2, c = 5, h = 3, w = 4, pixels = h * w;
  Generator g(11);
  std::vector<float> v(static_cast<size_t>(n * c * pixels));
  for (auto& e : v) e = std::round(1.5f * g.normal());
  Tensor x = Tensor::from_vector({n, c, h, w}, v);
  std::vector<float> expected(static_cast<size_t>(n * pixels)), route(v.size(), 0.0f);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t p = 0; p < pixels; ++p) {
      int64_t best = 0;  // the serial scan: a later channel wins only when strictly larger
      for (int64_t k = 1; k < c; ++k) {
        if (v[static_cast<size_t>((b * c + k) * pixels + p)] >
            v[static_cast<size_t>((b * c + best) * pixels + p)])
          best = k;
      }
      expected[static_cast<size_t>(b * pixels + p)] = v[static_cast<size_t>((b * c + best) * pixels + p)];
      route[static_cast<size_t>((b * c + best) * pixels + p)] = 1.0f;
    }
  }
  CHECK(channel_max(x).to_vector() == expected);  // no gradient: the value alone
  x.set_requires_grad(true);
  const Tensor y = channel_max(x);
  CHECK(y.to_vector() == expected);
  sum(y).backward();
  CHECK(x.grad().to_vector() == route);
}

TEST_CASE("max pooling routes the gradient to the arg-max only") {
  Tensor x = Tensor::from_vector({1, 1, 1, 4}, {0.1f, 0.9f, 0.3f, 0.9f});
  x.set_requires_grad(true);
  sum(global_max_pool2d(x)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 0, 0});  // first maximum on ties
}

TEST_CASE("broadcasting add and mul") {
  const Tensor a = Tensor::from_vector({1, 2, 1, 2}, {1, 2, 3, 4});
  const Tensor s = Tensor::from_vector({1, 2, 1, 1}, {10, 100});
  CHECK(mul(a, s).to_vector() == std::vector<float>{10, 20, 300, 400});
  const Tensor p = Tensor::from_vector({1, 1, 1, 2}, {-1, 1});
  CHECK(add(a, p).to_vector() == std::vector<float>{0, 3, 2, 5});
}

TEST_CASE("softmax cross-entropy value with weights and smoothing") {
  const Tensor z = Tensor::from_vector({2, 2}, {0, 0, 2, 0});
  const std::vector<int32_t> y{0, 1};
  const float l0 = std::log(2.0f), l1 = std::log(1.0f + std::exp(2.0f));
  CHECK(softmax_cross_entropy(z, y).item() == Approx((l0 + l1) / 2));
  CHECK(softmax_cross_entropy(z, y, {{1.0f, 3.0f}, 0.0f}).item() == Approx((l0 + 3 * l1) / 4));
  // Smoothing 0.2 over 2 classes: targets (0.9, 0.1) and (0.1, 0.9).
  const float lp0 = std::log(1 / (1 + std::exp(-2.0f))), lp1 = -l1;
  const float smooth = (l0 + (-(0.1f * lp0 + 0.9f * lp1))) / 2;
  CHECK(softmax_cross_entropy(z, y, {{}, 0.2f}).item() == Approx(smooth));
}

TEST_CASE("errors name the shapes involved") {
  const Tensor a = Tensor::zeros({2, 3, 4, 5}), b = Tensor::zeros({2, 4, 1, 1});
  CHECK_THROWS_WITH_AS(add(a, b), "cannot broadcast shapes (2, 3, 4, 5) and (2, 4, 1, 1)", Error);
  const Tensor w = Tensor::zeros({8, 2, 3, 3});
  CHECK_THROWS_WITH_AS(conv2d(a, w, Tensor()),
                       "conv2d: input (2, 3, 4, 5) has 3 channels but weight (8, 2, 3, 3) expects 2", Error);
  CHECK_THROWS_AS(softmax_cross_entropy(Tensor::zeros({2, 3}), {0, 3}), Error);
  CHECK_THROWS_WITH_AS(Tensor::zeros({2, 3}).reshape({4, 2}),
                       "reshape (2, 3) -> (4, 2): element counts differ", Error);
}

TEST_CASE("dropout keeps the expectation and is reproducible with a seed") {
  const Tensor x = Tensor::ones({1000});
  Generator g1(5), g2(5);
  const Tensor y1 = dropout(x, 0.25f, true, g1), y2 = dropout(x, 0.25f, true, g2);
  CHECK(y1.to_vector() == y2.to_vector());
  // Every kept value is 1 / (1 - p), every dropped one 0; the dropped count is Binomial(1000, 0.25),
  // mean 250, standard deviation 13.7: within 5 standard deviations.
  int64_t zeros = 0;
  for (const float v : y1.to_vector()) {
    CHECK((v == 0.0f || v == Approx(1.0f / 0.75f)));
    zeros += v == 0.0f ? 1 : 0;
  }
  CHECK(std::abs(zeros - 250) <= 5 * 13.7);
  CHECK(dropout(x, 0.25f, false).same_as(x));
}
