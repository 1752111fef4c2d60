// prepare: field polygons with a class attribute (GeoPackage, Shapefile, GeoJSON, ...) and a folder of
// per-date GeoTIFFs become a raster_series training folder: labels.tif, parcels.tif, legend.csv,
// parcels.csv and s2/.
#include <fmt/format.h>

#include "data/polygon_labels.h"
#include "experiments/cli/cli.h"
#include "framework/error.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(
        argc, argv, {"polygons", "layer", "class-field", "id-field", "legend", "images", "out", "buffer"});
    data::PolygonLabelOptions o;
    o.polygons = args.require("polygons");
    o.layer = args.get("layer", "");
    o.class_field = args.require("class-field");
    o.id_field = args.get("id-field", "");
    o.legend = args.get("legend", "");
    o.images = args.require("images");
    o.output = args.require("out");
    o.buffer_m = args.get_double("buffer", 0);
    S2_CHECK(o.buffer_m >= 0, "option --buffer is an inward distance in metres, 0 or more, got {}",
             o.buffer_m);
    const data::PolygonLabelReport r = data::rasterise_polygon_labels(o);
    constexpr size_t kShownWarnings = 20;
    for (size_t i = 0; i < r.warnings.size() && i < kShownWarnings; ++i) {
      fmt::print(stderr, "warning: {}\n", r.warnings[i]);
    }
    if (r.warnings.size() > kShownWarnings) {
      fmt::print(stderr, "warning: ... and {} more\n", r.warnings.size() - kShownWarnings);
    }
    fmt::print("{:>6}  {:<32} {:>8} {:>8}\n", "code", "class", "parcels", "pixels");
    for (const data::ClassCount& c : r.classes) {
      fmt::print("{:>6}  {:<32} {:>8} {:>8}\n", c.code, c.name, c.parcels, c.pixels);
    }
    fmt::print(
        "{} of {} polygons labelled {} pixels{}; wrote {}/labels.tif, parcels.tif, legend.csv, parcels.csv\n",
        r.parcels, r.polygons_read, r.labelled_pixels,
        o.buffer_m > 0 ? fmt::format(" (inward buffer {} m)", o.buffer_m) : "", o.output);
    return 0;
  });
}
