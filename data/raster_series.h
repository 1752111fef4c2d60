#pragma once
// Sentinel-2 image time series as per-date GeoTIFFs in one folder (YYYY-MM-DD.tif, bands named by
// their descriptions, an SCL band, nodata 0), plus a label raster with its legend.csv.
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace s2::data {

struct Grid {
  int64_t width = 0, height = 0;
  std::array<double, 6> transform{};  // GDAL geotransform
  std::string crs_wkt;
  // Why `other` differs from this grid, or empty when they match.
  std::string difference(const Grid& other) const;
};

// A pixel window; width or height -1 means "to the edge".
struct Window {
  int64_t x = 0, y = 0, width = -1, height = -1;
};

struct Acquisition {
  std::string path;
  std::string date;  // YYYY-MM-DD
  int32_t day = 0;   // days since 1970-01-01
};

// Days since 1970-01-01 of a YYYY-MM-DD date; throws naming `context` when malformed.
int32_t parse_day(const std::string& date, const std::string& context);
// The inverse: the YYYY-MM-DD text of a day, and the same date as the number YYYYMMDD.
std::string day_text(int32_t day);
int32_t day_yyyymmdd(int32_t day);

// The acquisitions of a folder, by date. Throws when the folder is missing or holds no dated GeoTIFF.
std::vector<Acquisition> list_acquisitions(const std::string& folder);

// The values a band may take, both ends included ([data] valid_range, in the data's own units): any other
// is a defect, not an observation. Tables and rasters both ask it. The default holds every number; NaN
// is never outside (it is a gap already).
struct ValidRange {
  double lowest = -std::numeric_limits<double>::infinity();
  double highest = std::numeric_limits<double>::infinity();
  bool outside(double v) const { return v < lowest || v > highest; }
};

struct SeriesOptions {
  std::vector<std::string> bands{"B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"};
  std::string scl_band = "SCL";  // empty = no cloud mask
  // SCL classes that are not a usable observation: no data, defective, cloud shadow, clouds, cirrus, snow.
  std::vector<int32_t> masked_scl_classes{0, 1, 3, 8, 9, 10, 11};
  double nodata = 0;       // a band value equal to this is no observation
  ValidRange valid_range;  // a band value outside it is no observation
  // A date whose grid (size, transform or CRS) differs from the first date's: false = a clear error,
  // true = resampled onto the first date's grid with GDAL's warper (nearest neighbour, so SCL classes
  // stay classes).
  bool warp_mismatched_grids = false;
};

struct RasterSeries {
  Grid grid;  // of the whole raster; the window below is where values come from
  Window window;
  std::vector<Acquisition> acquisitions;
  std::vector<std::string> bands;
  std::vector<float> values;   // [date][band][pixel of the window]
  std::vector<uint8_t> clear;  // [date][pixel]: 1 = every band valid and SCL not masked
  int64_t pixels() const { return window.width * window.height; }
};

// Reads the selected bands of every acquisition. Errors name the file: a missing band, a grid that
// differs from the first date's (unless warped), an unreadable file, or NaN values.
RasterSeries read_raster_series(const std::string& folder, const SeriesOptions& options, Window window = {});

// The same from one multi-band GeoTIFF holding every date: date-major bands (the bands of the first
// date, then those of the second, ...), each described by its band name, and a text file with one
// YYYY-MM-DD date per line in band order.
RasterSeries read_raster_stack(const std::string& stack_path, const std::string& dates_path,
                               const SeriesOptions& options, Window window = {});
std::vector<Acquisition> read_dates_file(const std::string& dates_path, const std::string& stack_path);

// The grid of one raster file (size, geotransform, CRS), without reading its pixels.
Grid read_grid(const std::string& path);

struct LabelRaster {
  Grid grid;
  std::vector<int32_t> codes;  // per pixel, 0 = unlabelled
  std::map<int32_t, std::string> legend;
};

// A legend.csv: code,name[,pixels] per line, an optional header starting with "code". Errors name the
// file and line: a code that is not positive, listed twice, or a name used for two codes.
std::map<int32_t, std::string> read_legend(const std::string& legend_path);

// labels.tif and legend.csv (code,name[,pixels]); a code missing from the legend is an error.
LabelRaster read_labels(const std::string& labels_path, const std::string& legend_path);

// Parcels: connected components (4-neighbour) of equal non-zero codes; 0 for unlabelled pixels.
std::vector<int64_t> parcel_ids(const LabelRaster& labels);

// The parcels of a label folder: parcels.tif beside labels.tif when there is one (an Int32 parcel id per
// pixel, as `prepare` writes from polygons, so that touching fields of one crop stay apart), else
// parcel_ids(). Errors name parcels.tif: another grid, or an id on an unlabelled pixel.
std::vector<int64_t> read_parcels(const std::string& folder, const LabelRaster& labels);

}  // namespace s2::data
