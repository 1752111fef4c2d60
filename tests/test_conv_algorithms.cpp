// The conv algorithms agree with each other and with a naive reference, forward and backward.
#include <doctest/doctest.h>

#include <cmath>

#include "framework/error.h"
#include "framework/ops.h"
#include "tests/gradcheck.h"

using namespace s2;
using s2::testing::random_tensor;

namespace {
// Direct convolution from the definition, in double.
std::vector<double> naive_conv(const Tensor& x, const Tensor& w, const Conv2dGeometry& g) {
  std::vector<double> y(static_cast<size_t>(g.batch * g.c_out * g.out_pixels()), 0.0);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t k = 0; k < g.c_out; ++k)
      for (int64_t oh = 0; oh < g.h_out; ++oh)
        for (int64_t ow = 0; ow < g.w_out; ++ow) {
          double s = 0;
          for (int64_t c = 0; c < g.c_in; ++c)
            for (int64_t i = 0; i < g.kernel_h; ++i)
              for (int64_t j = 0; j < g.kernel_w; ++j) {
                const int64_t ih = oh * g.stride_h - g.pad_top + i, iw = ow * g.stride_w - g.pad_left + j;
                if (ih < 0 || ih >= g.h_in || iw < 0 || iw >= g.w_in) continue;
                s += static_cast<double>(x.data()[((n * g.c_in + c) * g.h_in + ih) * g.w_in + iw]) *
                     w.data()[((k * g.c_in + c) * g.kernel_h + i) * g.kernel_w + j];
              }
          y[static_cast<size_t>(((n * g.c_out + k) * g.h_out + oh) * g.w_out + ow)] = s;
        }
  return y;
}

double max_rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
  return worst / std::max(scale, 1e-12);
}
}  // namespace

TEST_CASE("im2col and Winograd match a naive convolution on the paper's shapes and edge shapes") {
  const std::pair<Shape, Shape> cases[] = {
      {{3, 64, 36, 10}, {64, 64, 3, 3}},     // paper stage 1
      {{2, 128, 36, 10}, {256, 128, 3, 3}},  // paper stage 3 entry
      {{9, 5, 7, 3}, {6, 5, 3, 3}},          // batch past one Winograd chunk, odd sizes
      {{1, 1, 1, 1}, {1, 1, 3, 3}},          // a single pixel
  };
  for (const auto& [xs, ws] : cases) {
    CAPTURE(shape_str(xs));
    CAPTURE(shape_str(ws));
    Generator g(3);
    const Tensor x = random_tensor(xs, g), w = random_tensor(ws, g, 0.1f);
    const auto geometry = conv2d_geometry(xs, ws, {});
    const auto ref = naive_conv(x, w, geometry);
    const std::vector<float> reference(ref.begin(), ref.end());
    for (auto algorithm : {ConvAlgorithm::Im2colGemm, ConvAlgorithm::Winograd}) {
      const Tensor y = conv2d(x, w, Tensor(), {.algorithm = algorithm});
      CHECK(max_rel_error(y.to_vector(), reference) < 1e-5);
    }
  }
}

TEST_CASE("Winograd and im2col gradients agree on a paper shape") {
  Generator g(4);
  Tensor x = random_tensor({4, 64, 36, 10}, g), w = random_tensor({128, 64, 3, 3}, g, 0.05f);
  const Tensor upstream = random_tensor({4, 128, 36, 10}, g);
  auto grads = [&](ConvAlgorithm a) {
    Tensor xi = x.clone(), wi = w.clone();
    xi.set_requires_grad(true);
    wi.set_requires_grad(true);
    conv2d(xi, wi, Tensor(), {.algorithm = a}).backward(upstream);
    return std::pair{xi.grad().to_vector(), wi.grad().to_vector()};
  };
  const auto [dx_w, dw_w] = grads(ConvAlgorithm::Winograd);
  const auto [dx_i, dw_i] = grads(ConvAlgorithm::Im2colGemm);
  CHECK(max_rel_error(dx_w, dx_i) < 1e-5);
  CHECK(max_rel_error(dw_w, dw_i) < 1e-6);
}

TEST_CASE("Winograd refuses convolutions it cannot compute") {
  const Tensor x = Tensor::zeros({1, 2, 6, 6});
  CHECK_THROWS_WITH_AS(
      conv2d(x, Tensor::zeros({2, 2, 5, 5}), Tensor(), {.algorithm = ConvAlgorithm::Winograd}),
      doctest::Contains("Winograd needs a 3x3 stride-1"), Error);
}
