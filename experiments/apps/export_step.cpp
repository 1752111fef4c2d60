// Exports one training step of a config's paper network, for checking it against another framework
// (scripts/compare_with_torch.py): the weights before the step, a batch of the config's training
// pixels (standardised with the training statistics), the logits and the training loss (class weights
// and reduction as the config trains), every gradient, the weights and batch-norm statistics after one
// Adam step, the inference-mode logits after it, as .npy files, plus step.json with the
// hyper-parameters and the float32 rounding chain of the network (for derived bounds).
// With --steps K (K > 1), also trajectory/: K steps from the same start on the trainer's batch orders.
//   export_step --config FILE --out DIR [--batch 32] [--seed 1] [--steps K] [--threads N]
#include <fmt/format.h>
#include <omp.h>

#include <filesystem>

#include "data/npy.h"
#include "experiments/cli/cli.h"
#include "experiments/training/experiment.h"
#include "framework/atomic_file.h"
#include "framework/error.h"
#include "framework/ops.h"
#include "framework/optim.h"
#include "kernels/cpu/parallel.h"

using namespace s2;
namespace fs = std::filesystem;

namespace {
void write_tensors(const fs::path& dir, const NamedTensors& tensors, bool gradients) {
  fs::create_directories(dir);
  for (const auto& [name, t] : tensors) {
    const Tensor& v = gradients ? t.grad() : t;
    S2_CHECK(v.defined(), "export_step: {} has no {}", name, gradients ? "gradient" : "value");
    data::write_npy((dir / (name + ".npy")).string(), v.shape(), v.to_vector());
  }
}

// `steps` Adam steps from the same initial weights as the single step, on the full batches of the
// orders the trainer's epochs visit the training pixels in (as many epochs as that takes): every step's
// loss, the batches, and the weights after the last step. Another framework run over the same batches
// shows how far two trainings drift apart from float32 rounding alone (compare_with_torch.py).
void write_trajectory(const fs::path& dir, const experiments::ExperimentConfig& config,
                      const data::PixelDataset& train, int64_t batch, int64_t steps, uint64_t seed) {
  auto model = experiments::initial_model(config, train.timesteps, train.bands, train.num_classes(), seed);
  optim::Adam optimizer(model->parameters(), experiments::adam_options(config.train));
  const CrossEntropyOptions loss_options = experiments::training_loss_options(train, config.train);
  const int64_t per_epoch = train.size() / batch;
  const auto orders = experiments::epoch_orders(train.size(), (steps + per_epoch - 1) / per_epoch, seed);
  fs::create_directories(dir);
  std::vector<float> xs, ys, losses;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t k = s % per_epoch;
    const data::Batch b =
        data::make_batch(train, orders[static_cast<size_t>(s / per_epoch)], k * batch, (k + 1) * batch);
    optimizer.zero_grad();
    const Tensor loss =
        experiments::training_loss(model->forward(b.x), b.labels, loss_options, config.train.loss_reduction);
    losses.push_back(loss.item());
    loss.backward();
    optimizer.step();
    const std::vector<float> x = b.x.to_vector();
    xs.insert(xs.end(), x.begin(), x.end());
    ys.insert(ys.end(), b.labels.begin(), b.labels.end());
  }
  data::write_npy((dir / "x.npy").string(), {steps, batch, 1, train.timesteps, train.bands}, xs);
  data::write_npy((dir / "y.npy").string(), {steps, batch}, ys);
  data::write_npy((dir / "losses.npy").string(), {steps}, losses);
  write_tensors(dir / "after", model->named_state(), false);
}
}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"config", "out", "batch", "seed", "steps", "threads", "isa"});
    experiments::ExperimentConfig config = experiments::load_config(args.require("config"));
    S2_CHECK(config.model.kind == "cbam", "export_step exports the paper network (model kind cbam), got '{}'",
             config.model.kind);
    S2_CHECK(config.model.cbam.stem_bias && config.model.cbam.mlp_bias,
             "export_step compares against the PyTorch restatement, which has the stem and MLP biases; "
             "{} turns one off",
             config.path);
    const int64_t batch = args.get_int("batch", 32);
    const int64_t steps = args.get_int("steps", 1);
    S2_CHECK(steps >= 1, "option --steps must be at least 1, got {}", steps);
    const auto seed = static_cast<uint64_t>(args.get_int("seed", 1));
    experiments::apply_threads_option(args);
    experiments::apply_isa_option(args);
    const fs::path out = args.require("out");

    experiments::LoadedData data = experiments::load_data(config);
    data::PixelDataset& train = data.train;
    data::BandNormaliser::fit(train).apply(train);
    S2_CHECK(batch >= 2 && batch <= train.size(), "option --batch must be in [2, {}], got {}", train.size(),
             batch);
    std::vector<int64_t> picked;  // spread over the file, so that several classes are in the batch
    for (int64_t i = 0; i < batch; ++i) picked.push_back(i * (train.size() / batch));
    const data::PixelDataset b = train.subset(picked);
    const int64_t t = b.timesteps, bands = b.bands;

    auto model = experiments::initial_model(config, t, bands, train.num_classes(), seed);
    write_tensors(out / "before", model->named_state(), false);
    const Tensor x = Tensor::from_vector({batch, 1, t, bands}, b.values);
    std::vector<float> labels(b.labels.begin(), b.labels.end());
    data::write_npy((out / "x.npy").string(), x.shape(), b.values);
    data::write_npy((out / "y.npy").string(), {batch}, labels);

    const optim::AdamOptions adam = experiments::adam_options(config.train);
    optim::Adam optimizer(model->parameters(), adam);
    const Tensor logits = model->forward(x);
    // The loss the trainer uses: class weights from the whole training set, averaged as the config says.
    const CrossEntropyOptions loss_options = experiments::training_loss_options(train, config.train);
    const Tensor loss =
        experiments::training_loss(logits, b.labels, loss_options, config.train.loss_reduction);
    data::write_npy((out / "logits.npy").string(), logits.shape(), logits.to_vector());
    loss.backward();
    write_tensors(out / "grad", model->named_parameters(), true);
    optimizer.step();
    write_tensors(out / "after", model->named_state(), false);
    // Inference mode (batch norm from its running statistics) is what test accuracy rests on.
    model->eval();
    const Tensor eval_logits = model->forward(x);
    data::write_npy((out / "eval_logits.npy").string(), eval_logits.shape(), eval_logits.to_vector());

    if (steps > 1) write_trajectory(out / "trajectory", config, train, batch, steps, seed);

    models::CbamCropNetConfig net = config.model.cbam;
    net.timesteps = t, net.bands = bands, net.classes = train.num_classes();
    const BatchNormOptions& bn = config.model.batch_norm();
    write_file_atomic(
        (out / "step.json").string(),
        fmt::format(
            "{{\n  \"config\": \"{}\",\n  \"seed\": {},\n  \"batch\": {},\n  \"steps\": {},\n  \"classes\": "
            "{},\n  "
            "\"loss\": {:.9g},\n"
            "  \"lr\": {:.9g},\n  \"beta1\": {:.9g},\n  \"beta2\": {:.9g},\n  \"adam_eps\": {:.9g},\n"
            "  \"weight_decay\": {:.9g},\n  \"bn_eps\": {:.9g},\n  \"bn_momentum\": {:.9g},\n"
            "  \"bn_unbiased_running_var\": {},\n  \"class_weights\": [{}],\n  \"loss_reduction\": \"{}\",\n"
            "  \"label_smoothing\": {:.9g},\n  \"pixels\": {},\n  \"forward_chain\": {}\n}}\n",
            config.path, seed, batch, steps, train.num_classes(), loss.item(), adam.lr, adam.beta1,
            adam.beta2, adam.eps, adam.weight_decay, bn.eps, bn.momentum,
            bn.unbiased_running_var ? "true" : "false", fmt::join(loss_options.class_weights, ", "),
            config.train.loss_reduction, loss_options.label_smoothing, t * bands,
            models::rounding_chain(net, batch, true)));
    fmt::print("exported one Adam step of {} (batch {}, seed {}) to {}: loss {:.6f}\n", config.path, batch,
               seed, out.string(), loss.item());
    if (steps > 1)
      fmt::print("and {} steps from the same start to {}\n", steps, (out / "trajectory").string());
    return 0;
  });
}
