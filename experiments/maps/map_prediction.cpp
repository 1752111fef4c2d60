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
#include "experiments/maps/map_block.h"
#include "experiments/maps/map_progress.h"
#include "experiments/maps/map_style.h"
#include "experiments/report/svg.h"
#include "experiments/training/experiment.h"
#include "experiments/training/trainer.h"
#include "framework/atomic_file.h"
#include "framework/checkpoint.h"
#include "framework/distributed.h"
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

namespace {
// What every block of a map needs: the model, how to read and resample the input, and the layers asked for.
struct MapJob {
  MapJob(SavedModel& model, const MapOptions& options) : m(model), o(options) {}
  SavedModel& m;
  const MapOptions& o;
  bool stack = false;
  std::string folder;
  data::SeriesOptions series;
  std::vector<int32_t> targets;  // the regular dates of the model's season
  int64_t min_clear = 1;
  data::Grid grid;
  bool cube_written = false;
  models::CbamCropNet* net = nullptr;  // with attention layers
  data::AttentionLayerNames attention_names;
  int64_t blocks_x = 0, blocks_y = 0;

  int64_t blocks() const { return blocks_x * blocks_y; }
  // Block b in row order.
  data::Window window(int64_t b) const {
    const int64_t bx = b % blocks_x, by = b / blocks_x;
    return {bx * o.block_size, by * o.block_size, std::min(o.block_size, grid.width - bx * o.block_size),
            std::min(o.block_size, grid.height - by * o.block_size)};
  }
  data::RasterSeries read(const data::Window& w) const {
    return stack ? data::read_raster_stack(o.input, o.dates, series, w)
                 : data::read_raster_series(folder, series, w);
  }
};

MapJob map_job(SavedModel& m, const MapOptions& o) {
  MapJob job(m, o);
  job.stack = !o.dates.empty();
  job.folder = job.stack ? o.input : series_folder(o.input);
  job.series = series_options(m.config);
  job.series.warp_mismatched_grids = o.warp;
  S2_CHECK(static_cast<int64_t>(job.series.bands.size()) == m.bands,
           "the checkpoint's config lists {} bands but the model takes {}", job.series.bands.size(), m.bands);
  // The season and its regular dates, as read_raster_dataset derived them for training.
  const auto acquisitions =
      job.stack ? data::read_dates_file(o.dates, o.input) : data::list_acquisitions(job.folder);
  job.targets = data::season_days(acquisitions, m.config.data.season_start, m.config.data.season_end,
                                  m.timesteps, job.folder);
  job.min_clear = std::max<int64_t>(m.config.data.min_clear_observations, 1);
  // The first date's grid (the stack's own); every date is read onto it, block by block.
  job.grid = data::read_grid(job.stack ? o.input : acquisitions.front().path);
  job.cube_written = o.probabilities || o.smooth;
  job.net = o.attention ? &attention_net(m) : nullptr;
  if (job.net != nullptr) {
    for (const int32_t day : job.targets) job.attention_names.dates.push_back(data::day_yyyymmdd(day));
    job.attention_names.bands = job.series.bands;
  }
  job.blocks_x = (job.grid.width + o.block_size - 1) / o.block_size;
  job.blocks_y = (job.grid.height + o.block_size - 1) / o.block_size;
  return job;
}

// What the .part files of a map depend on: a run continues only files made by the same model, input,
// grid and options.
std::string map_fingerprint(const MapJob& job) {
  Fnv1a h;
  h.add(model_checksum(*job.m.model)).add(job.m.config.text).add(job.o.input).add(job.o.dates);
  for (const int64_t v : {job.o.block_size, job.grid.width, job.grid.height, int64_t{job.cube_written},
                          int64_t{job.o.attention}, int64_t{job.o.warp}})
    h.add(&v, sizeof(v));
  h.add(job.grid.transform.data(), sizeof(job.grid.transform)).add(job.grid.crs_wkt);
  return h.hex();
}

MapBlock compute_block(const MapJob& job, const data::Window& win) {
  SavedModel& m = job.m;
  MapBlock block;
  block.window = win;
  auto t = Clock::now();
  const data::RasterSeries raw = job.read(win);
  block.io_seconds = seconds_since(t);

  t = Clock::now();
  const data::RegularSeries regular = data::regularise(raw, job.targets);
  data::PixelDataset d;
  d.source = job.folder;
  d.timesteps = regular.steps;
  d.bands = regular.bands;
  d.class_names = m.class_names;
  std::vector<int64_t> mapped;  // pixel indices of the window with enough clear observations
  const int64_t per = regular.steps * regular.bands;
  for (int64_t p = 0; p < raw.pixels(); ++p) {
    if (regular.clear_counts[static_cast<size_t>(p)] >= job.min_clear) {
      mapped.push_back(p);
      d.values.insert(d.values.end(), regular.values.begin() + p * per,
                      regular.values.begin() + (p + 1) * per);
      d.xs.push_back(static_cast<int32_t>(win.x + p % win.width));
      d.ys.push_back(static_cast<int32_t>(win.y + p / win.width));
    }
  }
  if (m.model->uses_location()) {  // Geo-CBAM: where each pixel centre is
    data::LatLon where = data::wgs84_pixel_centres(job.grid, d.xs, d.ys, job.folder);
    S2_CHECK(!where.lats.empty() || d.size() == 0,
             "'{}' has no CRS, and this Geo-CBAM model needs each pixel's coordinates", job.folder);
    d.lats = std::move(where.lats), d.lons = std::move(where.lons);
  }
  m.normaliser.apply(d);
  block.preprocess_seconds = seconds_since(t);

  t = Clock::now();
  const auto n = static_cast<size_t>(raw.pixels());
  const auto k = static_cast<int64_t>(m.class_names.size());
  const Prediction pred = d.size() > 0 ? predict(*m.model, d, job.o.batch_size) : Prediction{};
  if (job.net != nullptr) {  // a second, traced pass of the network
    block.attention = attention_block(*job.net, d, mapped, n, job.o.batch_size, job.attention_names.dates);
  }
  block.network_seconds = seconds_since(t);

  block.classes.assign(n, 0);
  block.uncertainty.assign(n * data::kUncertaintyLayers, -1.0f);
  block.probabilities.assign(job.cube_written ? n * static_cast<size_t>(k) : 0, -1.0f);
  for (size_t i = 0; i < mapped.size(); ++i) {
    const auto p = static_cast<size_t>(mapped[i]);
    const auto c = static_cast<size_t>(pred.classes[i]);
    block.classes[p] = static_cast<uint8_t>(c + 1);
    data::set_uncertainty(pred.probabilities.data() + i * static_cast<size_t>(k), 1, k,
                          static_cast<int64_t>(c), block.uncertainty, n, p);
    for (size_t j = 0; j < block.probabilities.size() / n; ++j) {
      block.probabilities[j * n + p] = pred.probabilities[i * static_cast<size_t>(k) + j];
    }
  }
  block.mapped = static_cast<int64_t>(mapped.size());
  return block;
}

// True on every rank when any rank's `flag` is: ranks stop together, between blocks.
bool any_rank(bool flag) {
  for (const double f : dist::all_gather({flag ? 1.0 : 0.0})) {
    if (f != 0) return true;
  }
  return false;
}
}  // namespace

MapStats predict_map(SavedModel& m, const MapOptions& o, const std::atomic<bool>* stop) {
  const auto start = Clock::now();
  S2_CHECK(o.block_size >= 1, "map block size must be positive, got {}", o.block_size);
  S2_CHECK(
      m.config.data.format == "raster_series",
      "the checkpoint was trained on '{}' data; a map needs a model trained on raster series (band names, "
      "SCL masking, season)",
      m.config.data.format);
  const MapJob job = map_job(m, o);
  const data::Grid& grid = job.grid;
  MapStats stats;
  stats.width = grid.width;
  stats.height = grid.height;
  const data::MapPaths paths = data::map_paths(o.output, job.cube_written, o.attention);
  const int64_t total_blocks = job.blocks();

  // The progress of an interrupted run with the same model, input and options: it continues from there.
  const std::string progress_file = map_progress_path(o.output);
  MapProgress progress{map_fingerprint(job), 0, total_blocks};
  if (const auto saved = read_map_progress(progress_file)) {
    S2_CHECK(
        saved->fingerprint == progress.fingerprint && saved->blocks_total == total_blocks,
        "'{}' records a map made with another model, input or options; delete it and the .part files beside "
        "it to start over",
        progress_file);
    progress = *saved;
  }
  const int64_t first_new = progress.blocks_done;
  // Rank 0 alone writes, every block in row order, so the files are the same bytes on any rank count.
  const bool writes = dist::is_root();
  std::optional<data::MapWriter> writer;
  QuickLook look(grid.width, grid.height, 512);
  if (writes) {
    std::filesystem::create_directories(std::filesystem::absolute(o.output).parent_path());
    writer.emplace(paths, grid, m.class_names, job.attention_names, first_new > 0);
    if (first_new > 0) writer->keep_partial();
    for (int64_t b = 0; b < first_new; ++b) {  // the blocks done before, for the quick-look and the counts
      std::vector<uint8_t> classes;
      std::vector<float> uncertainty;
      writer->read(job.window(b), classes, uncertainty);
      look.add(job.window(b), classes, uncertainty);
      for (const uint8_t c : classes) (c == 0 ? stats.no_data : stats.mapped) += 1;
    }
    if (first_new > 0 && o.progress)
      fmt::print("continuing {} after {} of {} blocks ({})\n", o.output, first_new, total_blocks,
                 progress_file);
  }
  m.model->eval();  // once for all blocks, so that predict() keeps its cached buffers between them

  // The .part files and their progress are saved every few million pixels (and when stopped), at block
  // counts that do not depend on the rank count.
  const int64_t save_every = std::max<int64_t>(1, (int64_t{4} << 20) / (o.block_size * o.block_size));
  const auto save_progress = [&] {
    writer->flush();
    write_map_progress(progress_file, progress);
    writer->keep_partial();  // until commit: an interrupted map continues from its .part files
  };
  int64_t pixels_computed = 0;  // by this run (not the blocks it continued from), for the rate
  for (int64_t round = first_new; round < total_blocks; round += dist::size()) {
    const bool asked =
        (stop != nullptr && stop->load()) || (o.max_blocks > 0 && round - first_new >= o.max_blocks);
    if (any_rank(asked)) {
      // Blocks [0, round) are done on every rank's count; rank 0 alone counts them in `progress`.
      if (round == 0) throw Error(fmt::format("interrupted: no map was written under '{}'", o.output));
      if (writes) save_progress();
      dist::barrier();  // no rank ends the job before rank 0 has saved the progress
      throw Error(fmt::format(
          "interrupted after {} of {} blocks: '{}' and the .part files beside it hold them; the same command "
          "continues from there",
          round, total_blocks, progress_file));
    }
    const int64_t b = round + dist::rank();
    const std::vector<std::string> blocks = dist::gather_bytes_to_root(
        b < total_blocks ? map_block_bytes(compute_block(job, job.window(b))) : "");
    for (size_t r = 0; r < blocks.size() && !blocks[r].empty(); ++r) {  // none on ranks that do not write
      const MapBlock block =
          parse_map_block(blocks[r], fmt::format("map block {} from rank {}", round + r, r));
      writer->write(block.window, block.classes, block.uncertainty, block.probabilities);
      if (job.net != nullptr) writer->write_attention(block.window, block.attention);
      look.add(block.window, block.classes, block.uncertainty);
      stats.io_seconds += block.io_seconds;
      stats.preprocess_seconds += block.preprocess_seconds;
      stats.network_seconds += block.network_seconds;
      stats.mapped += block.mapped;
      stats.no_data += static_cast<int64_t>(block.classes.size()) - block.mapped;
      ++stats.blocks;
      pixels_computed += static_cast<int64_t>(block.classes.size());
      if (++progress.blocks_done % save_every == 0 && progress.blocks_done < total_blocks) save_progress();
      if (o.progress) {
        const double elapsed = seconds_since(start);
        const double eta = elapsed / static_cast<double>(stats.blocks) *
                           static_cast<double>(total_blocks - progress.blocks_done);
        fmt::print("block {}/{}  {:.0f} pixels/s  ETA {:.0f} s\n", progress.blocks_done, total_blocks,
                   static_cast<double>(pixels_computed) / elapsed, eta);
        std::fflush(stdout);
      }
    }
  }
  stats.total_seconds = seconds_since(start);
  if (!writes) return stats;
  const bool cog = o.cloud_optimised.value_or(data::cloud_optimised_by_default(grid));
  writer->commit(cog);
  std::filesystem::remove(progress_file);
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
