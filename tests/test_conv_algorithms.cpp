// The conv algorithms against a float64 convolution from the definition, forward and backward, each
// within the float32 error bound of the way it sums (kernels/rounding_bound.h): im2col+GEMM sums a
// patch directly; Winograd F(2x2,3x3) sums transformed products, whose bound comes from evaluating the
// same transforms on absolute values.
#include <doctest/doctest.h>

#include <array>
#include <cmath>

#include "framework/error.h"
#include "framework/ops.h"
#include "kernels/rounding_bound.h"
#include "tests/gradcheck.h"

using namespace s2;
using s2::testing::random_tensor;

namespace {

using Planes = std::vector<double>;

size_t at(int64_t i) {
  return static_cast<size_t>(i);
}

// An exact-enough value and the sum of the absolute values of its terms, per element.
struct Reference {
  Planes value, magnitude;
};

// Correlation from the definition in float64: y[n][k] = sum_c x[n][c] (*) w[k][c], 'same' padding of
// (kernel - 1) / 2 for odd kernels as conv2d_geometry gives, stride 1.
Reference naive_conv(const Planes& x, const Planes& w, const Conv2dGeometry& g) {
  Reference r{Planes(at(g.batch * g.c_out * g.out_pixels()), 0.0),
              Planes(at(g.batch * g.c_out * g.out_pixels()), 0.0)};
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t k = 0; k < g.c_out; ++k)
      for (int64_t oh = 0; oh < g.h_out; ++oh)
        for (int64_t ow = 0; ow < g.w_out; ++ow) {
          double s = 0, m = 0;
          for (int64_t c = 0; c < g.c_in; ++c)
            for (int64_t i = 0; i < g.kernel_h; ++i)
              for (int64_t j = 0; j < g.kernel_w; ++j) {
                const int64_t ih = oh * g.stride_h - g.pad_top + i, iw = ow * g.stride_w - g.pad_left + j;
                if (ih < 0 || ih >= g.h_in || iw < 0 || iw >= g.w_in) continue;
                const double t = x[at(((n * g.c_in + c) * g.h_in + ih) * g.w_in + iw)] *
                                 w[at(((k * g.c_in + c) * g.kernel_h + i) * g.kernel_w + j)];
                s += t;
                m += std::abs(t);
              }
          const size_t o = at(((n * g.c_out + k) * g.h_out + oh) * g.w_out + ow);
          r.value[o] = s;
          r.magnitude[o] = m;
        }
  return r;
}

// The weight gradient from the definition: dw[k][c][i][j] = sum over n and pixels of dy * x.
Reference naive_weight_grad(const Planes& x, const Planes& dy, const Conv2dGeometry& g) {
  Reference r{Planes(at(g.c_out * g.c_in * 9), 0.0), Planes(at(g.c_out * g.c_in * 9), 0.0)};
  for (int64_t k = 0; k < g.c_out; ++k)
    for (int64_t c = 0; c < g.c_in; ++c)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          double s = 0, m = 0;
          for (int64_t n = 0; n < g.batch; ++n)
            for (int64_t oh = 0; oh < g.h_out; ++oh)
              for (int64_t ow = 0; ow < g.w_out; ++ow) {
                const int64_t ih = oh - 1 + i, iw = ow - 1 + j;
                if (ih < 0 || ih >= g.h_in || iw < 0 || iw >= g.w_in) continue;
                const double t = dy[at(((n * g.c_out + k) * g.h_out + oh) * g.w_out + ow)] *
                                 x[at(((n * g.c_in + c) * g.h_in + ih) * g.w_in + iw)];
                s += t;
                m += std::abs(t);
              }
          r.value[at(((k * g.c_in + c) * 3 + i) * 3 + j)] = s;
          r.magnitude[at(((k * g.c_in + c) * 3 + i) * 3 + j)] = m;
        }
  return r;
}

// |B^T| |d| |B| for a 4x4 patch, |G| |w| |G^T| for a 3x3 kernel, |A^T| |m| |A| back to 2x2: Winograd's
// transforms with every coefficient and value made absolute (B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0;
// 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1]).
constexpr double kBt[4][4] = {{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}};
constexpr double kG[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, .5, .5}, {0, 0, 1}};
constexpr double kAt[2][4] = {{1, 1, 1, 0}, {0, 1, 1, 1}};

template <int R, int K>
std::array<double, R * R> sandwich(const double (&left)[R][K], const std::array<double, K * K>& v) {
  std::array<double, R * R> out{};
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < R; ++j)
      for (int a = 0; a < K; ++a)
        for (int b = 0; b < K; ++b)
          out[at(i * R + j)] += left[i][a] * std::abs(v[at(a * K + b)]) * left[j][b];
  return out;
}

// The 4x4 input patch of tile (a, b) of channel c of sample n, zero beyond the border.
std::array<double, 16> input_patch(const Planes& x, const Conv2dGeometry& g, int64_t n, int64_t c, int64_t a,
                                   int64_t b) {
  std::array<double, 16> d{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const int64_t ih = 2 * a - 1 + i, iw = 2 * b - 1 + j;
      if (ih >= 0 && ih < g.h_in && iw >= 0 && iw < g.w_in)
        d[at(i * 4 + j)] = x[at(((n * g.c_in + c) * g.h_in + ih) * g.w_in + iw)];
    }
  return d;
}

// Per output element of conv2d_winograd, the absolute-value evaluation of its transforms and products.
Planes winograd_magnitude(const Planes& x, const Planes& w, const Conv2dGeometry& g) {
  Planes out(at(g.batch * g.c_out * g.out_pixels()), 0.0);
  std::vector<std::array<double, 16>> u(at(g.c_out * g.c_in));
  for (int64_t kc = 0; kc < g.c_out * g.c_in; ++kc) {
    std::array<double, 9> k9{};
    for (int i = 0; i < 9; ++i) k9[at(i)] = w[at(kc * 9 + i)];
    u[at(kc)] = sandwich<4, 3>(kG, k9);
  }
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t a = 0; 2 * a < g.h_out; ++a)
      for (int64_t b = 0; 2 * b < g.w_out; ++b) {
        std::vector<std::array<double, 16>> v(at(g.c_in));
        for (int64_t c = 0; c < g.c_in; ++c) {
          v[at(c)] = sandwich<4, 4>(kBt, input_patch(x, g, n, c, a, b));
        }
        for (int64_t k = 0; k < g.c_out; ++k) {
          std::array<double, 16> m{};
          for (int64_t c = 0; c < g.c_in; ++c)
            for (int xi = 0; xi < 16; ++xi) m[at(xi)] += u[at(k * g.c_in + c)][at(xi)] * v[at(c)][at(xi)];
          const auto y = sandwich<2, 4>(kAt, m);
          for (int i = 0; i < 2 && 2 * a + i < g.h_out; ++i)
            for (int j = 0; j < 2 && 2 * b + j < g.w_out; ++j)
              out[at(((n * g.c_out + k) * g.h_out + 2 * a + i) * g.w_out + 2 * b + j)] = y[at(i * 2 + j)];
        }
      }
  return out;
}

// The same for the weight gradient: |G^T| (sum over samples and tiles of |A| |dy| |A^T| (.) |B^T| |x|
// |B|) |G| per kernel element (A = A^T transposed, G^T = G transposed).
constexpr double kA[4][2] = {{1, 0}, {1, 1}, {1, 1}, {0, 1}};
constexpr double kGt[3][4] = {{1, .5, .5, 0}, {0, .5, .5, 0}, {0, .5, .5, 1}};
Planes winograd_weight_magnitude(const Planes& x, const Planes& dy, const Conv2dGeometry& g) {
  std::vector<std::array<double, 16>> du(at(g.c_out * g.c_in));
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t a = 0; 2 * a < g.h_out; ++a)
      for (int64_t b = 0; 2 * b < g.w_out; ++b) {
        std::vector<std::array<double, 16>> v(at(g.c_in)), z(at(g.c_out));
        for (int64_t c = 0; c < g.c_in; ++c) {
          v[at(c)] = sandwich<4, 4>(kBt, input_patch(x, g, n, c, a, b));
        }
        for (int64_t k = 0; k < g.c_out; ++k) {
          std::array<double, 4> t{};
          for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j)
              if (2 * a + i < g.h_out && 2 * b + j < g.w_out)
                t[at(i * 2 + j)] = dy[at(((n * g.c_out + k) * g.h_out + 2 * a + i) * g.w_out + 2 * b + j)];
          z[at(k)] = sandwich<4, 2>(kA, t);
        }
        for (int64_t k = 0; k < g.c_out; ++k)
          for (int64_t c = 0; c < g.c_in; ++c)
            for (int xi = 0; xi < 16; ++xi)
              du[at(k * g.c_in + c)][at(xi)] += z[at(k)][at(xi)] * v[at(c)][at(xi)];
      }
  Planes out(at(g.c_out * g.c_in * 9));
  for (int64_t kc = 0; kc < g.c_out * g.c_in; ++kc) {
    const auto m = sandwich<3, 4>(kGt, du[at(kc)]);
    for (int i = 0; i < 9; ++i) out[at(kc * 9 + i)] = m[at(i)];
  }
  return out;
}

Planes as_doubles(const Tensor& t) {
  return Planes(t.data(), t.data() + t.numel());
}

// w (K, C, 3, 3) -> rot180 with channels swapped (C, K, 3, 3): the filter of the input gradient.
Planes transposed_rotated(const Planes& w, int64_t k_out, int64_t c_in) {
  Planes r(w.size());
  for (int64_t k = 0; k < k_out; ++k)
    for (int64_t c = 0; c < c_in; ++c)
      for (int i = 0; i < 9; ++i) r[at((c * k_out + k) * 9 + 8 - i)] = w[at((k * c_in + c) * 9 + i)];
  return r;
}

// Every element within gamma(chain) * magnitude of the float64 value.
void check_within(const std::vector<float>& got, const Planes& want, const Planes& magnitude, int64_t chain,
                  const char* what) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    // The float64 reference's own error (below 2^-53 * magnitude * chain) is far inside this.
    const double bound = float32_gamma(chain) * magnitude[i] * (1 + 1e-9);
    worst = std::max(worst, std::abs(got[i] - want[i]) / std::max(bound, 1e-300));
  }
  INFO(what << ": worst error is " << worst << " of its bound (chain " << chain << ")");
  CHECK(worst <= 1.0);
}

// Winograd's chain per output: input transform 2, filter transform 6 (with the halving), the product
// 1, the channel sum c_in, output transform 4.
int64_t winograd_chain(int64_t c_in) {
  return c_in + 13;
}

}  // namespace

TEST_CASE("im2col and Winograd match a float64 convolution within their bounds") {
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
    const Reference ref = naive_conv(as_doubles(x), as_doubles(w), geometry);
    check_within(conv2d(x, w, Tensor(), {.algorithm = ConvAlgorithm::Im2colGemm}).to_vector(), ref.value,
                 ref.magnitude, geometry.patch_size(), "im2col");
    check_within(conv2d(x, w, Tensor(), {.algorithm = ConvAlgorithm::Winograd}).to_vector(), ref.value,
                 winograd_magnitude(as_doubles(x), as_doubles(w), geometry), winograd_chain(geometry.c_in),
                 "Winograd");
  }
}

TEST_CASE("Winograd and im2col gradients match float64 gradients within their bounds") {
  Generator gen(4);
  const Tensor x = random_tensor({4, 16, 12, 10}, gen), w = random_tensor({24, 16, 3, 3}, gen, 0.05f);
  const Tensor upstream = random_tensor({4, 24, 12, 10}, gen);
  const auto g = conv2d_geometry(x.shape(), w.shape(), {});
  // dx is the convolution of dy with the rotated, channel-swapped filter.
  const Conv2dGeometry gt = conv2d_geometry(upstream.shape(), {16, 24, 3, 3}, {});
  const Planes wt = transposed_rotated(as_doubles(w), 24, 16);
  const Reference dx = naive_conv(as_doubles(upstream), wt, gt);
  const Reference dw = naive_weight_grad(as_doubles(x), as_doubles(upstream), g);
  for (auto algorithm : {ConvAlgorithm::Im2colGemm, ConvAlgorithm::Winograd}) {
    const bool winograd = algorithm == ConvAlgorithm::Winograd;
    CAPTURE(winograd);
    Tensor xi = x.clone(), wi = w.clone();
    xi.set_requires_grad(true);
    wi.set_requires_grad(true);
    conv2d(xi, wi, Tensor(), {.algorithm = algorithm}).backward(upstream);
    if (winograd) {
      check_within(xi.grad().to_vector(), dx.value, winograd_magnitude(as_doubles(upstream), wt, gt),
                   winograd_chain(24), "Winograd dx");
    } else {
      // im2col: a GEMM over output channels, then col2im adds up to 9 overlapping patches.
      check_within(xi.grad().to_vector(), dx.value, dx.magnitude, 24 + 9, "im2col dx");
    }
    // dw sums the batch's pixels directly (im2col), or the transformed products of every tile (Winograd:
    // two transforms of 2, the tile sum, and the 6 of G^T dU G).
    const int64_t pixels = g.batch * g.out_pixels(),
                  tiles = g.batch * ((g.h_out + 1) / 2) * ((g.w_out + 1) / 2);
    if (winograd) {
      check_within(wi.grad().to_vector(), dw.value,
                   winograd_weight_magnitude(as_doubles(x), as_doubles(upstream), g), tiles + 10,
                   "Winograd dw");
    } else {
      check_within(wi.grad().to_vector(), dw.value, dw.magnitude, pixels, "im2col dw");
    }
  }
}

TEST_CASE("Winograd refuses convolutions it cannot compute") {
  const Tensor x = Tensor::zeros({1, 2, 6, 6});
  CHECK_THROWS_WITH_AS(
      conv2d(x, Tensor::zeros({2, 2, 5, 5}), Tensor(), {.algorithm = ConvAlgorithm::Winograd}),
      doctest::Contains("Winograd needs a 3x3 stride-1"), Error);
}
