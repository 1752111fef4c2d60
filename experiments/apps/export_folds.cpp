// Writes the folds a config trains on, exactly as s2cbam prepares them (split, resampled, standardised
// with the fold's training statistics), and the training protocol, so that another framework trains
// on the same pixels under the same settings (scripts/torch_train.py, issue #20).
//   export_folds --config FILE --out DIR [--seeds 1,2,3] [--candidate NAME]
// With --candidate, the protocol is that [select] candidate's (its training settings and conventions).
// DIR/protocol.json; DIR/seed<S>/<fold>/{x,y}_{train,validation,test}.npy (x: N x T x B, y: class
// index as float32) and normaliser.npy (2 x B: mean, standard deviation). For the paper network
// without augmentation, also the run's own start: init/<tensor>.npy (the initial weights and batch-norm
// statistics, by s2cbam's names) and order.npy (epochs x N: the training samples in the order each
// epoch visits them), so that another framework can train from exactly s2cbam's random draws
// (torch_train.py --same-start).
#include <fmt/format.h>

#include <filesystem>

#include "data/npy.h"
#include "experiments/cli/cli.h"
#include "experiments/training/experiment.h"
#include "experiments/training/selection.h"
#include "framework/atomic_file.h"
#include "framework/optim.h"

using namespace s2;
namespace fs = std::filesystem;

namespace {
void write_part(const fs::path& dir, const std::string& part, const data::PixelDataset& d) {
  if (d.size() == 0) return;  // e.g. no validation split
  data::write_npy((dir / ("x_" + part + ".npy")).string(), {d.size(), d.timesteps, d.bands}, d.values);
  data::write_npy((dir / ("y_" + part + ".npy")).string(), {d.size()},
                  std::vector<float>(d.labels.begin(), d.labels.end()));
}

// The fold's initial weights and its epochs' sample orders, exactly as run_experiment draws them.
void write_start(const fs::path& dir, const experiments::ExperimentConfig& c, const experiments::Fold& fold,
                 int64_t classes, uint64_t seed) {
  const auto model = experiments::initial_model(c, fold.train.timesteps, fold.train.bands, classes, seed);
  fs::create_directories(dir / "init");
  for (const auto& [name, t] : model->named_state())
    data::write_npy((dir / "init" / (name + ".npy")).string(), t.shape(), t.to_vector());
  const auto orders = experiments::epoch_orders(fold.train.size(), c.train.epochs, seed);
  std::vector<float> flat;  // exact as float32 below 2^24 samples
  for (const auto& o : orders) flat.insert(flat.end(), o.begin(), o.end());
  data::write_npy((dir / "order.npy").string(), {c.train.epochs, fold.train.size()}, flat);
}

std::string protocol_json(const experiments::ExperimentConfig& c, int64_t classes) {
  const auto& t = c.train;
  const auto& bn = c.model.batch_norm();
  const auto& net = c.model.cbam;
  const optim::AdamOptions adam;
  const auto flag = [](bool b) { return b ? "true" : "false"; };
  return fmt::format(
      "{{\n  \"config\": \"{}\",\n  \"model\": \"{}\",\n  \"classes\": {},\n  \"epochs\": {},\n  "
      "\"batch_size\": {},\n"
      "  \"learning_rate\": {:.9g},\n  \"weight_decay\": {:.9g},\n  \"adam_beta1\": {:.9g},\n  "
      "\"adam_beta2\": {:.9g},\n"
      "  \"adam_eps\": {:.9g},\n  \"early_stopping_patience\": {},\n  \"best_epoch_by\": \"{}\",\n  "
      "\"bn_eps\": {:.9g},\n"
      "  \"bn_momentum\": {:.9g},\n  \"bn_unbiased_running_var\": {},\n  \"init\": \"{}\",\n"
      "  \"stem_bias\": {},\n  \"mlp_bias\": {},\n  \"label_smoothing\": {:.9g},\n"
      "  \"class_weighted_loss\": {},\n  \"loss_reduction\": \"{}\",\n"
      "  \"augmentation\": {},\n  \"shuffle\": \"every epoch\",\n  \"loss\": \"mean cross-entropy\",\n"
      "  \"candidate\": \"{}\"\n}}\n",
      c.path, c.model.kind, classes, t.epochs, t.batch_size, t.learning_rate, t.weight_decay, adam.beta1,
      adam.beta2, t.adam_eps, t.early_stopping_patience, t.best_epoch_by, bn.eps, bn.momentum,
      flag(bn.unbiased_running_var), models::weight_init_name(net.init), flag(net.stem_bias),
      flag(net.mlp_bias), t.label_smoothing, flag(t.class_weighted_loss), t.loss_reduction,
      flag(t.augment.enabled()), c.candidate);
}
}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"config", "out", "seeds", "candidate"});
    experiments::ExperimentConfig config = experiments::load_config(args.require("config"));
    if (args.has("candidate")) {
      config =
          experiments::with_candidate(config, experiments::find_candidate(config, args.get("candidate", "")));
    }
    const std::vector<uint64_t> seeds = args.get_seeds("seeds", config.seeds);
    const fs::path out = args.require("out");
    const experiments::LoadedData data = experiments::load_data(config);
    fs::create_directories(out);
    // Augmentation draws from the shuffling generator, so the orders alone would not be the run's.
    const bool same_start = config.model.kind == "cbam" && !config.train.augment.enabled();
    write_file_atomic((out / "protocol.json").string(), protocol_json(config, data.train.num_classes()));
    for (const uint64_t seed : seeds) {
      for (const auto& fold : experiments::prepared_folds(config, data, seed)) {
        const fs::path dir = out / fmt::format("seed{}", seed) / fold.name;
        fs::create_directories(dir);
        write_part(dir, "train", fold.train);
        write_part(dir, "validation", fold.validation);
        write_part(dir, "test", fold.test);
        std::vector<float> norm = fold.normaliser.mean;
        norm.insert(norm.end(), fold.normaliser.stddev.begin(), fold.normaliser.stddev.end());
        data::write_npy((dir / "normaliser.npy").string(), {2, fold.train.bands}, norm);
        if (same_start) write_start(dir, config, fold, data.train.num_classes(), seed);
        fmt::print("seed {} fold {}: {} train / {} validation / {} test samples{} -> {}\n", seed, fold.name,
                   fold.train.size(), fold.validation.size(), fold.test.size(),
                   same_start ? ", initial weights and batch orders" : "", dir.string());
      }
    }
    fmt::print("wrote {}/protocol.json\n", out.string());
    return 0;
  });
}
