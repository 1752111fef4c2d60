#pragma once
// Validation samples of a class map: a stratified random sample drawn from the map (strata = mapped
// classes, sizes from experiments/maps/area_estimation), written as CSV or GeoPackage points for people
// to label, and read back once labelled to estimate accuracy and area.
#include <cstdint>
#include <string>
#include <vector>

#include "data/map_writer.h"
#include "experiments/maps/area_estimation.h"

namespace s2::experiments {

struct SamplePoint {
  int64_t id = 0;
  double x = 0, y = 0;    // in the map's CRS (a pixel centre when drawn by draw_sample)
  std::string reference;  // the class a person saw there; empty until labelled
};

// Mapped pixels per class of `map` (classes 1..K at index 0..K-1).
std::vector<double> stratum_pixels(const data::ClassMap& map);
// One map pixel's area in hectares. Errors name `path`: a geographic CRS (degrees are no area).
double pixel_area_ha(const data::Grid& grid, const std::string& path);

// `design.per_stratum[k]` distinct pixels of class k + 1, uniformly at random; the same seed gives the
// same points. Points are numbered 1.. in row order.
std::vector<SamplePoint> draw_sample(const data::ClassMap& map, const SampleDesign& design, uint64_t seed);

// Writes the points with their map class and an empty reference column: CSV (id,x,y,map_class,reference;
// coordinates in the map's CRS) or, for a .gpkg path, a GeoPackage point layer in the map's CRS. Atomic.
void write_sample(const std::string& path, const std::vector<SamplePoint>& points, const data::ClassMap& map);

// Reads labelled points: a CSV with x, y and `reference_field` columns (in the map's CRS), or any OGR
// vector of points with that field, reprojected to `map_crs_wkt`. Errors name the file and the row.
std::vector<SamplePoint> read_sample(const std::string& path, const std::string& reference_field,
                                     const std::string& map_crs_wkt);

// The error matrix of labelled points against the map they were drawn from. Errors name `sample_path`:
// a point outside the map or on its no-data, a point with no or an unknown reference class.
StratifiedSample stratified_sample(const data::ClassMap& map, const std::string& map_path,
                                   const std::vector<SamplePoint>& points, const std::string& sample_path);

}  // namespace s2::experiments
