// evaluate_map: a class map against a label raster, per pixel and per parcel (majority vote).
#include <fmt/format.h>

#include <filesystem>

#include "experiments/cli/cli.h"
#include "experiments/maps/map_evaluation.h"
#include "experiments/report/report.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"map", "labels", "legend", "out"});
    const std::string map = args.require("map"), labels = args.require("labels");
    const std::string legend =
        args.get("legend", (std::filesystem::path(labels).parent_path() / "legend.csv").string());
    const experiments::MapEvaluation e = experiments::evaluate_map(map, labels, legend);
    fmt::print(
        "{} labelled pixels of the map's classes ({} left as no data by the map), {} of other classes\n",
        e.labelled_pixels, e.unmapped_pixels, e.other_label_pixels);
    fmt::print("{} parcels ({} with no mapped pixel)\n", e.parcels_total, e.parcels_unmapped);
    const std::string out =
        args.get("out", (std::filesystem::path(map).parent_path() / "map-evaluation").string());
    for (const auto& [name, metrics] : {std::pair{"pixels", e.pixels}, std::pair{"parcels", e.parcels}}) {
      const experiments::Report report{fmt::format("{} against {} (by {})", map, labels, name),
                                       name == std::string("pixels")
                                           ? "every labelled, mapped pixel"
                                           : "one vote per parcel: the majority class of its mapped pixels",
                                       e.class_names,
                                       metrics,
                                       {},
                                       {},
                                       {}};
      experiments::print_report(report);
      experiments::write_report(report, (std::filesystem::path(out) / name).string());
    }
    fmt::print("\nwrote {}/pixels and {}/parcels\n", out, out);
    return 0;
  });
}
