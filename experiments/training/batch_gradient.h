#pragma once
// The gradient of one training batch, computed whole or in fixed shards that MPI ranks share
// (data-parallel training). With `shards` > 1 the batch splits into that many contiguous shards; each
// runs forward and backward on its own, with its own batch-norm statistics (as PyTorch's
// DistributedDataParallel without SyncBatchNorm), and its loss is its share of the batch loss. The
// shards' gradients are then added in shard order, and the batch-norm running statistics are their
// mean over shards, also in shard order: so a run gives the same bits on 1 rank or on any rank count
// that divides `shards`. Dropout draws from a generator per shard, derived from the global one.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "framework/ops.h"
#include "models/classifier.h"

namespace s2::experiments {

struct BatchFigures {
  double loss = 0;      // the batch loss (the sum of the shards' shares)
  int64_t correct = 0;  // samples whose largest logit is their label
};

// Leaves the batch loss's gradient in the parameters' grad() on every rank; the caller checks it and
// steps the optimiser. `reduction` is TrainOptions::loss_reduction.
BatchFigures batch_gradient(models::Classifier& model, const data::Batch& batch,
                            const CrossEntropyOptions& loss, const std::string& reduction, int64_t shards);

// Whether a batch of `n` samples is trained on: every shard needs two samples for batch norm.
inline bool trainable_batch(int64_t n, int64_t shards) {
  return n >= 2 * shards;
}

// The loss of samples `labels`, a shard of a batch with `batch_labels`: softmax cross-entropy over the
// shard, weighted by the shard's share of the batch loss, so that the shards' losses add up to the
// batch loss as TrainOptions::loss_reduction averages it.
Tensor shard_loss(const Tensor& logits, const std::vector<int32_t>& labels,
                  const std::vector<int32_t>& batch_labels, const CrossEntropyOptions& options,
                  const std::string& reduction);

}  // namespace s2::experiments
