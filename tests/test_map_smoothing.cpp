// Bayesian smoothing of class probabilities (experiments/maps/map_smoothing) against a float64
// reference that sorts each whole window, and its defining behaviours: a uniform field is left as it
// is, an isolated pixel joins its field, no-data pixels neither change nor count.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "experiments/maps/map_smoothing.h"
#include "framework/error.h"
#include "framework/random.h"

using namespace s2;
using namespace s2::experiments;

namespace {

// The posterior of pixel (x, y) of a w x h block, [class], from its definition: every valid logit of
// the window, sorted, the top share's mean and variance, the normal-normal posterior, renormalised.
std::vector<double> reference(const std::vector<float>& probs, int64_t k, int64_t w, int64_t h, int64_t x,
                              int64_t y, const SmoothingOptions& o) {
  const auto logit = [](double p) {
    p = std::clamp(p, 1e-6, 1 - 1e-6);
    return std::log(p / (1 - p));
  };
  const size_t n = static_cast<size_t>(w * h);
  std::vector<double> post(static_cast<size_t>(k));
  double total = 0;
  for (int64_t c = 0; c < k; ++c) {
    std::vector<double> v;
    for (int64_t yy = y - o.window / 2; yy <= y + o.window / 2; ++yy) {
      for (int64_t xx = x - o.window / 2; xx <= x + o.window / 2; ++xx) {
        if (xx < 0 || yy < 0 || xx >= w || yy >= h || probs[static_cast<size_t>(yy * w + xx)] < 0) continue;
        v.push_back(logit(probs[static_cast<size_t>(c) * n + static_cast<size_t>(yy * w + xx)]));
      }
    }
    std::sort(v.rbegin(), v.rend());
    const auto used =
        static_cast<size_t>(std::max(1.0, std::ceil(o.neigh_fraction * static_cast<double>(v.size()))));
    double mean = 0, var = 0;
    for (size_t i = 0; i < used; ++i) mean += v[i] / static_cast<double>(used);
    for (size_t i = 0; i < used; ++i)
      var += (v[i] - mean) * (v[i] - mean) / static_cast<double>(used > 1 ? used - 1 : 1);
    const double self = logit(probs[static_cast<size_t>(c) * n + static_cast<size_t>(y * w + x)]);
    post[static_cast<size_t>(c)] =
        1 / (1 + std::exp(-(var * self + o.smoothness * mean) / (var + o.smoothness)));
    total += post[static_cast<size_t>(c)];
  }
  for (double& p : post) p /= total;
  return post;
}

// Random class probabilities for a w x h block of k classes, [class][pixel], with some no-data pixels.
std::vector<float> random_block(int64_t k, int64_t w, int64_t h, uint64_t seed) {
  Generator g(seed);
  const size_t n = static_cast<size_t>(w * h);
  std::vector<float> probs(n * static_cast<size_t>(k));
  for (size_t p = 0; p < n; ++p) {
    const bool no_data = g.below(10) == 0;
    float total = 0;
    for (int64_t c = 0; c < k; ++c) total += probs[static_cast<size_t>(c) * n + p] = std::exp(3 * g.normal());
    for (int64_t c = 0; c < k; ++c) {
      float& v = probs[static_cast<size_t>(c) * n + p];
      v = no_data ? -1.0f : v / total;
    }
  }
  return probs;
}

}  // namespace

TEST_CASE("smoothing matches its float64 definition, edges and no-data pixels included") {
  const int64_t k = 4, w = 13, h = 11;
  const std::vector<float> probs = random_block(k, w, h, 17);
  for (const SmoothingOptions o :
       {SmoothingOptions{}, SmoothingOptions{5, 0.4, 3}, SmoothingOptions{3, 1.0, 50}}) {
    CAPTURE(o.window);
    const data::Window all{0, 0, w, h};
    const std::vector<float> out = smooth_probabilities(probs, k, all, all, o);
    const size_t n = static_cast<size_t>(w * h);
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const size_t p = static_cast<size_t>(y * w + x);
        if (probs[p] < 0) {
          CHECK(out[p] == -1.0f);
          continue;
        }
        const std::vector<double> want = reference(probs, k, w, h, x, y, o);
        for (int64_t c = 0; c < k; ++c) {
          // The result is rounded once to float (half an ulp); the double arithmetic before it and the
          // different summation order of the reference are some 1e-15 relative, far below that.
          const double got = out[static_cast<size_t>(c) * n + p];
          CHECK(std::fabs(got - want[static_cast<size_t>(c)]) <=
                std::ldexp(std::fabs(want[static_cast<size_t>(c)]), -24));
        }
      }
    }
    // An inner window of a larger block gives the same values as the whole block computed at once.
    const data::Window inner{3, 2, 6, 5};
    const std::vector<float> part = smooth_probabilities(probs, k, all, inner, o);
    for (int64_t c = 0; c < k; ++c) {
      for (int64_t y = 0; y < inner.height; ++y) {
        for (int64_t x = 0; x < inner.width; ++x) {
          CHECK(part[static_cast<size_t>(c * inner.width * inner.height + y * inner.width + x)] ==
                out[static_cast<size_t>(c) * n + static_cast<size_t>((y + inner.y) * w + x + inner.x)]);
        }
      }
    }
  }
}

TEST_CASE("a uniform field keeps its probabilities and an isolated pixel joins its field") {
  const int64_t w = 9, h = 9;
  const size_t n = static_cast<size_t>(w * h);
  std::vector<float> field(2 * n);
  for (size_t p = 0; p < n; ++p) field[p] = 0.7f, field[n + p] = 0.3f;
  const data::Window all{0, 0, w, h};
  const std::vector<float> same = smooth_probabilities(field, 2, all, all, {});
  for (size_t p = 0; p < n; ++p) {
    CHECK(std::fabs(same[p] - 0.7f) <= std::ldexp(0.7f, -23));  // one float rounding of 0.7 each way
    CHECK(std::fabs(same[n + p] - 0.3f) <= std::ldexp(0.3f, -23));
  }
  // A field of class 0 (with a little noise) and one pixel of class 1 at its centre.
  for (size_t p = 0; p < n; ++p) field[p] = p % 2 ? 0.8f : 0.85f, field[n + p] = 1 - field[p];
  const size_t centre = 4 * 9 + 4;
  field[centre] = 0.3f, field[n + centre] = 0.7f;
  const std::vector<float> smoothed = smooth_probabilities(field, 2, all, all, {});
  CHECK(smoothed[centre] > smoothed[n + centre]);  // now class 0
  for (size_t p = 0; p < n; ++p) CHECK(smoothed[p] > 0.5f);
}

TEST_CASE("smoothing options out of range are errors") {
  const std::vector<float> one{0.5f, 0.5f};
  const data::Window all{0, 0, 1, 1};
  CHECK_THROWS_WITH_AS(smooth_probabilities(one, 2, all, all, {4, 0.5, 20}), doctest::Contains("must be odd"),
                       s2::Error);
  CHECK_THROWS_WITH_AS(smooth_probabilities(one, 2, all, all, {9, 0, 20}), doctest::Contains("in (0, 1]"),
                       s2::Error);
  CHECK_THROWS_WITH_AS(smooth_probabilities(one, 2, all, all, {9, 0.5, -1}),
                       doctest::Contains("must be positive"), s2::Error);
}
