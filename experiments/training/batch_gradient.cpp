#include "experiments/training/batch_gradient.h"

#include <algorithm>
#include <memory>

#include "experiments/training/trainer.h"
#include "framework/device.h"
#include "framework/distributed.h"
#include "framework/error.h"
#include "framework/random.h"

namespace s2::experiments {

namespace {
int64_t count_correct(const Tensor& logits, const std::vector<int32_t>& labels) {
  const Tensor host = logits.to(Device::CPU);
  const int64_t k = host.size(1);
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const float* row = host.data() + static_cast<int64_t>(i) * k;
    correct += (std::max_element(row, row + k) - row) == labels[i];
  }
  return correct;
}

// The sum of the class weights of `labels` (their count without weights), in label order so that it is
// the same on every machine.
double weight_of(const std::vector<int32_t>& labels, const CrossEntropyOptions& o) {
  if (o.class_weights.empty()) return static_cast<double>(labels.size());
  double sum = 0;
  for (const int32_t y : labels) sum += o.class_weights[static_cast<size_t>(y)];
  return sum;
}

void append(std::vector<float>& pack, const Tensor& t) {
  const Tensor host = t.to(Device::CPU);
  pack.insert(pack.end(), host.data(), host.data() + host.numel());
}

// Writes values[offset, offset + numel) into t, wherever t lives.
int64_t unpack(const std::vector<float>& values, int64_t offset, Tensor t, float divide_by = 1.0f) {
  std::vector<float> part(values.begin() + offset, values.begin() + offset + t.numel());
  if (divide_by != 1.0f) {
    for (float& v : part) v /= divide_by;
  }
  t.copy_from(Tensor::from_vector(t.shape(), part).to(t.device()));
  return offset + t.numel();
}

BatchFigures one_pass(models::Classifier& model, const data::Batch& shard,
                      const std::vector<int32_t>& batch_labels, const CrossEntropyOptions& loss_options,
                      const std::string& reduction) {
  model.zero_grad();
  const Tensor logits = batch_logits(model, shard, device_of(model));
  const Tensor loss = shard_loss(logits, shard.labels, batch_labels, loss_options, reduction);
  const BatchFigures figures{loss.item(), count_correct(logits, shard.labels)};
  loss.backward();
  return figures;
}
}  // namespace

Tensor shard_loss(const Tensor& logits, const std::vector<int32_t>& labels,
                  const std::vector<int32_t>& batch_labels, const CrossEntropyOptions& o,
                  const std::string& reduction) {
  const Tensor loss = softmax_cross_entropy(logits, labels, o);  // a weighted mean over the shard
  // "weighted_mean" divides the batch's weighted sum by its total weight, "batch_mean" by its size.
  const double whole =
      reduction == "weighted_mean" ? weight_of(batch_labels, o) : static_cast<double>(batch_labels.size());
  const auto share = static_cast<float>(weight_of(labels, o) / whole);
  if (share == 1.0f) return loss;
  return scale(loss, share);
}

namespace {
// How the shards' gradients and running statistics are combined. On the CPU (and the emulated device):
// packed on the host and added in shard order across ranks, the same bits for any rank count. On GPUs
// with NCCL: each rank adds its own shards on the device and NCCL all-reduces them, one rank per GPU
// (NCCL's ring order, outside the determinism contract as the CUDA backend is).
class ShardSum {
 public:
  virtual ~ShardSum() = default;
  // After a shard's backward: its gradients and the running statistics its forward left.
  virtual void add(const Module& model, const NamedTensors& buffers) = 0;
  // Leaves the sum over all shards in the parameters' grad() and the mean in the buffers.
  virtual void finish(Module& model, const NamedTensors& buffers, int64_t shards) = 0;
};

class HostShardSum : public ShardSum {
 public:
  void add(const Module& model, const NamedTensors& buffers) override {
    has_grad_.clear();
    for (const auto& [name, p] : model.named_parameters()) {
      has_grad_.push_back(p.grad().defined());
      append(pack_, p.grad().defined() ? p.grad() : Tensor::zeros(p.shape()));
    }
    for (const auto& [name, t] : buffers) append(pack_, t);
    ++count_;
  }
  void finish(Module& model, const NamedTensors& buffers, int64_t shards) override {
    const auto length = static_cast<int64_t>(pack_.size()) / count_;
    const std::vector<float> sum = dist::sum_shards_in_order(pack_, length, shards);
    int64_t offset = 0;
    size_t i = 0;
    for (const auto& [name, p] : model.named_parameters()) {
      offset = has_grad_[i++] ? unpack(sum, offset, p.grad()) : offset + p.numel();
    }
    for (const auto& [name, t] : buffers) offset = unpack(sum, offset, t, static_cast<float>(shards));
  }

 private:
  std::vector<float> pack_;  // per shard: every parameter's gradient, then every buffer
  std::vector<bool> has_grad_;
  int64_t count_ = 0;
};

class NcclShardSum : public ShardSum {
 public:
  void add(const Module& model, const NamedTensors& buffers) override {
    size_t i = 0;
    for (const auto& [name, p] : model.named_parameters()) accumulate(i++, p.grad());
    for (const auto& [name, t] : buffers) accumulate(i++, t);
  }
  void finish(Module& model, const NamedTensors& buffers, int64_t shards) override {
    std::vector<std::pair<float*, int64_t>> slots;
    for (Tensor& t : sums_) {
      if (t.defined()) slots.emplace_back(t.data(), t.numel());
    }
    dist::nccl_all_reduce_sum(slots);
    size_t i = 0;
    for (const auto& [name, p] : model.named_parameters()) {
      if (sums_[i].defined()) Tensor(p.grad()).copy_from(sums_[i]);
      ++i;
    }
    for (const auto& [name, t] : buffers) {
      Tensor(t).copy_from(scale(sums_[i++], 1.0f / static_cast<float>(shards)));
    }
  }

 private:
  void accumulate(size_t i, const Tensor& t) {
    if (sums_.size() <= i) sums_.resize(i + 1);
    if (!t.defined()) return;
    if (!sums_[i].defined()) {
      sums_[i] = t.clone();
    } else {  // s2::add is a CPU op; the device's add sums in place
      device_kernels().add(t.numel(), sums_[i].data(), t.data(), sums_[i].data());
    }
  }
  std::vector<Tensor> sums_;  // this rank's shards' sums, one per parameter then per buffer
};
}  // namespace

BatchFigures batch_gradient(models::Classifier& model, const data::Batch& batch,
                            const CrossEntropyOptions& loss, const std::string& reduction, int64_t shards) {
  if (shards == 1 && dist::size() == 1) return one_pass(model, batch, batch.labels, loss, reduction);

  const dist::ShardRange mine = dist::my_shards(shards);
  const auto n = static_cast<int64_t>(batch.labels.size());
  const NamedTensors buffers = model.named_buffers();
  std::vector<Tensor> start;  // every shard's batch norm starts from the step's running statistics
  for (const auto& [name, t] : buffers) start.push_back(t.clone());
  // Dropout draws from a generator per shard, so that a shard's masks do not depend on which rank runs it.
  const uint64_t step_key = global_generator().next_u64();
  const auto after_step = global_generator().state();

  const bool nccl = device_of(model) == Device::CUDA && !device_kernels().emulated && dist::size() > 1 &&
                    dist::nccl_available();
  const std::unique_ptr<ShardSum> sum =
      nccl ? std::unique_ptr<ShardSum>(new NcclShardSum) : std::unique_ptr<ShardSum>(new HostShardSum);
  std::vector<double> figures;
  for (int64_t s = mine.first; s < mine.last; ++s) {
    for (size_t i = 0; i < buffers.size(); ++i) Tensor(buffers[i].second).copy_from(start[i]);
    global_generator().set_state(
        Generator(step_key + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(s + 1)).state());
    const data::Batch shard = data::slice_batch(batch, s * n / shards, (s + 1) * n / shards);
    const BatchFigures f = one_pass(model, shard, batch.labels, loss, reduction);
    figures.push_back(f.loss);
    figures.push_back(static_cast<double>(f.correct));
    sum->add(model, buffers);
  }
  global_generator().set_state(after_step);
  sum->finish(model, buffers, shards);

  BatchFigures total;
  const std::vector<double> all = dist::all_gather(figures);  // in rank order, so in shard order
  for (size_t k = 0; k < all.size(); k += 2) {
    total.loss += all[k];
    total.correct += static_cast<int64_t>(all[k + 1]);
  }
  return total;
}

}  // namespace s2::experiments
