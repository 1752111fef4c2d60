// Checkpoint round trip and every way a file can be bad.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "framework/atomic_file.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "tests/temp_files.h"

using namespace s2;
using s2::testing::temp_path;

namespace {
Checkpoint sample() {
  Checkpoint ck;
  ck.step = 42;
  ck.config = "[train]\nepochs = 3\n";
  ck.metadata = "timesteps = 36\n";
  ck.tensors = {{"model.w", Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6})},
                {"norm.mean", Tensor::from_vector({1}, {0.5f})}};
  return ck;
}
}  // namespace

TEST_CASE("checkpoint round trip keeps every field") {
  const std::string path = temp_path("roundtrip.ckpt");
  save_checkpoint(path, sample());
  const Checkpoint back = load_checkpoint(path);
  CHECK(back.step == 42);
  CHECK(back.config == sample().config);
  CHECK(back.metadata == "timesteps = 36\n");
  REQUIRE(back.tensors.size() == 2);
  CHECK(back.get("model.w").shape() == Shape{2, 3});
  CHECK(back.get("model.w").to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(back.with_prefix("norm").front().first == "mean");
}

TEST_CASE("bad checkpoint files give clear errors naming the file") {
  const std::string path = temp_path("bad.ckpt");
  save_checkpoint(path, sample());
  const std::string good = read_file(path);

  write_file_atomic(path, good.substr(0, good.size() - 7));
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("truncated"), Error);

  write_file_atomic(path, good.substr(0, 10));
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("truncated header"), Error);

  write_file_atomic(path, "P6\n3 2\n255\n...not a checkpoint...");
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("not an s2cbam checkpoint"), Error);

  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x40;
  write_file_atomic(path, flipped);
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("checksum mismatch"), Error);
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains(path.c_str()), Error);

  CHECK_THROWS_WITH_AS(load_checkpoint(temp_path("missing.ckpt")), doctest::Contains("cannot open"), Error);
}

TEST_CASE("restore checks names and shapes") {
  Checkpoint ck = sample();
  Tensor right = Tensor::zeros({2, 3}), wrong = Tensor::zeros({3, 2});
  ck.restore("model", {{"w", right}}, "x.ckpt");
  CHECK(right.data()[5] == 6.0f);
  CHECK_THROWS_WITH_AS(ck.restore("model", {{"w", wrong}}, "x.ckpt"), doctest::Contains("(3, 2)"), Error);
  CHECK_THROWS_WITH_AS(ck.restore("model", {{"v", right}}, "x.ckpt"),
                       doctest::Contains("'model.v' is missing"), Error);
}

TEST_CASE("atomic writes leave no temporary behind") {
  const std::string path = temp_path("atomic.txt");
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  CHECK(read_file(path) == "second");
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  }
  CHECK_THROWS_WITH_AS(write_file_atomic("/nonexistent-dir/x", "y"), doctest::Contains("/nonexistent-dir/x"),
                       Error);
}

TEST_CASE("a checkpoint with a valid checksum but NaN or infinite weights is refused, naming the tensor") {
  for (const float bad : {std::nanf(""), INFINITY}) {
    Checkpoint ck;
    ck.tensors.emplace_back("model.head.weight", Tensor::from_vector({2}, {0.5f, bad}));
    const std::string path = s2::testing::temp_path("nan.ckpt");
    save_checkpoint(path, ck);
    CHECK_THROWS_WITH_AS(
        load_checkpoint(path),
        doctest::Contains("tensor 'model.head.weight' holds a NaN or infinite value (element 1)"), Error);
  }
}
