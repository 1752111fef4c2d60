#include "experiments/training/trainer.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include "experiments/training/batch_gradient.h"
#include "experiments/training/train_state.h"
#include "framework/allocator.h"
#include "framework/autograd.h"
#include "framework/byte_codec.h"
#include "framework/distributed.h"
#include "framework/error.h"
#include "framework/ops.h"
#include "framework/optim.h"

namespace s2::experiments {

namespace {
std::vector<float> inverse_frequency_weights(const data::PixelDataset& d) {
  const auto counts = d.class_counts();
  std::vector<float> w(counts.size(), 0.0f);
  int64_t present = 0;
  for (int64_t c : counts) present += c > 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    // n / (classes * count): the mean weight over samples is 1, as scikit-learn's 'balanced'.
    w[i] = counts[i] > 0 ? static_cast<float>(d.size()) / static_cast<float>(present * counts[i]) : 0.0f;
  }
  return w;
}

NamedTensors snapshot(const models::Classifier& model) {
  NamedTensors copy;
  for (const auto& [name, t] : model.named_state()) copy.emplace_back(name, t.clone());
  return copy;
}

void restore(models::Classifier& model, const NamedTensors& saved) {
  size_t i = 0;
  for (auto& [name, t] : model.named_state()) Tensor(t).copy_from(saved[i++].second);
}
}  // namespace

Device device_of(const Module& model) {
  const auto params = model.parameters();
  return params.empty() ? Device::CPU : params.front().device();
}

Tensor batch_logits(models::Classifier& model, const data::Batch& batch, Device device) {
  if (!model.uses_location()) return model.forward(batch.x.to(device));
  return model.forward_at(batch.x.to(device), batch.location);  // the model encodes it on the CPU
}

namespace {
// Batch `j` of a prediction over `d` in batches of `batch_size`: classes, probabilities and the batch's
// share of the loss sum, appended to `out` (the model is in eval mode, gradients off).
void predict_batch(models::Classifier& model, const data::PixelDataset& d, int64_t batch_size, int64_t j,
                   Prediction& out, double& loss_sum) {
  const int64_t k = model.num_classes();
  const int64_t begin = j * batch_size, end = std::min(d.size(), begin + batch_size);
  std::vector<int64_t> order(static_cast<size_t>(end - begin));
  for (int64_t i = begin; i < end; ++i) order[static_cast<size_t>(i - begin)] = i;
  const data::Batch batch = data::make_batch(d, order, 0, end - begin);
  const Tensor logits = batch_logits(model, batch, device_of(model)).to(Device::CPU);
  if (!d.labels.empty()) {
    loss_sum += softmax_cross_entropy(logits, batch.labels).item() * static_cast<double>(end - begin);
  }
  const Tensor p = softmax(logits);
  for (int64_t i = 0; i < end - begin; ++i) {
    const float* row = p.data() + i * k;
    out.classes.push_back(static_cast<int32_t>(std::max_element(row, row + k) - row));
    out.probabilities.insert(out.probabilities.end(), row, row + k);
  }
}

// Runs `body` with the model in eval mode and gradients off, then restores its mode.
template <typename Body>
Prediction in_eval_mode(models::Classifier& model, Body body) {
  const bool was_training = model.is_training();
  model.eval();
  if (was_training) {
    CachingAllocator::host().empty_cache();  // the training step's blocks do not fit inference batches
  }
  Prediction out;
  {
    NoGradGuard no_grad;
    out = body();
  }
  model.train(was_training);
  return out;
}
}  // namespace

Prediction predict(models::Classifier& model, const data::PixelDataset& d, int64_t batch_size) {
  return in_eval_mode(model, [&] {
    Prediction out;
    double loss_sum = 0;
    for (int64_t j = 0; j * batch_size < d.size(); ++j) predict_batch(model, d, batch_size, j, out, loss_sum);
    out.loss = d.size() > 0 ? loss_sum / static_cast<double>(d.size()) : 0.0;
    return out;
  });
}

Prediction predict_over_ranks(models::Classifier& model, const data::PixelDataset& d, int64_t batch_size) {
  if (dist::size() == 1) return predict(model, d, batch_size);
  return in_eval_mode(model, [&] {
    // Batch j on rank j mod ranks; each batch's figures travel as bytes and are put together in batch order.
    ByteWriter mine;
    for (int64_t j = dist::rank(); j * batch_size < d.size(); j += dist::size()) {
      Prediction part;
      double loss = 0;
      predict_batch(model, d, batch_size, j, part, loss);
      mine.put<double>(loss);
      mine.put_array(part.classes);
      mine.put_array(part.probabilities);
    }
    const std::vector<std::string> all = dist::all_gather_bytes(mine.bytes());
    std::vector<ByteReader> readers;
    for (size_t r = 0; r < all.size(); ++r)
      readers.emplace_back(all[r], 0, fmt::format("the predictions of rank {}", r));
    Prediction out;
    double loss_sum = 0;
    for (int64_t j = 0; j * batch_size < d.size(); ++j) {
      ByteReader& r = readers[static_cast<size_t>(j % dist::size())];
      loss_sum += r.get<double>("loss");
      const auto classes = r.get_array<int32_t>("classes");
      const auto probabilities = r.get_array<float>("probabilities");
      out.classes.insert(out.classes.end(), classes.begin(), classes.end());
      out.probabilities.insert(out.probabilities.end(), probabilities.begin(), probabilities.end());
    }
    out.loss = d.size() > 0 ? loss_sum / static_cast<double>(d.size()) : 0.0;
    return out;
  });
}

TrainResult fit_directly(models::Classifier& model, const data::PixelDataset& train,
                         const TrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<float> weights;
  if (options.class_weighted_loss) {
    const std::vector<float> per_class = inverse_frequency_weights(train);
    for (const int32_t y : train.labels) weights.push_back(per_class[static_cast<size_t>(y)]);
  }
  model.fit(Tensor::from_vector({train.size(), train.timesteps, train.bands}, train.values), train.labels,
            weights, options.seed);
  if (options.verbose) {
    fmt::print("fitted on {} samples in {:.1f} s\n", train.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return {};
}

Generator training_generator(uint64_t seed) {
  return Generator(seed ^ 0x5eedULL);  // not the global generator, which initialised the weights
}

std::vector<std::vector<int64_t>> epoch_orders(int64_t n, int64_t epochs, uint64_t seed) {
  Generator rng = training_generator(seed);
  std::vector<std::vector<int64_t>> orders;
  for (int64_t e = 0; e < epochs; ++e) orders.push_back(data::shuffled_indices(n, rng));
  return orders;
}

optim::AdamOptions adam_options(const TrainOptions& options) {
  optim::AdamOptions adam;
  adam.lr = options.learning_rate;
  adam.weight_decay = options.weight_decay;
  adam.eps = options.adam_eps;
  adam.decoupled_weight_decay = options.weight_decay > 0;  // AdamW: decay not scaled by the moments
  return adam;
}

CrossEntropyOptions training_loss_options(const data::PixelDataset& train, const TrainOptions& options) {
  CrossEntropyOptions o;
  o.label_smoothing = options.label_smoothing;
  if (options.class_weighted_loss) o.class_weights = inverse_frequency_weights(train);
  return o;
}

Tensor training_loss(const Tensor& logits, const std::vector<int32_t>& labels, const CrossEntropyOptions& o,
                     const std::string& reduction) {
  return shard_loss(logits, labels, labels, o, reduction);  // the batch is its own only shard
}

std::string non_finite_gradient(const Module& model) {
  for (const auto& [name, p] : model.named_parameters()) {
    if (!p.grad().defined()) continue;
    const Tensor g = p.grad().to(Device::CPU);  // the gradient itself on the CPU, a copy from a device
    const float* d = g.data();
    for (int64_t i = 0; i < g.numel(); ++i) {
      if (!std::isfinite(d[i])) return name;
    }
  }
  return "";
}

namespace {
// One pass over the training set in the shuffled order; returns (mean loss, accuracy, samples).
EpochLog train_one_epoch(models::Classifier& model, optim::Optimizer& optimizer,
                         const data::PixelDataset& train, const TrainOptions& options,
                         const CrossEntropyOptions& loss_options, Generator& rng, int64_t epoch) {
  model.train();
  const auto start = std::chrono::steady_clock::now();
  const auto order = data::shuffled_indices(train.size(), rng);
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  for (int64_t begin = 0; begin < train.size(); begin += options.batch_size) {
    const int64_t end = std::min(train.size(), begin + options.batch_size);
    if (!trainable_batch(end - begin, options.shards)) break;  // batch norm needs two samples per shard
    data::Batch batch = data::make_batch(train, order, begin, end);
    if (options.augment.enabled()) data::augment_batch(batch.x, options.augment, rng);
    const BatchFigures batch_figures =
        batch_gradient(model, batch, loss_options, options.loss_reduction, options.shards);
    const auto batch_loss = static_cast<float>(batch_figures.loss);
    // A diverged run stops here, before a non-finite update reaches the weights and a model is saved.
    S2_CHECK(std::isfinite(batch_loss),
             "training diverged: the loss is {} at batch {} of epoch {}; try a lower learning rate than {}",
             batch_loss, begin / options.batch_size + 1, epoch, optimizer.lr());
    const std::string bad = non_finite_gradient(model);
    S2_CHECK(
        bad.empty(),
        "training diverged: the gradient of {} is NaN or infinite at batch {} of epoch {} (the loss is {}); "
        "try a lower learning rate than {}",
        bad, begin / options.batch_size + 1, epoch, batch_loss, optimizer.lr());
    optimizer.step();
    const int64_t n = end - begin;
    loss_sum += batch_loss * static_cast<double>(n);
    correct += batch_figures.correct;
    seen += n;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {0,
          loss_sum / static_cast<double>(seen),
          static_cast<double>(correct) / static_cast<double>(seen),
          0,
          0,
          static_cast<double>(seen) / seconds,
          optimizer.lr()};
}

// Lower is better, so that loss and accuracy share TrainState::best_val.
double validation_score(const EpochLog& log, const TrainOptions& options) {
  return options.best_epoch_by == "val_accuracy" ? -log.val_accuracy : log.val_loss;
}

void print_epoch(const EpochLog& log, bool has_validation) {
  fmt::print("epoch {:3d}  loss {:.4f}  acc {:.3f}", log.epoch, log.train_loss, log.train_accuracy);
  if (has_validation) fmt::print("  val_loss {:.4f}  val_acc {:.3f}", log.val_loss, log.val_accuracy);
  fmt::print("  {:.1f} samples/s\n", log.samples_per_second);
  std::fflush(stdout);
}
}  // namespace

TrainResult train_classifier(models::Classifier& model, const data::PixelDataset& train,
                             const data::PixelDataset* validation, const TrainOptions& options) {
  optim::Adam optimizer(model.parameters(), adam_options(options));
  const CrossEntropyOptions loss_options = training_loss_options(train, options);
  const bool has_validation = validation != nullptr && validation->size() > 0;

  TrainState state;
  Generator rng = training_generator(options.seed);
  if (options.resume && !options.state_path.empty() && std::filesystem::exists(options.state_path)) {
    state = load_train_state(options.state_path, model, optimizer, options.fingerprint);
    rng.set_state(state.shuffle_rng);
    global_generator().set_state(state.global_rng);
    if (options.verbose) fmt::print("resumed from {} after epoch {}\n", options.state_path, state.epoch);
  }
  for (int64_t epoch = state.epoch + 1; epoch <= options.epochs && !state.stopped_early; ++epoch) {
    EpochLog log = train_one_epoch(model, optimizer, train, options, loss_options, rng, epoch);
    log.epoch = epoch;
    if (has_validation) {
      const Prediction p = predict_over_ranks(model, *validation);
      log.val_loss = p.loss;
      log.val_accuracy =
          compute_metrics(validation->labels, p.classes, validation->num_classes()).overall_accuracy;
    }
    state.history.push_back(log);
    state.epoch = epoch;
    if (options.verbose) print_epoch(log, has_validation);
    if (!has_validation) {
      state.best_epoch = epoch;
    } else if (const double score = validation_score(log, options); score < state.best_val) {
      state.best_val = score;
      state.best_weights = snapshot(model);
      state.best_epoch = epoch;
      state.bad_epochs = 0;
    } else if (options.early_stopping_patience > 0 && ++state.bad_epochs >= options.early_stopping_patience) {
      state.stopped_early = true;
      if (options.verbose)
        fmt::print("early stop: no better {} for {} epochs\n", options.best_epoch_by, state.bad_epochs);
    }
    if (!options.state_path.empty() && dist::is_root()) {  // every rank holds the same state
      state.shuffle_rng = rng.state();
      state.global_rng = global_generator().state();
      save_train_state(options.state_path, model, optimizer, state, options.fingerprint);
    }
  }
  if (!state.best_weights.empty()) restore(model, state.best_weights);
  return {state.history, state.best_epoch, optimizer.state()};
}

}  // namespace s2::experiments
