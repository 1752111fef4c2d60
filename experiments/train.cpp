// Trains a model from a config, keeps the best checkpoint, evaluates it on the test split and writes
// the report.   train --config FILE [--out DIR] [--seed N] [--epochs N] [--threads N]
#include <fmt/format.h>
#include <omp.h>

#include <filesystem>

#include "data/splits.h"
#include "data/victoria_csv.h"
#include "experiments/cli.h"
#include "experiments/config.h"
#include "experiments/report.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "kernels/cpu/gemm.h"

using namespace s2;

namespace {
data::PixelDataset load(const experiments::ExperimentConfig& c, const std::string& path) {
  data::PixelDataset d = data::read_pixel_csv(experiments::resolve_data_path(c, path),
                                              {.bands = c.data.bands, .class_names = c.data.class_names});
  return c.data.timesteps > 0 && c.data.timesteps != d.timesteps ? data::resample_regular(d, c.data.timesteps) : d;
}
}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"config", "out", "seed", "epochs", "threads"});
    experiments::ExperimentConfig config = experiments::load_config(args.require("config"));
    config.train.seed = static_cast<uint64_t>(args.get_int("seed", static_cast<int64_t>(config.train.seed)));
    config.train.epochs = args.get_int("epochs", config.train.epochs);
    if (args.has("threads")) omp_set_num_threads(static_cast<int>(args.get_int("threads", 2)));
    cpu::init_threading();
    const std::string out = args.get("out", "runs/" + std::filesystem::path(config.path).stem().string());

    const data::PixelDataset all_train = load(config, config.data.train);
    const auto split = data::grouped_split(all_train.groups, all_train.labels, config.data.validation_fraction,
                                           config.train.seed);
    data::PixelDataset train = all_train.subset(split.train), validation = all_train.subset(split.held_out);
    data::PixelDataset test = config.data.test.empty() ? data::PixelDataset{} : load(config, config.data.test);
    const auto normaliser = data::BandNormaliser::fit(train);  // training split only
    for (auto* d : {&train, &validation, &test}) {
      if (d->size() > 0) normaliser.apply(*d);
    }
    fmt::print("data: {} train / {} validation samples (grouped by object id), {} test; {} dates x {} bands, {} classes\n",
               train.size(), validation.size(), test.size(), train.timesteps, train.bands, train.num_classes());

    manual_seed(config.train.seed);
    auto model_ptr = models::make_model(config.model, train.timesteps, train.bands, train.num_classes());
    models::Classifier& model = *model_ptr;
    fmt::print("model: {}, {} trainable parameters, threads {}\n", config.model.kind, model.num_parameters(),
               omp_get_max_threads());
    const auto result = experiments::train_classifier(model, train, &validation, config.train);

    Checkpoint ck;
    ck.step = static_cast<uint64_t>(result.best_epoch);
    ck.config = config.text;
    ck.add("model", model.named_parameters());
    ck.add("model", model.named_buffers());
    ck.add("norm", normaliser.state());
    ck.add("optim", result.optimizer_state);
    std::filesystem::create_directories(out);
    save_checkpoint((std::filesystem::path(out) / "model.ckpt").string(), ck);

    const data::PixelDataset& eval = test.size() > 0 ? test : validation;
    const auto prediction = experiments::predict(model, eval);
    experiments::Report report{
        fmt::format("{} on {}", std::filesystem::path(config.path).filename().string(), eval.source),
        test.size() > 0 ? "Test split: the config's separate test file, as given." :
                          "Test split: the grouped validation split (no test file configured).",
        eval.class_names, experiments::compute_metrics(eval.labels, prediction.classes, eval.num_classes()), result};
    experiments::print_report(report);
    experiments::write_report(report, out);
    fmt::print("\nwrote {}/model.ckpt, report.json and report.md\n", out);
    return 0;
  });
}
