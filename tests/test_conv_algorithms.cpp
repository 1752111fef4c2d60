// The conv algorithms against a float64 convolution from the definition, forward and backward, each
// within the float32 error bound of the way it sums (kernels/rounding_bound.h): im2col+GEMM sums a
// patch directly; Winograd (F(2x2,3x3), and F(4x2,3x3) for the forward) sums transformed products, whose
// bound comes from evaluating the same transforms on absolute values.
#include <doctest/doctest.h>

#include <array>
#include <cmath>

#include "framework/error.h"
#include "framework/ops.h"
#include "kernels/cpu/conv2d_winograd.h"
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

// Winograd's transforms with every coefficient made absolute, per axis: F(2,3) (4 points) and F(4,3)
// (6 points: 0, 1, -1, 2, -2 and infinity).
struct AxisTransforms {
  int m;                                       // outputs per tile along the axis
  std::vector<std::vector<double>> bt, g, at;  // |B^T| (n x n), |G| (n x 3), |A^T| (m x n)
};
const AxisTransforms kF2{2,
                         {{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}},
                         {{1, 0, 0}, {.5, .5, .5}, {.5, .5, .5}, {0, 0, 1}},
                         {{1, 1, 1, 0}, {0, 1, 1, 1}}};
const AxisTransforms kF4{4,
                         {{4, 0, 5, 0, 1, 0},
                          {0, 4, 4, 1, 1, 0},
                          {0, 4, 4, 1, 1, 0},
                          {0, 2, 1, 2, 1, 0},
                          {0, 2, 1, 2, 1, 0},
                          {0, 4, 0, 5, 0, 1}},
                         {{1. / 4, 0, 0},
                          {1. / 6, 1. / 6, 1. / 6},
                          {1. / 6, 1. / 6, 1. / 6},
                          {1. / 24, 1. / 12, 1. / 6},
                          {1. / 24, 1. / 12, 1. / 6},
                          {0, 0, 1}},
                         {{1, 1, 1, 1, 1, 0}, {0, 1, 1, 2, 2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, 1, 8, 8, 1}}};
const AxisTransforms& axis(int64_t m) {
  return m == 4 ? kF4 : kF2;
}

using Matrix = std::vector<std::vector<double>>;

// |L| |v| |R|^T for a matrix v.
Matrix sandwich(const Matrix& left, const Matrix& v, const Matrix& right) {
  Matrix out(left.size(), std::vector<double>(right.size(), 0.0));
  for (size_t i = 0; i < left.size(); ++i)
    for (size_t j = 0; j < right.size(); ++j)
      for (size_t a = 0; a < v.size(); ++a)
        for (size_t b = 0; b < v[a].size(); ++b) out[i][j] += left[i][a] * std::abs(v[a][b]) * right[j][b];
  return out;
}

// The (mh + 2) x (mw + 2) input patch of tile (a, b) of channel c of sample n, zero beyond the border.
Matrix input_patch(const Planes& x, const Conv2dGeometry& g, int64_t n, int64_t c, int64_t a, int64_t b,
                   int64_t mh, int64_t mw) {
  Matrix d(at(mh + 2), std::vector<double>(at(mw + 2), 0.0));
  for (int64_t i = 0; i < mh + 2; ++i)
    for (int64_t j = 0; j < mw + 2; ++j) {
      const int64_t ih = mh * a - 1 + i, iw = mw * b - 1 + j;
      if (ih >= 0 && ih < g.h_in && iw >= 0 && iw < g.w_in)
        d[at(i)][at(j)] = x[at(((n * g.c_in + c) * g.h_in + ih) * g.w_in + iw)];
    }
  return d;
}

// Per output element of conv2d_winograd with an mh x mw tile, the absolute-value evaluation of its
// transforms and products.
Planes winograd_magnitude(const Planes& x, const Planes& w, const Conv2dGeometry& g, int64_t mh, int64_t mw) {
  const AxisTransforms &th = axis(mh), &tw = axis(mw);
  Planes out(at(g.batch * g.c_out * g.out_pixels()), 0.0);
  std::vector<Matrix> u(at(g.c_out * g.c_in));
  for (int64_t kc = 0; kc < g.c_out * g.c_in; ++kc) {
    Matrix k3(3, std::vector<double>(3));
    for (int i = 0; i < 9; ++i) k3[at(i / 3)][at(i % 3)] = w[at(kc * 9 + i)];
    u[at(kc)] = sandwich(th.g, k3, tw.g);
  }
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t a = 0; mh * a < g.h_out; ++a)
      for (int64_t b = 0; mw * b < g.w_out; ++b) {
        std::vector<Matrix> v(at(g.c_in));
        for (int64_t c = 0; c < g.c_in; ++c)
          v[at(c)] = sandwich(th.bt, input_patch(x, g, n, c, a, b, mh, mw), tw.bt);
        for (int64_t k = 0; k < g.c_out; ++k) {
          Matrix m(at(mh + 2), std::vector<double>(at(mw + 2), 0.0));
          for (int64_t c = 0; c < g.c_in; ++c)
            for (size_t i = 0; i < m.size(); ++i)
              for (size_t j = 0; j < m[i].size(); ++j)
                m[i][j] += u[at(k * g.c_in + c)][i][j] * v[at(c)][i][j];
          const Matrix y = sandwich(th.at, m, tw.at);
          for (int64_t i = 0; i < mh && mh * a + i < g.h_out; ++i)
            for (int64_t j = 0; j < mw && mw * b + j < g.w_out; ++j)
              out[at(((n * g.c_out + k) * g.h_out + mh * a + i) * g.w_out + mw * b + j)] = y[at(i)][at(j)];
        }
      }
  return out;
}

// The same for the weight gradient, which is F(2x2, 3x3) whatever the forward's tile: |G^T| (sum over
// samples and tiles of |A| |dy| |A^T| (.) |B^T| |x| |B|) |G| per kernel element.
Planes winograd_weight_magnitude(const Planes& x, const Planes& dy, const Conv2dGeometry& g) {
  Matrix a_abs(4, std::vector<double>(2)), gt_abs(3, std::vector<double>(4));  // A = (A^T)^T, G^T
  for (size_t i = 0; i < 4; ++i) {
    for (size_t j = 0; j < 2; ++j) a_abs[i][j] = kF2.at[j][i];
    for (size_t j = 0; j < 3; ++j) gt_abs[j][i] = kF2.g[i][j];
  }
  std::vector<Matrix> du(at(g.c_out * g.c_in), Matrix(4, std::vector<double>(4, 0.0)));
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t a = 0; 2 * a < g.h_out; ++a)
      for (int64_t b = 0; 2 * b < g.w_out; ++b) {
        std::vector<Matrix> v(at(g.c_in)), z(at(g.c_out));
        for (int64_t c = 0; c < g.c_in; ++c)
          v[at(c)] = sandwich(kF2.bt, input_patch(x, g, n, c, a, b, 2, 2), kF2.bt);
        for (int64_t k = 0; k < g.c_out; ++k) {
          Matrix t(2, std::vector<double>(2, 0.0));
          for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j)
              if (2 * a + i < g.h_out && 2 * b + j < g.w_out)
                t[at(i)][at(j)] = dy[at(((n * g.c_out + k) * g.h_out + 2 * a + i) * g.w_out + 2 * b + j)];
          z[at(k)] = sandwich(a_abs, t, a_abs);
        }
        for (int64_t k = 0; k < g.c_out; ++k)
          for (int64_t c = 0; c < g.c_in; ++c)
            for (size_t i = 0; i < 4; ++i)
              for (size_t j = 0; j < 4; ++j) du[at(k * g.c_in + c)][i][j] += z[at(k)][i][j] * v[at(c)][i][j];
      }
  Planes out(at(g.c_out * g.c_in * 9));
  for (int64_t kc = 0; kc < g.c_out * g.c_in; ++kc) {
    const Matrix m = sandwich(gt_abs, du[at(kc)], gt_abs);
    for (int i = 0; i < 9; ++i) out[at(kc * 9 + i)] = m[at(i / 3)][at(i % 3)];
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

// Winograd's chain per output: the product 1 and the channel sum c_in, then per axis the input
// transform (F(2,3) 1, F(4,3) 2), the filter transform (3, with F(2,3)'s halving or F(4,3)'s
// division) and the output transform (F(2,3) 2, F(4,3) 3).
int64_t winograd_chain(int64_t c_in, int64_t mh, int64_t mw) {
  auto per_axis = [](int64_t m) { return m == 4 ? 2 + 3 + 3 : 1 + 3 + 2; };
  return c_in + 1 + per_axis(mh) + per_axis(mw);
}

// The tile each Winograd algorithm runs the forward (and backward-input) with.
cpu::WinogradTile tile_for(ConvAlgorithm algorithm, const Conv2dGeometry& g) {
  return algorithm == ConvAlgorithm::WinogradF4x2 ? cpu::winograd_tile_f4x2(g) : cpu::kWinogradF2x2;
}

}  // namespace

TEST_CASE("im2col and Winograd match a float64 convolution within their bounds") {
  const std::pair<Shape, Shape> cases[] = {
      {{3, 64, 36, 10}, {64, 64, 3, 3}},     // paper stage 1
      {{2, 128, 36, 10}, {256, 128, 3, 3}},  // paper stage 3 entry
      {{9, 5, 7, 3}, {6, 5, 3, 3}},          // batch past one Winograd chunk, odd sizes, F(4,3) overhang
      {{19, 3, 12, 10}, {4, 3, 3, 3}},       // a full 8-sample lane group per thread
      {{2, 4, 36, 20}, {3, 4, 3, 3}},        // 90 tiles: two passes of 45, the second from mid-row
      {{2, 3, 6, 9}, {2, 3, 3, 3}},          // 6 rows: F(2,3) and F(4,3) tie, F(2x2) for both
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
    for (auto algorithm : {ConvAlgorithm::Winograd, ConvAlgorithm::WinogradF4x2}) {
      const cpu::WinogradTile tile = tile_for(algorithm, geometry);
      CAPTURE(tile.h);
      check_within(conv2d(x, w, Tensor(), {.algorithm = algorithm}).to_vector(), ref.value,
                   winograd_magnitude(as_doubles(x), as_doubles(w), geometry, tile.h, tile.w),
                   winograd_chain(geometry.c_in, tile.h, tile.w), "Winograd");
    }
  }
}

TEST_CASE("the F(4x2) tile is taken where it transforms fewer points, and by Auto") {
  auto tile_h = [](int64_t h) {
    return cpu::winograd_tile_f4x2(conv2d_geometry({1, 1, h, 10}, {1, 1, 3, 3}, {})).h;
  };
  CHECK(tile_h(36) == 4);  // 9 tiles of 6 points against 18 of 4
  CHECK(tile_h(7) == 4);   // 2 x 6 against 4 x 4
  CHECK(tile_h(6) == 2);   // a tie: 2 x 6 against 3 x 4
  CHECK(tile_h(2) == 2);
  // Auto computes what WinogradF4x2 computes, bit for bit, for the paper's shapes.
  Generator g(5);
  const Tensor x = random_tensor({4, 64, 36, 10}, g), w = random_tensor({64, 64, 3, 3}, g, 0.1f);
  CHECK(conv2d(x, w, Tensor()).to_vector() ==
        conv2d(x, w, Tensor(), {.algorithm = ConvAlgorithm::WinogradF4x2}).to_vector());
  CHECK(conv2d(x, w, Tensor()).to_vector() !=
        conv2d(x, w, Tensor(), {.algorithm = ConvAlgorithm::Winograd}).to_vector());
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
  for (auto algorithm : {ConvAlgorithm::Im2colGemm, ConvAlgorithm::Winograd, ConvAlgorithm::WinogradF4x2}) {
    const bool winograd = algorithm != ConvAlgorithm::Im2colGemm;
    CAPTURE(static_cast<int>(algorithm));
    Tensor xi = x.clone(), wi = w.clone();
    xi.set_requires_grad(true);
    wi.set_requires_grad(true);
    conv2d(xi, wi, Tensor(), {.algorithm = algorithm}).backward(upstream);
    if (winograd) {
      const cpu::WinogradTile tile = tile_for(algorithm, gt);
      check_within(xi.grad().to_vector(), dx.value,
                   winograd_magnitude(as_doubles(upstream), wt, gt, tile.h, tile.w),
                   winograd_chain(24, tile.h, tile.w), "Winograd dx");
    } else {
      // im2col: a GEMM over output channels, then col2im adds up to 9 overlapping patches.
      check_within(xi.grad().to_vector(), dx.value, dx.magnitude, 24 + 9, "im2col dx");
    }
    // dw sums the batch's pixels directly (im2col), or the transformed products of every tile (Winograd,
    // F(2x2) for either algorithm: two transforms of 2, the tile sum, and the 6 of G^T dU G).
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
