// What a trained model attends to and relies on (issue #16), on labelled data (by default the test data
// of the config it was trained with): per-class attention maps of each CBAM stage over the date x band
// plane, occlusion importance of each date and band, and deletion curves that test whether attention
// picks the dates that matter. Runs on the CPU.
//   explain --checkpoint FILE --out DIR [--data PATH [--labels PATH] [--groups PATH]] [--config FILE]
//           [--fold NAME [--split-seed S]] [--max-removed K] [--random-repeats R] [--random-seed S]
//           [--threads N]
// --fold: for a checkpoint that `train` wrote for one fold of a k-fold config (model-NAME.ckpt), that
// fold's test pixels, rebuilt from the config and the seed the split was drawn with (default: the
// config's [train] seed; give --split-seed when train ran with --seed).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "experiments/cli/cli.h"
#include "experiments/explain/axes.h"
#include "experiments/explain/explain_report.h"
#include "experiments/explain/explanation.h"
#include "experiments/training/experiment.h"
#include "experiments/training/saved_model.h"
#include "framework/error.h"

using namespace s2;

namespace {

// The labelled pixels to explain: a fold's test part (--fold), data named on the command line (--data),
// or the test data of the checkpoint's config.
data::PixelDataset explained_data(experiments::SavedModel& saved, const experiments::Args& args) {
  if (args.has("fold")) {
    S2_CHECK(!args.has("data"), "give either --fold or --data, not both");
    const std::string name = args.require("fold");
    const auto seed =
        static_cast<uint64_t>(args.get_int("split-seed", static_cast<int64_t>(saved.config.train.seed)));
    const experiments::LoadedData loaded = experiments::load_data(saved.config);
    for (experiments::Fold& fold : experiments::prepared_folds(saved.config, loaded, seed)) {
      if (fold.name != name) continue;
      S2_CHECK(fold.test.class_names == saved.class_names,
               "fold {} has classes [{}], but the checkpoint was trained on [{}]", name,
               fmt::join(fold.test.class_names, ", "), fmt::join(saved.class_names, ", "));
      return std::move(fold.test);
    }
    fail("the config's split has no fold '{}'", name);
  }
  experiments::DataFiles files = experiments::test_files(saved.config);
  if (args.has("data")) {
    files = experiments::command_line_data(saved, args.get("data", ""), args.get("labels", ""),
                                           args.get("groups", ""), args.get("coords", ""));
  }
  S2_CHECK(!files.values.empty(), "no --data given and the checkpoint's config names no test data");
  return experiments::load_for_model(saved, files);
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv,
                           {"checkpoint", "data", "labels", "groups", "coords", "config", "out", "threads",
                            "fold", "split-seed", "max-removed", "random-repeats", "random-seed"});
    experiments::apply_threads_option(args);
    const std::string out = args.require("out");
    experiments::SavedModel saved =
        experiments::load_saved_model(args.require("checkpoint"), args.get("config", ""));
    const data::PixelDataset d = explained_data(saved, args);
    S2_CHECK(!d.labels.empty(), "{}: explain needs labelled data (--labels)", d.source);
    const int64_t max_removed = args.get_int("max-removed", d.timesteps / 2);
    S2_CHECK(max_removed >= 1 && max_removed < d.timesteps, "option --max-removed must be 1 to {}, got {}",
             d.timesteps - 1, max_removed);
    const int64_t repeats = args.get_int("random-repeats", 5);
    S2_CHECK(repeats >= 1 && repeats <= 100, "option --random-repeats must be 1 to 100, got {}", repeats);

    experiments::Explanation e;
    e.model_name = saved.config.model.kind;
    e.data_source = d.source;
    e.class_names = saved.class_names;
    e.date_labels = experiments::date_labels(saved.config, d.timesteps);
    e.band_names = experiments::band_labels(saved.config, d.bands);
    auto* net = dynamic_cast<models::CbamCropNet*>(saved.model.get());
    if (net != nullptr && net->config().attention != models::Attention::None) {
      e.attention = experiments::summarise_attention(*net, d);
    }
    e.occlusion =
        experiments::occlusion_importance(*saved.model, d, saved.normaliser.mean, saved.normaliser.stddev);
    if (e.attention && !e.attention->date_attention.empty()) {
      e.deletion.push_back(experiments::deletion_curve(*saved.model, d, e.attention->date_attention,
                                                       max_removed, "attention"));
      e.rank_correlation = experiments::attention_occlusion_correlation(
          e.attention->date_attention, e.occlusion, d.labels, d.num_classes());
    }
    e.deletion.push_back(
        experiments::deletion_curve(*saved.model, d, e.occlusion.date_drop, max_removed, "occlusion"));
    e.deletion.push_back(experiments::random_deletion_curve(
        *saved.model, d, max_removed, static_cast<uint64_t>(args.get_int("random-seed", 1)), repeats));
    fmt::print("{}", experiments::explanation_summary(e));
    experiments::write_explanation(e, out);
    fmt::print("wrote {}: explain.json, attention.csv, occlusion.csv, deletion.csv and SVG figures\n", out);
    return 0;
  });
}
