// Times the fixed-order shard sum that data-parallel training runs once per batch
// (dist::sum_shards_in_order), for the model of docs/scaling.md: the minimum over repeats, and the bytes
// each rank sends through it.
//   mpirun -np N bench_collectives [--floats 1250851] [--shards N] [--repeats 20]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "experiments/cli/cli.h"
#include "framework/distributed.h"
#include "framework/error.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_job([&] {
    experiments::Args args(argc, argv, {"floats", "shards", "repeats"});
    const int64_t floats = args.get_int("floats", 1250851);  // the paper network's parameters, 5 classes
    const int64_t shards = args.get_int("shards", dist::size());
    const int64_t repeats = args.get_int("repeats", 20);
    S2_CHECK(floats > 0 && shards > 0 && repeats > 0, "--floats, --shards and --repeats must be positive");
    const dist::ShardRange mine = dist::my_shards(shards);
    std::vector<float> local(static_cast<size_t>((mine.last - mine.first) * floats));
    for (size_t i = 0; i < local.size(); ++i) local[i] = static_cast<float>(i % 1000) * 1e-3f;
    double best = 1e30;
    for (int64_t r = 0; r < repeats; ++r) {
      dist::barrier();
      const auto start = std::chrono::steady_clock::now();
      const std::vector<float> sum = dist::sum_shards_in_order(local, floats, shards);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      S2_CHECK(static_cast<int64_t>(sum.size()) == floats, "the sum has {} values", sum.size());
    }
    // A rank sends its shards' other segments (all-to-all) and its own sum segment to every other rank.
    const double ranks = dist::size(), owned = static_cast<double>(mine.last - mine.first);
    const double sent = 4.0 * static_cast<double>(floats) * (ranks - 1) / ranks * (owned + 1);
    fmt::print(
        "sum_shards_in_order: {} shards x {} floats on {} rank(s): {:.2f} ms (min of {}), {:.1f} MB sent "
        "per rank, {:.2f} GB/s\n",
        shards, floats, dist::size(), best * 1e3, repeats, sent / 1e6, sent / best / 1e9);
    return 0;
  });
}
