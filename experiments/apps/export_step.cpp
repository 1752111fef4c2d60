// Exports one training step of a config's paper network, for checking it against another framework
// (scripts/compare_with_torch.py): the weights before the step, a batch of the config's training
// pixels (standardised with the training statistics), the logits and the loss, every gradient, and
// the weights and batch-norm statistics after one Adam step, as .npy files, plus step.json with the
// hyper-parameters and the float32 rounding chain of the network (for derived bounds).
//   export_step --config FILE --out DIR [--batch 32] [--seed 1] [--threads N]
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
#include "framework/random.h"
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

NamedTensors parameters_and_buffers(const Module& m) {
  NamedTensors all = m.named_parameters();
  for (auto& b : m.named_buffers()) all.push_back(b);
  return all;
}
}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"config", "out", "batch", "seed", "threads", "isa"});
    experiments::ExperimentConfig config = experiments::load_config(args.require("config"));
    S2_CHECK(config.model.kind == "cbam", "export_step exports the paper network (model kind cbam), got '{}'",
             config.model.kind);
    S2_CHECK(config.model.cbam.stem_bias && config.model.cbam.mlp_bias,
             "export_step compares against the PyTorch restatement, which has the stem and MLP biases; "
             "{} turns one off",
             config.path);
    const int64_t batch = args.get_int("batch", 32);
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

    manual_seed(seed);
    auto model = models::make_model(config.model, t, bands, train.num_classes());
    write_tensors(out / "before", parameters_and_buffers(*model), false);
    const Tensor x = Tensor::from_vector({batch, 1, t, bands}, b.values);
    std::vector<float> labels(b.labels.begin(), b.labels.end());
    data::write_npy((out / "x.npy").string(), x.shape(), b.values);
    data::write_npy((out / "y.npy").string(), {batch}, labels);

    optim::AdamOptions adam;
    adam.lr = config.train.learning_rate;
    adam.weight_decay = config.train.weight_decay;
    adam.eps = config.train.adam_eps;
    adam.decoupled_weight_decay = config.train.weight_decay > 0;
    optim::Adam optimizer(model->parameters(), adam);
    const Tensor logits = model->forward(x);
    const Tensor loss = softmax_cross_entropy(logits, b.labels);
    data::write_npy((out / "logits.npy").string(), logits.shape(), logits.to_vector());
    loss.backward();
    write_tensors(out / "grad", model->named_parameters(), true);
    optimizer.step();
    write_tensors(out / "after", parameters_and_buffers(*model), false);

    models::CbamCropNetConfig net = config.model.cbam;
    net.timesteps = t, net.bands = bands, net.classes = train.num_classes();
    const BatchNormOptions& bn = config.model.batch_norm();
    write_file_atomic(
        (out / "step.json").string(),
        fmt::format("{{\n  \"config\": \"{}\",\n  \"seed\": {},\n  \"batch\": {},\n  \"classes\": {},\n  "
                    "\"loss\": {:.9g},\n"
                    "  \"lr\": {:.9g},\n  \"beta1\": {:.9g},\n  \"beta2\": {:.9g},\n  \"adam_eps\": {:.9g},\n"
                    "  \"weight_decay\": {:.9g},\n  \"bn_eps\": {:.9g},\n  \"bn_momentum\": {:.9g},\n"
                    "  \"bn_unbiased_running_var\": {},\n  \"pixels\": {},\n  \"forward_chain\": {}\n}}\n",
                    config.path, seed, batch, train.num_classes(), loss.item(), adam.lr, adam.beta1,
                    adam.beta2, adam.eps, adam.weight_decay, bn.eps, bn.momentum,
                    bn.unbiased_running_var ? "true" : "false", t * bands,
                    models::rounding_chain(net, batch, true)));
    fmt::print("exported one Adam step of {} (batch {}, seed {}) to {}: loss {:.6f}\n", config.path, batch,
               seed, out.string(), loss.item());
    return 0;
  });
}
