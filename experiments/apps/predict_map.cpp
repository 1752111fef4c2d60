// predict_map: a trained checkpoint applied to a folder of per-date GeoTIFFs, written as a crop map.
// Under mpirun, ranks compute blocks in turn and rank 0 writes them: the same files as one process. An
// interrupted run (Ctrl-C, --max-blocks N) continues where it stopped when started again.
#include <fmt/format.h>
#include <omp.h>

#include <atomic>
#include <csignal>

#include "experiments/cli/cli.h"
#include "experiments/maps/map_prediction.h"
#include "experiments/training/experiment.h"
#include "framework/distributed.h"
#include "framework/error.h"
#include "kernels/cpu/parallel.h"

using namespace s2;

namespace {
std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) {
  interrupted = true;
}
}  // namespace

int main(int argc, char** argv) {
  return experiments::run_job([&] {
    experiments::Args args(argc, argv,
                           experiments::with_device_options(
                               {"checkpoint", "input", "out", "block", "batch", "probabilities", "grid",
                                "quicklook", "config", "threads", "dates", "attention", "smooth",
                                "smooth-window", "smooth-fraction", "smoothness", "cog", "max-blocks"}));
    experiments::apply_threads_option(args);
    const Device device = experiments::apply_device_options(args);
    experiments::MapOptions o;
    o.input = args.require("input");
    o.dates = args.get("dates", "");
    o.output = args.require("out");
    o.quicklook = args.get("quicklook", "");
    o.block_size = args.get_int("block", 256);
    o.max_blocks = args.get_int("max-blocks", 0);
    S2_CHECK(o.max_blocks >= 0, "option --max-blocks must be 0 (all) or positive, got {}", o.max_blocks);
    o.batch_size = args.get_int("batch", 256);
    const std::string grid = args.get("grid", "reject");
    o.attention = args.get_yes_no("attention", false);
    // The attention layers come from the CPU's traced forward (experiments/explain).
    S2_CHECK(!o.attention || device == Device::CPU, "--attention yes runs on the CPU; add --device cpu");
    S2_CHECK(grid == "reject" || grid == "warp", "option --grid takes reject or warp, got '{}'", grid);
    o.probabilities = args.get_yes_no("probabilities", false);
    o.warp = grid == "warp";
    o.smooth = args.get_yes_no("smooth", false);
    const std::string cog = args.get("cog", "auto");
    S2_CHECK(cog == "auto" || cog == "yes" || cog == "no", "option --cog takes auto, yes or no, got '{}'",
             cog);
    if (cog != "auto") o.cloud_optimised = cog == "yes";
    o.smoothing.window = args.get_int("smooth-window", o.smoothing.window);
    o.smoothing.neigh_fraction = args.get_double("smooth-fraction", o.smoothing.neigh_fraction);
    o.smoothing.smoothness = args.get_double("smoothness", o.smoothing.smoothness);
    // Options are checked before the checkpoint is read, so a typo fails at once.
    experiments::SavedModel saved =
        experiments::load_saved_model(args.require("checkpoint"), args.get("config", ""));
    saved.model->to(experiments::device_for(*saved.model, device, saved.config.model.kind));
    std::signal(SIGINT, on_interrupt);  // finish the block, then remove the partial files
    std::signal(SIGTERM, on_interrupt);
    const experiments::MapStats s = experiments::predict_map(saved, o, &interrupted);
    const double pixels = static_cast<double>(s.width * s.height);
    // On several ranks the shares add up the ranks' time, so they may sum past 100%.
    fmt::print(
        "map {}x{}: {} pixels mapped, {} no data; {:.0f} pixels/s ({:.1f} s: I/O {:.0f}%, preprocessing "
        "{:.0f}%, network {:.0f}%{})\n",
        s.width, s.height, s.mapped, s.no_data, pixels / s.total_seconds, s.total_seconds,
        100 * s.io_seconds / s.total_seconds, 100 * s.preprocess_seconds / s.total_seconds,
        100 * s.network_seconds / s.total_seconds,
        dist::size() > 1 ? fmt::format(", of the time of {} ranks", dist::size()) : "");
    fmt::print("wrote {} (+ _confidence.tif{}{}{}, quick-look .svg)\n", o.output,
               o.probabilities || o.smooth ? ", _probabilities.tif" : "",
               o.smooth
                   ? fmt::format(", {} smoothed with a {} x {} window, neighbour fraction {}, smoothness {}",
                                 experiments::smoothed_map_path(o.output), o.smoothing.window,
                                 o.smoothing.window, o.smoothing.neigh_fraction, o.smoothing.smoothness)
                   : "",
               o.attention ? ", _attention_dates.tif, _attention_bands.tif, _attention_peak.tif" : "");
    return 0;
  });
}
