// evaluate_map: a class map against a label raster (per pixel and per parcel, by majority vote) and/or
// a labelled stratified sample (from `sample`), with area-weighted accuracy and the estimated area of
// each class with 95% confidence intervals (Olofsson et al. 2014).
#include <fmt/format.h>

#include <filesystem>

#include "experiments/cli/cli.h"
#include "experiments/maps/map_evaluation.h"
#include "experiments/maps/map_sample.h"
#include "experiments/report/report.h"
#include "framework/atomic_file.h"
#include "framework/error.h"

using namespace s2;
namespace fs = std::filesystem;

namespace {

void write_area_estimates(const experiments::StratifiedSample& s, const std::string& source,
                          const std::string& title, const std::string& stem) {
  const experiments::AreaEstimates e = experiments::estimate_areas(s, source);
  const std::string md = experiments::area_estimates_markdown(e, s.classes, title);
  fmt::print("\n{}", md);
  write_file_atomic(stem + ".md", md);
  write_file_atomic(stem + ".csv", experiments::area_estimates_csv(e, s.classes));
  fmt::print("\nwrote {}.md and {}.csv\n", stem, stem);
}

void evaluate_against_labels(const data::ClassMap& map, const std::string& map_path,
                             const std::string& labels, const std::string& legend, const std::string& out) {
  const experiments::MapEvaluation e = experiments::evaluate_map(map, map_path, labels, legend);
  fmt::print("{} labelled pixels of the map's classes ({} left as no data by the map), {} of other classes\n",
             e.labelled_pixels, e.unmapped_pixels, e.other_label_pixels);
  fmt::print("{} parcels ({} with no mapped pixel)\n", e.parcels_total, e.parcels_unmapped);
  for (const auto& [name, metrics] : {std::pair{"pixels", e.pixels}, std::pair{"parcels", e.parcels}}) {
    const experiments::Report report{fmt::format("{} against {} (by {})", map_path, labels, name),
                                     name == std::string("pixels")
                                         ? "every labelled, mapped pixel"
                                         : "one vote per parcel: the majority class of its mapped pixels",
                                     e.class_names,
                                     metrics,
                                     {},
                                     {},
                                     {}};
    experiments::print_report(report);
    experiments::write_report(report, (fs::path(out) / name).string());
  }
  fmt::print("\nwrote {}/pixels and {}/parcels\n", out, out);
  // Area estimates need every mapped class among the labels; a map with a class the labels never show
  // still has its pixel and parcel accuracy above.
  try {
    write_area_estimates(
        experiments::labelled_pixels_as_sample(e, map, experiments::pixel_area_ha(map.grid, map_path)),
        labels,
        fmt::format("Area of {} from the labelled pixels of {} (all of them, not a random sample)", map_path,
                    labels),
        (fs::path(out) / "area-from-labels").string());
  } catch (const Error& error) {
    fmt::print(stderr, "warning: no area estimate from the labels: {}\n", error.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"map", "labels", "legend", "out", "sample", "reference-field"});
    const std::string map_path = args.require("map");
    S2_CHECK(
        args.has("labels") || args.has("sample"),
        "evaluate_map needs --labels (a label raster) or --sample (labelled points from `sample`), or both");
    const data::ClassMap map = data::read_class_map(map_path);
    const std::string out = args.get("out", (fs::path(map_path).parent_path() / "map-evaluation").string());
    fs::create_directories(out);
    if (args.has("labels")) {
      const std::string labels = args.require("labels");
      evaluate_against_labels(map, map_path, labels,
                              args.get("legend", (fs::path(labels).parent_path() / "legend.csv").string()),
                              out);
    }
    if (args.has("sample")) {
      const std::string sample = args.require("sample");
      const auto points =
          experiments::read_sample(sample, args.get("reference-field", "reference"), map.grid.crs_wkt);
      write_area_estimates(experiments::stratified_sample(map, map_path, points, sample), sample,
                           fmt::format("Accuracy and area of {} from the stratified sample {} ({} points)",
                                       map_path, sample, points.size()),
                           (fs::path(out) / "area-from-sample").string());
    }
    return 0;
  });
}
