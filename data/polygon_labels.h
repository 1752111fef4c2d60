#pragma once
// Training labels from field polygons: a vector file (any OGR format) with a class attribute becomes a
// label folder on the grid of the user's images: labels.tif (class codes), parcels.tif (one id per
// polygon, the groups of the grouped splits), legend.csv and parcels.csv, and s2/ linking the dated
// GeoTIFFs, so the folder is a `raster_series` dataset as it stands.
#include <cstdint>
#include <string>
#include <vector>

namespace s2::data {

struct PolygonLabelOptions {
  std::string polygons;     // the vector file
  std::string layer;        // empty = its first layer
  std::string class_field;  // the attribute holding each polygon's class (a code or a name)
  std::string id_field;     // the parcel id attribute; empty = the feature id
  std::string legend;       // optional code,name CSV: names the codes, or codes the names
  std::string images;       // a folder of YYYY-MM-DD.tif (or one holding s2/), or one raster: the grid
  std::string output;       // the label folder to write
  double buffer_m = 0;      // inward buffer: pixels closer than this to a polygon's edge stay unlabelled
};

struct ClassCount {
  int32_t code = 0;
  std::string name;
  int64_t parcels = 0, pixels = 0;
};

struct PolygonLabelReport {
  std::vector<ClassCount> classes;  // by code
  int64_t polygons_read = 0, parcels = 0, labelled_pixels = 0, overlap_pixels = 0;
  // One line per polygon left out (outside the raster, empty after buffering, no pixel centre inside,
  // an unknown class, not a polygon), each naming the file and the feature.
  std::vector<std::string> warnings;
};

// Rasterises with GDAL (a pixel is in a polygon when its centre is: all-touched off), after
// reprojecting the polygons to the images' CRS. Pixels that two polygons claim stay unlabelled.
// Errors name the file: no such layer or class attribute, a CRS GDAL cannot transform, a buffer in
// metres on a geographic grid, or no polygon that covers a pixel of the raster.
PolygonLabelReport rasterise_polygon_labels(const PolygonLabelOptions& options);

}  // namespace s2::data
