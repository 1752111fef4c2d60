#include "experiments/training/run_codec.h"

#include "framework/byte_codec.h"
#include "framework/checkpoint.h"

namespace s2::experiments {

namespace {
// Metrics are a function of the confusion matrix (metrics_from_confusion), so it alone travels.
void put_confusion(ByteWriter& w, const Metrics& m) {
  w.put<uint64_t>(m.confusion.size());
  for (const auto& row : m.confusion) {
    for (const int64_t c : row) w.put<int64_t>(c);
  }
}

Metrics get_confusion(ByteReader& r) {
  const auto k = r.get<uint64_t>("class count");
  S2_CHECK(k < 100000, "run results: implausible class count {}", k);
  std::vector<std::vector<int64_t>> confusion(k, std::vector<int64_t>(k));
  for (auto& row : confusion) {
    for (int64_t& c : row) c = r.get<int64_t>("confusion matrix");
  }
  return metrics_from_confusion(confusion);
}

std::string tensors_bytes(const NamedTensors& tensors) {
  Checkpoint holder;
  holder.tensors = tensors;
  return checkpoint_bytes(holder);
}
}  // namespace

std::string fold_bytes(const FoldResult& fold) {
  ByteWriter w;
  w.put_str(fold.name);
  put_confusion(w, fold.metrics);
  w.put<uint8_t>(fold.validation ? 1 : 0);
  if (fold.validation) put_confusion(w, *fold.validation);
  w.put<uint64_t>(fold.training.history.size());
  for (const EpochLog& e : fold.training.history) {
    w.put<int64_t>(e.epoch);
    for (const double v :
         {e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.samples_per_second, e.learning_rate})
      w.put<double>(v);
  }
  w.put<int64_t>(fold.training.best_epoch);
  w.put_str(tensors_bytes(fold.training.optimizer_state));
  w.put_str(checkpoint_bytes(fold.checkpoint));
  return std::move(w.bytes());
}

FoldResult parse_fold(const std::string& bytes, const std::string& source) {
  ByteReader r(bytes, 0, source);
  FoldResult fold;
  fold.name = r.get_str("fold name");
  fold.metrics = get_confusion(r);
  if (r.get<uint8_t>("validation flag") != 0) fold.validation = get_confusion(r);
  const auto epochs = r.get<uint64_t>("epoch count");
  for (uint64_t e = 0; e < epochs; ++e) {
    EpochLog log;
    log.epoch = r.get<int64_t>("epoch");
    for (double* v : {&log.train_loss, &log.train_accuracy, &log.val_loss, &log.val_accuracy,
                      &log.samples_per_second, &log.learning_rate})
      *v = r.get<double>("epoch log");
    fold.training.history.push_back(log);
  }
  fold.training.best_epoch = r.get<int64_t>("best epoch");
  fold.training.optimizer_state = parse_checkpoint(r.get_str("optimiser state"), source).tensors;
  fold.checkpoint = parse_checkpoint(r.get_str("checkpoint"), source);
  S2_CHECK(r.at_end(), "{}: unexpected bytes after the fold's results", source);
  return fold;
}

}  // namespace s2::experiments
