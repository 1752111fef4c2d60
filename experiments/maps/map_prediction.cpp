#include "experiments/maps/map_prediction.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "data/gdal_util.h"
#include "data/map_writer.h"
#include "data/temporal.h"
#include "experiments/explain/explanation.h"
#include "experiments/maps/map_style.h"
#include "experiments/report/svg.h"
#include "experiments/training/experiment.h"
#include "experiments/training/trainer.h"
#include "framework/atomic_file.h"
#include "framework/error.h"

namespace s2::experiments {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The nearest-neighbour downsampling of the map kept for the quick-look, filled block by block.
struct QuickLook {
  int64_t step = 1, width = 0, height = 0;
  std::vector<uint8_t> cells;
  std::vector<float> entropy;  // the confidence file's third layer, -1 = no data
  QuickLook(int64_t w, int64_t h, int64_t max_side) {
    step = std::max<int64_t>(1, (std::max(w, h) + max_side - 1) / max_side);
    width = (w + step - 1) / step;
    height = (h + step - 1) / step;
    cells.assign(static_cast<size_t>(width * height), 0);
    entropy.assign(cells.size(), -1.0f);
  }
  void add(const data::Window& win, const std::vector<uint8_t>& classes,
           const std::vector<float>& uncertainty) {
    const auto n = static_cast<size_t>(win.width * win.height);
    for (int64_t y = 0; y < win.height; ++y) {
      for (int64_t x = 0; x < win.width; ++x) {
        const int64_t gx = win.x + x, gy = win.y + y;
        if (gx % step == 0 && gy % step == 0) {
          const auto cell = static_cast<size_t>(gy / step * width + gx / step);
          const auto p = static_cast<size_t>(y * win.width + x);
          cells[cell] = classes[p];
          entropy[cell] = uncertainty[2 * n + p];
        }
      }
    }
  }
};

// One window's attention layers: per mapped pixel, the attention per date and per band ([layer][pixel]
// planes, -1 elsewhere) and the date of its peak (0 elsewhere).
data::AttentionBlock attention_block(models::CbamCropNet& net, const data::PixelDataset& d,
                                     const std::vector<int64_t>& mapped, size_t n, int64_t batch_size,
                                     const std::vector<int32_t>& dates) {
  const auto t_count = static_cast<size_t>(d.timesteps), b_count = static_cast<size_t>(d.bands);
  data::AttentionBlock block{std::vector<float>(n * t_count, -1.0f), std::vector<float>(n * b_count, -1.0f),
                             std::vector<int32_t>(n, 0)};
  if (mapped.empty()) return block;
  const PixelAttention a = pixel_attention(net, d, batch_size);
  for (size_t i = 0; i < mapped.size(); ++i) {
    const auto p = static_cast<size_t>(mapped[i]);
    const float* row = a.dates.data() + i * t_count;
    for (size_t t = 0; t < t_count; ++t) block.dates[t * n + p] = row[t];
    for (size_t b = 0; b < b_count; ++b) block.bands[b * n + p] = a.bands[i * b_count + b];
    block.peak[p] = dates[static_cast<size_t>(std::max_element(row, row + t_count) - row)];
  }
  return block;
}

// The model as an attention network whose spatial attention the map layers can show, or an error.
models::CbamCropNet& attention_net(SavedModel& m) {
  auto* net = dynamic_cast<models::CbamCropNet*>(m.model.get());
  S2_CHECK(net != nullptr && (net->config().attention == models::Attention::Cbam ||
                              net->config().attention == models::Attention::SpatialOnly),
           "--attention yes needs a model with spatial attention (cbam or spatial-only); this checkpoint's "
           "model is '{}'",
           m.config.model.kind);
  return *net;
}

}  // namespace

std::string smoothed_map_path(const std::string& output) {
  const std::filesystem::path p(output);
  return (p.parent_path() / (p.stem().string() + "_smoothed" + p.extension().string())).string();
}

std::string series_folder(const std::string& input) {
  const std::filesystem::path nested = std::filesystem::path(input) / "s2";
  return std::filesystem::is_directory(nested) ? nested.string() : input;
}

MapStats predict_map(SavedModel& m, const MapOptions& o, const std::atomic<bool>* stop) {
  const auto start = Clock::now();
  S2_CHECK(o.block_size >= 1, "map block size must be positive, got {}", o.block_size);
  S2_CHECK(
      m.config.data.format == "raster_series",
      "the checkpoint was trained on '{}' data; a map needs a model trained on raster series (band names, "
      "SCL masking, season)",
      m.config.data.format);
  const bool stack = !o.dates.empty();
  const std::string folder = stack ? o.input : series_folder(o.input);
  data::SeriesOptions series = series_options(m.config);
  series.warp_mismatched_grids = o.warp;
  const auto read = [&](const data::Window& w) {
    return stack ? data::read_raster_stack(o.input, o.dates, series, w)
                 : data::read_raster_series(folder, series, w);
  };
  S2_CHECK(static_cast<int64_t>(series.bands.size()) == m.bands,
           "the checkpoint's config lists {} bands but the model takes {}", series.bands.size(), m.bands);
  // The season and its regular dates, as read_raster_dataset derived them for training.
  const auto acquisitions = stack ? data::read_dates_file(o.dates, o.input) : data::list_acquisitions(folder);
  const std::vector<int32_t> targets = data::season_days(acquisitions, m.config.data.season_start,
                                                         m.config.data.season_end, m.timesteps, folder);
  const int64_t min_clear = std::max<int64_t>(m.config.data.min_clear_observations, 1);

  // The first date's grid (the stack's own); every date is read onto it, block by block.
  const data::Grid grid = data::read_grid(stack ? o.input : acquisitions.front().path);
  MapStats stats;
  stats.width = grid.width;
  stats.height = grid.height;
  const int64_t k = static_cast<int64_t>(m.class_names.size());
  const bool cube_written = o.probabilities || o.smooth;
  const data::MapPaths paths = data::map_paths(o.output, cube_written, o.attention);
  std::filesystem::create_directories(std::filesystem::absolute(o.output).parent_path());
  data::AttentionLayerNames attention_names;
  models::CbamCropNet* net = o.attention ? &attention_net(m) : nullptr;
  if (net != nullptr) {
    for (const int32_t day : targets) attention_names.dates.push_back(data::day_yyyymmdd(day));
    attention_names.bands = series.bands;
  }
  data::MapWriter writer(paths, grid, m.class_names, attention_names);
  m.model->eval();  // once for all blocks, so that predict() keeps its cached buffers between them
  QuickLook look(grid.width, grid.height, 512);

  const int64_t blocks_x = (grid.width + o.block_size - 1) / o.block_size;
  const int64_t blocks_y = (grid.height + o.block_size - 1) / o.block_size;
  const int64_t total_blocks = blocks_x * blocks_y;
  for (int64_t by = 0; by < blocks_y; ++by) {
    for (int64_t bx = 0; bx < blocks_x; ++bx) {
      S2_CHECK(stop == nullptr || !stop->load(), "interrupted: no map was written under '{}'", o.output);
      const data::Window win{bx * o.block_size, by * o.block_size,
                             std::min(o.block_size, grid.width - bx * o.block_size),
                             std::min(o.block_size, grid.height - by * o.block_size)};
      auto t = Clock::now();
      const data::RasterSeries raw = read(win);
      stats.io_seconds += seconds_since(t);

      t = Clock::now();
      const data::RegularSeries regular = data::regularise(raw, targets);
      data::PixelDataset d;
      d.source = folder;
      d.timesteps = regular.steps;
      d.bands = regular.bands;
      d.class_names = m.class_names;
      std::vector<int64_t> mapped;  // pixel indices of the window with enough clear observations
      const int64_t per = regular.steps * regular.bands;
      for (int64_t p = 0; p < raw.pixels(); ++p) {
        if (regular.clear_counts[static_cast<size_t>(p)] >= min_clear) {
          mapped.push_back(p);
          d.values.insert(d.values.end(), regular.values.begin() + p * per,
                          regular.values.begin() + (p + 1) * per);
          d.xs.push_back(static_cast<int32_t>(win.x + p % win.width));
          d.ys.push_back(static_cast<int32_t>(win.y + p / win.width));
        }
      }
      if (m.model->uses_location()) {  // Geo-CBAM: where each pixel centre is
        data::LatLon where = data::wgs84_pixel_centres(grid, d.xs, d.ys, folder);
        S2_CHECK(!where.lats.empty() || d.size() == 0,
                 "'{}' has no CRS, and this Geo-CBAM model needs each pixel's coordinates", folder);
        d.lats = std::move(where.lats), d.lons = std::move(where.lons);
      }
      m.normaliser.apply(d);
      stats.preprocess_seconds += seconds_since(t);

      t = Clock::now();
      const auto n = static_cast<size_t>(raw.pixels());
      const Prediction pred = d.size() > 0 ? predict(*m.model, d, o.batch_size) : Prediction{};
      const data::AttentionBlock attention =  // a second, traced pass of the network
          net != nullptr ? attention_block(*net, d, mapped, n, o.batch_size, attention_names.dates)
                         : data::AttentionBlock{};
      stats.network_seconds += seconds_since(t);

      t = Clock::now();
      std::vector<uint8_t> classes(n, 0);
      std::vector<float> uncertainty(n * data::kUncertaintyLayers, -1.0f),
          cube(cube_written ? n * static_cast<size_t>(k) : 0, -1.0f);
      for (size_t i = 0; i < mapped.size(); ++i) {
        const auto p = static_cast<size_t>(mapped[i]);
        const auto c = static_cast<size_t>(pred.classes[i]);
        classes[p] = static_cast<uint8_t>(c + 1);
        data::set_uncertainty(pred.probabilities.data() + i * static_cast<size_t>(k), 1, k,
                              static_cast<int64_t>(c), uncertainty, n, p);
        for (size_t j = 0; j < cube.size() / n; ++j) {
          cube[j * n + p] = pred.probabilities[i * static_cast<size_t>(k) + j];
        }
      }
      writer.write(win, classes, uncertainty, cube);
      if (net != nullptr) writer.write_attention(win, attention);
      look.add(win, classes, uncertainty);
      stats.io_seconds += seconds_since(t);
      stats.mapped += static_cast<int64_t>(mapped.size());
      stats.no_data += raw.pixels() - static_cast<int64_t>(mapped.size());
      ++stats.blocks;
      if (o.progress) {
        const double elapsed = seconds_since(start);
        const double pixels_done = static_cast<double>(stats.mapped + stats.no_data);
        const double eta =
            elapsed / static_cast<double>(stats.blocks) * static_cast<double>(total_blocks - stats.blocks);
        fmt::print("block {}/{}  {:.0f} pixels/s  ETA {:.0f} s\n", stats.blocks, total_blocks,
                   pixels_done / elapsed, eta);
        std::fflush(stdout);
      }
    }
  }
  const bool cog = o.cloud_optimised.value_or(data::cloud_optimised_by_default(grid));
  writer.commit(cog);
  write_qgis_class_style(o.output, m.class_names);
  if (o.smooth) smooth_map(paths.probabilities, smoothed_map_path(o.output), o.smoothing, cog, o.block_size);
  const std::string svg_path = o.quicklook.empty()
                                   ? (std::filesystem::path(o.output).replace_extension(".svg")).string()
                                   : o.quicklook;
  write_file_atomic(svg_path,
                    map_quicklook_svg(look.cells, look.entropy, look.width, look.height, m.class_names,
                                      std::filesystem::path(o.output).filename().string()));
  stats.total_seconds = seconds_since(start);
  return stats;
}

namespace {

// A sequential colour for an uncertainty in [0, 1]: pale yellow (certain) to dark red (uniform).
std::string uncertainty_colour(double u) {
  const double t = std::clamp(u, 0.0, 1.0);
  const auto mix = [t](double a, double b) { return static_cast<int>(std::lround(a + (b - a) * t)); };
  return fmt::format("rgb({},{},{})", mix(255, 128), mix(255, 0), mix(204, 38));
}

// One panel of the quick-look at `x0`: cells of `colour(index)` (empty = no data), runs of one colour
// merged into one rectangle.
template <typename Colour>
std::string quicklook_panel(int64_t w, int64_t h, double cell, double x0, Colour colour) {
  std::string svg =
      fmt::format("<g transform=\"translate({:.2f},28)\" shape-rendering=\"crispEdges\">\n", x0);
  svg += fmt::format("<rect width=\"{:.2f}\" height=\"{:.2f}\" fill=\"#eeeeee\"/>\n",
                     cell * static_cast<double>(w), cell * static_cast<double>(h));
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w;) {
      const std::string fill = colour(y, x);
      int64_t run = 1;
      while (x + run < w && colour(y, x + run) == fill) ++run;
      if (!fill.empty()) {
        svg +=
            fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"/>\n",
                        cell * static_cast<double>(x), cell * static_cast<double>(y),
                        cell * static_cast<double>(run), cell, fill);
      }
      x += run;
    }
  }
  return svg + "</g>\n";
}

}  // namespace

std::string map_quicklook_svg(const std::vector<uint8_t>& classes, const std::vector<float>& uncertainty,
                              int64_t width, int64_t height, const std::vector<std::string>& class_names,
                              const std::string& title, int64_t max_side) {
  const int64_t step = std::max<int64_t>(1, (std::max(width, height) + max_side - 1) / max_side);
  const int64_t w = (width + step - 1) / step, h = (height + step - 1) / step;
  const double cell = 480.0 / static_cast<double>(std::max(w, h));
  const double panel = cell * static_cast<double>(w) + 20;
  const bool with_uncertainty = !uncertainty.empty();
  const double legend_x = panel * (with_uncertainty ? 2 : 1);
  const double svg_h =
      std::max(cell * static_cast<double>(h) + 40, 40.0 + 22.0 * static_cast<double>(class_names.size() + 4));
  const auto at = [&](int64_t y, int64_t x) { return static_cast<size_t>(y * step * width + x * step); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
      "font-family=\"sans-serif\" "
      "font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"0\" "
      "y=\"16\">{}</text>\n",
      legend_x + 240, svg_h, xml_escape(title));
  svg += quicklook_panel(w, h, cell, 0, [&](int64_t y, int64_t x) -> std::string {
    const uint8_t c = classes[at(y, x)];
    if (c == 0) return "";
    const auto rgb = data::class_colour(c);
    return fmt::format("rgb({},{},{})", rgb[0], rgb[1], rgb[2]);
  });
  if (with_uncertainty) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"16\">uncertainty (entropy / ln K)</text>\n", panel);
    svg += quicklook_panel(w, h, cell, panel, [&](int64_t y, int64_t x) -> std::string {
      const float u = uncertainty[at(y, x)];  // ten steps, so runs merge
      return u < 0 ? "" : uncertainty_colour(std::round(u * 10) / 10);
    });
  }
  for (size_t k = 0; k <= class_names.size(); ++k) {
    const double y = 28 + 22.0 * static_cast<double>(k);
    const std::string fill = k == 0 ? "#eeeeee" : [&] {
      const auto rgb = data::class_colour(static_cast<int64_t>(k));
      return fmt::format("rgb({},{},{})", rgb[0], rgb[1], rgb[2]);
    }();
    svg += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"16\" height=\"16\" fill=\"{}\" stroke=\"#555\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        legend_x, y, fill, legend_x + 22, y + 13, k == 0 ? "no data" : xml_escape(class_names[k - 1]));
  }
  if (with_uncertainty) {  // the colour bar of the uncertainty panel
    const double y = 28 + 22.0 * static_cast<double>(class_names.size() + 2);
    for (int i = 0; i <= 10; ++i) {
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"16\" fill=\"{}\"/>\n",
                         legend_x + 12.0 * i, y, uncertainty_colour(i / 10.0));
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">0 certain .. 1 uniform</text>\n", legend_x, y + 32);
  }
  return svg + "</svg>\n";
}

}  // namespace s2::experiments
