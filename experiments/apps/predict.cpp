// Classifies pixels with a checkpoint and writes one CSV row per pixel: its index, group, position
// (rasters), predicted class and the probability of every class.
//   predict --checkpoint FILE --data PATH [--labels PATH] [--coords PATH] --out FILE.csv [--config FILE]
// --coords: lat,lon per sample of a table, for a Geo-CBAM model.
#include <fmt/format.h>

#include "experiments/cli/cli.h"
#include "experiments/training/experiment.h"
#include "experiments/training/saved_model.h"
#include "framework/atomic_file.h"
#include "kernels/cpu/parallel.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv,
                           experiments::with_device_options({"checkpoint", "data", "labels", "groups",
                                                             "coords", "out", "config", "threads"}));
    experiments::apply_threads_option(args);
    const Device device = experiments::apply_device_options(args);
    experiments::SavedModel saved =
        experiments::load_saved_model(args.require("checkpoint"), args.get("config", ""));
    saved.model->to(experiments::device_for(*saved.model, device, saved.config.model.kind));
    const experiments::DataFiles files = experiments::command_line_data(
        saved, args.require("data"), args.get("labels", ""), args.get("groups", ""), args.get("coords", ""));
    const data::PixelDataset d = experiments::load_for_model(saved, files);
    const auto p = experiments::predict(*saved.model, d);
    const auto k = static_cast<int64_t>(saved.class_names.size());
    std::string csv = fmt::format("index,group,x,y,label,predicted,{}\n", fmt::join(saved.class_names, ","));
    for (int64_t i = 0; i < d.size(); ++i) {
      const auto u = static_cast<size_t>(i);
      csv += fmt::format("{},{},{},{},{},{}", i, d.groups[u], d.xs.empty() ? -1 : d.xs[u],
                         d.ys.empty() ? -1 : d.ys[u], saved.class_names[static_cast<size_t>(d.labels[u])],
                         saved.class_names[static_cast<size_t>(p.classes[u])]);
      for (int64_t c = 0; c < k; ++c)
        csv += fmt::format(",{:.6f}", p.probabilities[static_cast<size_t>(i * k + c)]);
      csv += "\n";
    }
    write_file_atomic(args.require("out"), csv);
    fmt::print("predicted {} pixels into {}\n", d.size(), args.require("out"));
    return 0;
  });
}
