// The pieces of multi-rank jobs that one process can check: the fixed-order shard sum, shard ownership,
// a batch computed in shards, and folds passed between ranks as bytes. tests/mpi/mpi_checks.sh runs the
// same under mpirun -np 2.
#include <doctest/doctest.h>

#include <cmath>

#include "data/victoria_csv.h"
#include "experiments/training/batch_gradient.h"
#include "experiments/training/run_codec.h"
#include "experiments/training/trainer.h"
#include "framework/checkpoint.h"
#include "framework/distributed.h"
#include "framework/error.h"
#include "framework/random.h"
#include "models/cbam_crop_net.h"

using namespace s2;

TEST_CASE("one process is rank 0 of 1 and owns every shard") {
  CHECK(dist::rank() == 0);
  CHECK(dist::size() == 1);
  CHECK(dist::where().empty());
  const auto mine = dist::my_shards(6);
  CHECK(mine.first == 0);
  CHECK(mine.last == 6);
  const dist::Alone alone;  // a run alone is the same job of one
  CHECK(dist::size() == 1);
}

TEST_CASE("sum_shards_in_order adds the shards in shard order, element by element") {
  // Values whose float sum depends on the order: in shard order (1e8 + 1) - 1e8 = 0, since 1e8 + 1 rounds
  // to 1e8; adding the first and the last shard first would give 1.
  const std::vector<float> shards{1e8f, 2.0f, 0.5f, 1.0f, 3.0f, 0.25f, -1e8f, 4.0f, 0.125f};  // 3 of 3
  const std::vector<float> sum = dist::sum_shards_in_order(shards, 3, 3);
  REQUIRE(sum.size() == 3);
  for (int64_t e = 0; e < 3; ++e) {
    const float want = (shards[static_cast<size_t>(e)] + shards[static_cast<size_t>(3 + e)]) +
                       shards[static_cast<size_t>(6 + e)];
    CHECK(sum[static_cast<size_t>(e)] == want);
  }
  CHECK(sum[0] == 0.0f);
  CHECK_THROWS_WITH_AS(dist::sum_shards_in_order(shards, 4, 3),
                       doctest::Contains("9 values for 3 shards of 4"), Error);
}

namespace {
data::PixelDataset victoria_pixels(int64_t n) {
  data::PixelDataset all = data::read_pixel_csv(S2_SHARED_DATA "/victoria-2017/train.csv");
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n; ++i) keep.push_back(i * 7);
  data::PixelDataset d = data::resample_regular(all.subset(keep), 12);
  data::BandNormaliser::fit(d).apply(d);
  return d;
}

models::CbamCropNetConfig small_net(int64_t classes) {
  return {.timesteps = 12,
          .bands = 10,
          .classes = classes,
          .stem_width = 4,
          .stage_widths = {4, 8},
          .reduction = 2};
}

std::vector<std::vector<float>> grads(const Module& m) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, p] : m.named_parameters()) out.push_back(p.grad().to_vector());
  return out;
}
}  // namespace

TEST_CASE("a batch in shards: each shard's loss is its share, the gradient is the shards' added in order") {
  const data::PixelDataset d = victoria_pixels(10);
  std::vector<int64_t> order(10);
  for (int64_t i = 0; i < 10; ++i) order[static_cast<size_t>(i)] = i;
  const data::Batch batch = data::make_batch(d, order, 0, 10);
  CrossEntropyOptions o;
  o.class_weights.assign(static_cast<size_t>(d.num_classes()), 1.0f);
  for (size_t c = 0; c < o.class_weights.size(); ++c)
    o.class_weights[c] = 0.5f + 0.25f * static_cast<float>(c);

  for (const std::string reduction : {"batch_mean", "weighted_mean"}) {
    CAPTURE(reduction);
    manual_seed(5);
    models::CbamCropNet net(small_net(d.num_classes()));
    net.train();
    const NamedTensors start = net.named_state();
    std::vector<std::vector<float>> initial;
    for (const auto& [name, t] : start) initial.push_back(t.to_vector());

    // By hand: each shard from the same start, its own gradient and running statistics.
    std::vector<std::vector<std::vector<float>>> shard_grads;
    std::vector<std::vector<std::vector<float>>> shard_buffers;
    double loss = 0;
    for (const auto& [from, to] : {std::pair<int64_t, int64_t>{0, 5}, {5, 10}}) {
      size_t i = 0;
      for (auto& [name, t] : net.named_state())
        Tensor(t).copy_from(Tensor::from_vector(t.shape(), initial[i++]));
      net.zero_grad();
      const data::Batch shard = data::slice_batch(batch, from, to);
      const Tensor l =
          experiments::shard_loss(net.forward(shard.x), shard.labels, batch.labels, o, reduction);
      loss += l.item();
      l.backward();
      shard_grads.push_back(grads(net));
      std::vector<std::vector<float>> buffers;
      for (const auto& [name, t] : net.named_buffers()) buffers.push_back(t.to_vector());
      shard_buffers.push_back(buffers);
    }
    size_t i = 0;
    for (auto& [name, t] : net.named_state())
      Tensor(t).copy_from(Tensor::from_vector(t.shape(), initial[i++]));
    const experiments::BatchFigures f = experiments::batch_gradient(net, batch, o, reduction, 2);
    CHECK(f.loss == loss);
    const auto got = grads(net);
    for (size_t p = 0; p < got.size(); ++p) {
      for (size_t e = 0; e < got[p].size(); ++e)
        REQUIRE(got[p][e] == shard_grads[0][p][e] + shard_grads[1][p][e]);
    }
    size_t b = 0;
    for (const auto& [name, t] : net.named_buffers()) {
      const auto v = t.to_vector();
      for (size_t e = 0; e < v.size(); ++e)
        REQUIRE(v[e] == (shard_buffers[0][b][e] + shard_buffers[1][b][e]) / 2.0f);
      ++b;
    }

    // The shares add up to the batch loss on the same logits (the shards' own batch norm aside): each
    // side is a float32 chain of at most n + 4 roundings (n = 10 terms summed, the log-softmax, the
    // division, the scale) over positive terms, so they differ by at most 2 gamma(14) x the loss.
    Generator g(9);
    std::vector<float> z(static_cast<size_t>(10 * d.num_classes()));
    for (float& v : z) v = 3 * g.normal();
    const Tensor logits = Tensor::from_vector({10, d.num_classes()}, z);
    double shares = 0;
    for (const auto& [from, to] : {std::pair<int64_t, int64_t>{0, 5}, {5, 10}}) {
      std::vector<float> rows(z.begin() + from * d.num_classes(), z.begin() + to * d.num_classes());
      const std::vector<int32_t> labels(batch.labels.begin() + from, batch.labels.begin() + to);
      shares += experiments::shard_loss(Tensor::from_vector({to - from, d.num_classes()}, rows), labels,
                                        batch.labels, o, reduction)
                    .item();
    }
    const float whole = experiments::training_loss(logits, batch.labels, o, reduction).item();
    const double u = std::ldexp(1.0, -24), gamma = 14 * u / (1 - 14 * u);
    CHECK(std::abs(shares - whole) <= 2 * gamma * std::abs(whole));
  }
}

TEST_CASE("a fold's results pass between ranks as bytes, bit for bit, and pool into the run") {
  experiments::FoldResult fold;
  fold.name = "region \"a\"";
  fold.metrics = experiments::metrics_from_confusion({{3, 1}, {0, 5}});
  fold.validation = experiments::metrics_from_confusion({{1, 0}, {1, 1}});
  fold.training.history = {{1, 0.7, 0.5, 0.9, 0.4, 123.25, 1e-3}, {2, 0.1 / 3, 0.75, 0.8, 0.6, 99.5, 5e-4}};
  fold.training.best_epoch = 2;
  fold.training.optimizer_state = {{"step", Tensor::full({1}, 2.0f)}};
  fold.checkpoint.config = "[train]\nepochs = 2\n";
  fold.checkpoint.metadata = "seed = 7\n";
  fold.checkpoint.add("model", {{"w", Tensor::from_vector({2, 2}, {1.0f, -0.0f, 3.5f, 1e-30f})}});
  experiments::FoldResult plain = fold;  // a fold without a validation hold-out
  plain.name = "b";
  plain.validation.reset();

  const std::string bytes = experiments::fold_bytes(fold);
  const experiments::FoldResult back = experiments::parse_fold(bytes, "test");
  CHECK(experiments::fold_bytes(back) == bytes);
  CHECK(back.name == fold.name);
  CHECK(back.training.history[1].train_loss == 0.1 / 3);
  CHECK(back.metrics.overall_accuracy == fold.metrics.overall_accuracy);
  REQUIRE(back.validation.has_value());
  CHECK(back.validation->kappa == fold.validation->kappa);
  CHECK_FALSE(experiments::parse_fold(experiments::fold_bytes(plain), "test").validation.has_value());
  CHECK_THROWS_WITH_AS(experiments::parse_fold(bytes.substr(0, bytes.size() - 3), "rank 1's folds"),
                       doctest::Contains("rank 1's folds: truncated"), Error);

  // Pooled: the folds' confusion matrices added; validation from the folds that have one.
  const experiments::RunResult run = experiments::pool_folds({back, plain}, 2);
  CHECK(run.pooled.confusion == std::vector<std::vector<int64_t>>{{6, 2}, {0, 10}});
  CHECK(run.has_validation);
  CHECK(run.validation.confusion == fold.validation->confusion);
  CHECK(experiments::run_checksum(run) ==
        experiments::run_checksum(experiments::pool_folds({fold, plain}, 2)));
}
