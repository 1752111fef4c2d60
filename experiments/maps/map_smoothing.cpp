#include "experiments/maps/map_smoothing.h"

#include <algorithm>
#include <cmath>

#include "data/gdal_util.h"
#include "data/map_writer.h"
#include "experiments/maps/map_style.h"
#include "framework/error.h"

namespace s2::experiments {

namespace {

// Probabilities are clamped away from 0 and 1 before the logit, so a saturated softmax output stays
// finite (logit range about +-13.8).
constexpr double kClamp = 1e-6;

double logit(float p) {
  const double q = std::clamp(static_cast<double>(p), kClamp, 1 - kClamp);
  return std::log(q / (1 - q));
}

void check_options(const SmoothingOptions& o) {
  S2_CHECK(o.window >= 3 && o.window % 2 == 1, "the smoothing window must be odd and at least 3, got {}",
           o.window);
  S2_CHECK(o.neigh_fraction > 0 && o.neigh_fraction <= 1,
           "the smoothing neighbour fraction must be in (0, 1], got {}", o.neigh_fraction);
  S2_CHECK(o.smoothness > 0, "the smoothness (a variance) must be positive, got {}", o.smoothness);
}

}  // namespace

std::vector<float> smooth_probabilities(const std::vector<float>& probabilities, int64_t classes,
                                        const data::Window& block, const data::Window& inner,
                                        const SmoothingOptions& o) {
  check_options(o);
  const auto n = static_cast<size_t>(block.width * block.height);
  S2_CHECK(probabilities.size() == n * static_cast<size_t>(classes),
           "smoothing: {} values for {} classes of {} pixels", probabilities.size(), classes, n);
  const auto inner_n = static_cast<size_t>(inner.width * inner.height);
  std::vector<float> out(inner_n * static_cast<size_t>(classes), -1.0f);
  const int64_t r = o.window / 2;
#pragma omp parallel for schedule(static)
  for (int64_t iy = 0; iy < inner.height; ++iy) {
    std::vector<double> neighbours, posterior(static_cast<size_t>(classes));
    for (int64_t ix = 0; ix < inner.width; ++ix) {
      const int64_t bx = inner.x - block.x + ix, by = inner.y - block.y + iy;
      const auto centre = static_cast<size_t>(by * block.width + bx);
      if (probabilities[centre] < 0) continue;  // no data
      double total = 0;
      for (int64_t k = 0; k < classes; ++k) {
        const float* plane = probabilities.data() + static_cast<size_t>(k) * n;
        neighbours.clear();
        for (int64_t y = std::max<int64_t>(by - r, 0); y <= std::min(by + r, block.height - 1); ++y) {
          for (int64_t x = std::max<int64_t>(bx - r, 0); x <= std::min(bx + r, block.width - 1); ++x) {
            const float p = plane[static_cast<size_t>(y * block.width + x)];
            if (probabilities[static_cast<size_t>(y * block.width + x)] >= 0) neighbours.push_back(logit(p));
          }
        }
        // The most probable share of the window: the prior comes from the pixels that favour class k.
        const auto used = static_cast<size_t>(
            std::max<double>(1, std::ceil(o.neigh_fraction * static_cast<double>(neighbours.size()))));
        std::nth_element(neighbours.begin(), neighbours.begin() + static_cast<std::ptrdiff_t>(used - 1),
                         neighbours.end(), std::greater<>());
        const double x = logit(plane[centre]);
        double mean = 0, variance = 0;
        for (size_t i = 0; i < used; ++i) mean += neighbours[i];
        mean /= static_cast<double>(used);
        for (size_t i = 0; i < used; ++i) variance += (neighbours[i] - mean) * (neighbours[i] - mean);
        variance = used > 1 ? variance / static_cast<double>(used - 1) : 0;
        // With a prior of no spread (one pixel, or all equal), the posterior is the prior mean.
        const double mu = (variance * x + o.smoothness * mean) / (variance + o.smoothness);
        posterior[static_cast<size_t>(k)] = 1 / (1 + std::exp(-mu));
        total += posterior[static_cast<size_t>(k)];
      }
      for (int64_t k = 0; k < classes; ++k) {
        out[static_cast<size_t>(k) * inner_n + static_cast<size_t>(iy * inner.width + ix)] =
            static_cast<float>(posterior[static_cast<size_t>(k)] / total);
      }
    }
  }
  return out;
}

void smooth_map(const std::string& cube_path, const std::string& output, const SmoothingOptions& o,
                bool cloud_optimised, int64_t block_size) {
  check_options(o);
  data::DatasetPtr cube = data::open_raster(cube_path);
  const data::Grid grid = data::grid_of(*cube);
  const int64_t k = cube->GetRasterCount();
  std::vector<std::string> names;
  for (int64_t c = 1; c <= k; ++c)
    names.emplace_back(cube->GetRasterBand(static_cast<int>(c))->GetDescription());
  data::MapWriter writer(data::map_paths(output, false), grid, names);
  const int64_t r = o.window / 2;
  for (int64_t y0 = 0; y0 < grid.height; y0 += block_size) {
    for (int64_t x0 = 0; x0 < grid.width; x0 += block_size) {
      const data::Window inner{x0, y0, std::min(block_size, grid.width - x0),
                               std::min(block_size, grid.height - y0)};
      const int64_t bx = std::max<int64_t>(x0 - r, 0), by = std::max<int64_t>(y0 - r, 0);
      const data::Window block{bx, by, std::min(x0 + inner.width + r, grid.width) - bx,
                               std::min(y0 + inner.height + r, grid.height) - by};
      const auto n = static_cast<size_t>(block.width * block.height);
      std::vector<float> probabilities(n * static_cast<size_t>(k));
      for (int64_t c = 0; c < k; ++c) {
        data::read_band(*cube, static_cast<int>(c + 1), block,
                        probabilities.data() + static_cast<size_t>(c) * n, cube_path);
      }
      const std::vector<float> smoothed = smooth_probabilities(probabilities, k, block, inner, o);
      const auto m = static_cast<size_t>(inner.width * inner.height);
      std::vector<uint8_t> classes(m, 0);
      std::vector<float> uncertainty(m * data::kUncertaintyLayers, -1.0f);
      for (size_t p = 0; p < m; ++p) {
        if (smoothed[p] < 0) continue;
        int64_t best = 0;
        for (int64_t c = 1; c < k; ++c) {
          if (smoothed[static_cast<size_t>(c) * m + p] > smoothed[static_cast<size_t>(best) * m + p])
            best = c;
        }
        classes[p] = static_cast<uint8_t>(best + 1);
        data::set_uncertainty(smoothed.data() + p, m, k, best, uncertainty, m, p);
      }
      writer.write(inner, classes, uncertainty, {});
    }
  }
  writer.commit(cloud_optimised);
  write_qgis_class_style(output, names);
}

}  // namespace s2::experiments
