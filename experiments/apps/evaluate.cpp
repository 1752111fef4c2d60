// Evaluates a checkpoint on labelled data (by default the test data of the config it was trained
// with) and writes the same report as train.
//   evaluate --checkpoint FILE [--data PATH [--labels PATH] [--groups PATH] [--coords PATH]] [--config FILE]
//            [--out DIR]
//            [--attention yes]
// --attention yes (CBAM models with attention): the report also shows each stage's mean spatial attention
// per true class, over correctly and wrongly classified pixels (as explain draws them).
#include <fmt/format.h>

#include <filesystem>

#include "experiments/cli/cli.h"
#include "experiments/explain/explain_report.h"
#include "experiments/report/report.h"
#include "experiments/training/experiment.h"
#include "experiments/training/saved_model.h"
#include "framework/error.h"
#include "kernels/cpu/parallel.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(
        argc, argv,
        experiments::with_device_options(
            {"checkpoint", "data", "labels", "groups", "coords", "config", "out", "threads", "attention"}));
    experiments::apply_threads_option(args);
    const Device device = experiments::apply_device_options(args);
    const std::string checkpoint = args.require("checkpoint");
    experiments::SavedModel saved = experiments::load_saved_model(checkpoint, args.get("config", ""));
    saved.model->to(experiments::device_for(*saved.model, device, saved.config.model.kind));
    experiments::DataFiles files = experiments::test_files(saved.config);
    if (args.has("data")) {
      files = experiments::command_line_data(saved, args.get("data", ""), args.get("labels", ""),
                                             args.get("groups", ""), args.get("coords", ""));
    }
    S2_CHECK(!files.values.empty(), "no --data given and the checkpoint's config names no test data");
    const data::PixelDataset d = experiments::load_for_model(saved, files);
    const auto p = experiments::predict(*saved.model, d);
    experiments::Report report{
        fmt::format("{} on {}", checkpoint, d.source),
        saved.origin.empty()
            ? "Evaluation of a saved model on data given at evaluation time."
            : fmt::format("Evaluation of a model imported from {}, on data given at evaluation "
                          "time.",
                          saved.origin),
        saved.class_names,
        experiments::compute_metrics(d.labels, p.classes, d.num_classes()),
        {},
        experiments::model_checksum(*saved.model),
        {}};
    experiments::print_report(report);
    const std::string out = args.get("out", "");
    if (args.get_yes_no("attention", false)) {
      S2_CHECK(!out.empty(), "option --attention yes writes figures: give --out");
      saved.model->to(Device::CPU);  // the traced attention runs on the CPU
      const auto e = experiments::attention_only(*saved.model, saved.config, saved.class_names, d);
      S2_CHECK(e.has_value(), "{}: a {} model has no attention to draw", checkpoint, saved.config.model.kind);
      report.figures = experiments::write_attention_figures(*e, out);
    }
    if (!out.empty()) {
      experiments::write_report(report, out);
      fmt::print("\nwrote {}/report.json and report.md\n", out);
    }
    return 0;
  });
}
