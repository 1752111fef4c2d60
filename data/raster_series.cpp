#include "data/raster_series.h"

#include <gdal_priv.h>
#include <gdal_utils.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>

#include "data/gdal_util.h"
#include "framework/error.h"

namespace s2::data {

namespace {
// The band named `name` among bands first+1 .. first+count (count < 0: all).
int band_index(GDALDataset& d, const std::string& name, const std::string& path, int first = 0,
               int count = -1) {
  const int last = count < 0 ? d.GetRasterCount() : first + count;
  std::vector<std::string> names;
  for (int b = first + 1; b <= last; ++b) {
    const std::string description = d.GetRasterBand(b)->GetDescription();
    if (description == name) return b;
    names.push_back(description.empty() ? fmt::format("#{} (no description)", b) : description);
  }
  fail("'{}': band '{}' not found{} (bands: {})", path, name,
       count < 0 ? "" : fmt::format(" among bands {}..{}", first + 1, last), fmt::join(names, ", "));
}

// The dataset resampled onto `target` (in memory, nearest neighbour), keeping band descriptions.
DatasetPtr warp_to(GDALDataset& source, const Grid& target, const std::string& path) {
  const double x_min = target.transform[0], y_max = target.transform[3];
  const double x_max = x_min + target.transform[1] * static_cast<double>(target.width);
  const double y_min = y_max + target.transform[5] * static_cast<double>(target.height);
  std::vector<std::string> args{"-of",
                                "MEM",
                                "-r",
                                "near",
                                "-te",
                                fmt::format("{:.10f}", x_min),
                                fmt::format("{:.10f}", y_min),
                                fmt::format("{:.10f}", x_max),
                                fmt::format("{:.10f}", y_max),
                                "-ts",
                                std::to_string(target.width),
                                std::to_string(target.height)};
  if (!target.crs_wkt.empty()) {
    args.insert(args.end(), {"-t_srs", target.crs_wkt});
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv.data(), nullptr);
  S2_CHECK(options != nullptr, "'{}': cannot set up the warp: {}", path, CPLGetLastErrorMsg());
  GDALDatasetH src = GDALDataset::ToHandle(&source);
  int usage_error = 0;
  GDALDatasetH out = GDALWarp("", nullptr, 1, &src, options, &usage_error);
  GDALWarpAppOptionsFree(options);
  S2_CHECK(out != nullptr, "'{}': warping onto the first date's grid failed: {}", path, CPLGetLastErrorMsg());
  DatasetPtr warped(GDALDataset::FromHandle(out));
  for (int b = 1; b <= warped->GetRasterCount() && b <= source.GetRasterCount(); ++b) {
    warped->GetRasterBand(b)->SetDescription(source.GetRasterBand(b)->GetDescription());
  }
  return warped;
}

Window resolve(Window w, const Grid& g, const std::string& path) {
  if (w.width < 0) w.width = g.width - w.x;
  if (w.height < 0) w.height = g.height - w.y;
  S2_CHECK(w.x >= 0 && w.y >= 0 && w.width > 0 && w.height > 0 && w.x + w.width <= g.width &&
               w.y + w.height <= g.height,
           "'{}': window {}x{} at ({}, {}) lies outside the {}x{} raster", path, w.width, w.height, w.x, w.y,
           g.width, g.height);
  return w;
}
}  // namespace

std::string Grid::difference(const Grid& o) const {
  if (width != o.width || height != o.height) {
    return fmt::format("size {}x{} differs from {}x{}", o.width, o.height, width, height);
  }
  for (size_t i = 0; i < 6; ++i) {
    // Geotransforms are in map units; a thousandth of a pixel is well below any real misalignment.
    const double tolerance = 1e-3 * std::max(std::fabs(transform[1]), 1e-9);
    if (std::fabs(transform[i] - o.transform[i]) > tolerance) {
      return fmt::format("geotransform [{}] differs from [{}]", fmt::join(o.transform, ", "),
                         fmt::join(transform, ", "));
    }
  }
  if (crs_wkt != o.crs_wkt) return "coordinate reference system differs";
  return {};
}

std::vector<Acquisition> list_acquisitions(const std::string& folder) {
  S2_CHECK(std::filesystem::is_directory(folder), "image folder '{}' does not exist", folder);
  static const std::regex dated(R"((\d{4}-\d{2}-\d{2})\.tiff?)");
  std::vector<Acquisition> out;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (std::regex_match(name, m, dated)) {
      out.push_back({entry.path().string(), m[1], parse_day(m[1], entry.path().string())});
    }
  }
  S2_CHECK(!out.empty(), "image folder '{}' holds no YYYY-MM-DD.tif files", folder);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.day < b.day; });
  return out;
}

namespace {
std::vector<bool> masked_classes(const SeriesOptions& options) {
  std::vector<bool> m(256, false);
  for (int32_t c : options.masked_scl_classes) {
    S2_CHECK(c >= 0 && c < 256, "SCL class {} is outside 0..255", c);
    m[static_cast<size_t>(c)] = true;
  }
  return m;
}

// A raster whose header claims more pixels than memory holds is a named error, not an allocation failure.
void check_fits_in_memory(double bytes, const std::string& path, const std::string& what) {
  const double memory =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  S2_CHECK(bytes <= memory, "'{}': reading {} needs {:.1f} GB, more than this machine's {:.1f} GB of memory",
           path, what, bytes / 1e9, memory / 1e9);
}

// Sizes the series on its first date's grid.
void start_series(RasterSeries& s, const Grid& grid, Window window, const std::string& path) {
  s.grid = grid;
  s.window = resolve(window, grid, path);
  const auto values = static_cast<double>(s.acquisitions.size()) * static_cast<double>(s.pixels());
  check_fits_in_memory(
      values * (static_cast<double>(s.bands.size()) * sizeof(float) + 1.0), path,
      fmt::format("{} dates of {} x {} pixels", s.acquisitions.size(), s.window.width, s.window.height));
  s.values.resize(s.acquisitions.size() * s.bands.size() * static_cast<size_t>(s.pixels()));
  s.clear.resize(s.acquisitions.size() * static_cast<size_t>(s.pixels()));
}

// Reads date t from bands first+1 .. first+count of d (count < 0: all): the selected bands, nodata,
// the valid range, NaN checks and the SCL mask.
void read_observation(GDALDataset& d, int first, int count, size_t t, const SeriesOptions& options,
                      const std::vector<bool>& masked, const std::string& path, RasterSeries& s) {
  const auto n = static_cast<size_t>(s.pixels());
  uint8_t* clear = s.clear.data() + t * n;
  std::fill_n(clear, n, uint8_t{1});
  for (size_t b = 0; b < s.bands.size(); ++b) {
    float* out = s.values.data() + (t * s.bands.size() + b) * n;
    read_band(d, band_index(d, s.bands[b], path, first, count), s.window, out, path);
    for (size_t p = 0; p < n; ++p) {
      S2_CHECK(!std::isnan(out[p]), "'{}': band {} has a NaN value at pixel ({}, {})", path, s.bands[b],
               s.window.x + static_cast<int64_t>(p) % s.window.width,
               s.window.y + static_cast<int64_t>(p) / s.window.width);
      if (out[p] == static_cast<float>(options.nodata) || options.valid_range.outside(out[p])) clear[p] = 0;
    }
  }
  if (!options.scl_band.empty()) {
    std::vector<float> scl(n);
    read_band(d, band_index(d, options.scl_band, path, first, count), s.window, scl.data(), path);
    for (size_t p = 0; p < n; ++p) {
      const auto cls = static_cast<int64_t>(scl[p]);
      if (cls < 0 || cls > 255 || masked[static_cast<size_t>(cls)]) clear[p] = 0;
    }
  }
}
}  // namespace

RasterSeries read_raster_series(const std::string& folder, const SeriesOptions& options, Window window) {
  S2_CHECK(!options.bands.empty(), "no bands selected for '{}'", folder);
  RasterSeries s;
  s.acquisitions = list_acquisitions(folder);
  s.bands = options.bands;
  const std::vector<bool> masked = masked_classes(options);
  for (size_t t = 0; t < s.acquisitions.size(); ++t) {
    const std::string& path = s.acquisitions[t].path;
    DatasetPtr d = open_raster(path);
    const Grid grid = grid_of(*d);
    if (t == 0) {
      start_series(s, grid, window, path);
    } else if (const std::string diff = s.grid.difference(grid); !diff.empty()) {
      S2_CHECK(options.warp_mismatched_grids,
               "'{}': grid does not match the first date '{}': {} (warping onto the first date's grid is an "
               "option)",
               path, s.acquisitions[0].path, diff);
      d = warp_to(*d, s.grid, path);
    }
    read_observation(*d, 0, -1, t, options, masked, path, s);
  }
  return s;
}

Grid read_grid(const std::string& path) {
  DatasetPtr d = open_raster(path);
  return grid_of(*d);
}

std::vector<Acquisition> read_dates_file(const std::string& dates_path, const std::string& stack_path) {
  std::ifstream in(dates_path);
  S2_CHECK(in.good(), "cannot open the dates file '{}'", dates_path);
  std::vector<Acquisition> out;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = fmt::format("{}:{}", dates_path, line_no);
    const int32_t day = parse_day(line, where);
    S2_CHECK(out.empty() || day > out.back().day,
             "{}: date {} does not follow {}: the stack's dates must increase", where, line,
             out.empty() ? "" : out.back().date);
    out.push_back({stack_path, line, day});
  }
  S2_CHECK(!out.empty(), "the dates file '{}' lists no date", dates_path);
  return out;
}

RasterSeries read_raster_stack(const std::string& stack_path, const std::string& dates_path,
                               const SeriesOptions& options, Window window) {
  S2_CHECK(!options.bands.empty(), "no bands selected for '{}'", stack_path);
  RasterSeries s;
  s.acquisitions = read_dates_file(dates_path, stack_path);
  s.bands = options.bands;
  DatasetPtr d = open_raster(stack_path);
  const int dates = static_cast<int>(s.acquisitions.size()), total = d->GetRasterCount();
  S2_CHECK(total % dates == 0,
           "'{}': {} bands are not a whole number of bands for each of the {} dates in '{}'", stack_path,
           total, dates, dates_path);
  start_series(s, grid_of(*d), window, stack_path);
  const std::vector<bool> masked = masked_classes(options);
  const int per_date = total / dates;
  for (size_t t = 0; t < s.acquisitions.size(); ++t) {
    read_observation(*d, static_cast<int>(t) * per_date, per_date, t, options, masked,
                     fmt::format("{} (date {})", stack_path, s.acquisitions[t].date), s);
  }
  return s;
}

std::map<int32_t, std::string> read_legend(const std::string& legend_path) {
  std::map<int32_t, std::string> legend;
  std::ifstream in(legend_path);
  S2_CHECK(in.good(), "cannot open legend '{}'", legend_path);
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.starts_with("code"))) continue;
    const auto comma = line.find(',');
    int32_t code = 0;
    const auto [end, ec] =
        std::from_chars(line.data(), line.data() + (comma == std::string::npos ? line.size() : comma), code);
    S2_CHECK(comma != std::string::npos && ec == std::errc() && end == line.data() + comma,
             "{}:{}: expected 'code,name', got '{}'", legend_path, line_no, line);
    std::string name = line.substr(comma + 1);
    name = name.substr(0, name.find(','));
    // 0 marks unlabelled pixels, so it cannot be a class; a code or name listed twice is ambiguous.
    S2_CHECK(code > 0, "{}:{}: code {} must be positive (0 marks unlabelled pixels)", legend_path, line_no,
             code);
    S2_CHECK(!name.empty(), "{}:{}: code {} has no name", legend_path, line_no, code);
    S2_CHECK(legend.count(code) == 0, "{}:{}: code {} is listed twice", legend_path, line_no, code);
    for (const auto& [other, other_name] : legend)
      S2_CHECK(other_name != name, "{}:{}: name '{}' is listed for codes {} and {}", legend_path, line_no,
               name, other, code);
    legend[code] = name;
  }
  S2_CHECK(!legend.empty(), "legend '{}' lists no classes", legend_path);
  return legend;
}

LabelRaster read_labels(const std::string& labels_path, const std::string& legend_path) {
  LabelRaster l;
  l.legend = read_legend(legend_path);
  DatasetPtr d = open_raster(labels_path);
  l.grid = grid_of(*d);
  check_fits_in_memory(static_cast<double>(l.grid.width) * static_cast<double>(l.grid.height) * 8.0,
                       labels_path, fmt::format("labels of {} x {} pixels", l.grid.width, l.grid.height));
  std::vector<float> codes(static_cast<size_t>(l.grid.width * l.grid.height));
  read_band(*d, 1, {0, 0, l.grid.width, l.grid.height}, codes.data(), labels_path);
  l.codes.reserve(codes.size());
  for (size_t p = 0; p < codes.size(); ++p) {
    const float v = codes[p];
    S2_CHECK(std::isfinite(v) && v >= 0 && v <= 2147483647.0f && v == std::floor(v),
             "'{}': label value {} at pixel ({}, {}) is not a class code (a non-negative integer)",
             labels_path, v, static_cast<int64_t>(p) % l.grid.width, static_cast<int64_t>(p) / l.grid.width);
    const auto code = static_cast<int32_t>(v);
    S2_CHECK(code == 0 || l.legend.count(code) > 0,
             "'{}': label code {} at pixel ({}, {}) is not in the legend '{}'", labels_path, code,
             static_cast<int64_t>(p) % l.grid.width, static_cast<int64_t>(p) / l.grid.width, legend_path);
    l.codes.push_back(code);
  }
  return l;
}

std::vector<int64_t> parcel_ids(const LabelRaster& labels) {
  const int64_t w = labels.grid.width, h = labels.grid.height;
  std::vector<int64_t> id(labels.codes.size(), 0);
  int64_t next = 0;
  std::vector<int64_t> stack;
  for (int64_t start = 0; start < w * h; ++start) {
    if (labels.codes[static_cast<size_t>(start)] == 0 || id[static_cast<size_t>(start)] != 0) continue;
    id[static_cast<size_t>(start)] = ++next;
    stack.push_back(start);
    while (!stack.empty()) {  // flood fill over equal codes
      const int64_t p = stack.back();
      stack.pop_back();
      const int64_t x = p % w, y = p / w;
      const int64_t neighbours[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
      for (const auto& [nx, ny] : neighbours) {
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        const int64_t q = ny * w + nx;
        if (id[static_cast<size_t>(q)] == 0 &&
            labels.codes[static_cast<size_t>(q)] == labels.codes[static_cast<size_t>(p)]) {
          id[static_cast<size_t>(q)] = next;
          stack.push_back(q);
        }
      }
    }
  }
  return id;
}

std::vector<int64_t> read_parcels(const std::string& folder, const LabelRaster& labels) {
  const std::string path = (std::filesystem::path(folder) / "parcels.tif").string();
  if (!std::filesystem::exists(path)) return parcel_ids(labels);
  DatasetPtr d = open_raster(path);
  const std::string diff = labels.grid.difference(grid_of(*d));
  S2_CHECK(diff.empty(), "'{}' is not on the grid of labels.tif: {}", path, diff);
  std::vector<int32_t> ids(labels.codes.size());
  const CPLErr err = d->GetRasterBand(1)->RasterIO(
      GF_Read, 0, 0, static_cast<int>(labels.grid.width), static_cast<int>(labels.grid.height), ids.data(),
      static_cast<int>(labels.grid.width), static_cast<int>(labels.grid.height), GDT_Int32, 0, 0);
  S2_CHECK(err == CE_None, "'{}': reading the parcel ids failed: {}", path, CPLGetLastErrorMsg());
  std::vector<int64_t> parcels(ids.size());
  for (size_t p = 0; p < ids.size(); ++p) {
    S2_CHECK(
        (ids[p] > 0) == (labels.codes[p] != 0),
        "'{}': pixel ({}, {}) has parcel id {} but label code {} (a labelled pixel needs a positive id, an "
        "unlabelled one 0)",
        path, static_cast<int64_t>(p) % labels.grid.width, static_cast<int64_t>(p) / labels.grid.width,
        ids[p], labels.codes[p]);
    parcels[p] = ids[p];
  }
  return parcels;
}

}  // namespace s2::data
