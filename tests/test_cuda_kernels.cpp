// Every CUDA kernel version, executed through the CPU emulator in both thread orders, against the CPU
// reference of experiments/kernel_cases (the CPU kernels, or the CPU framework's gradient-checked
// ops for the fused attention blocks). Test cases named "paper:" use the paper network's shapes and
// are labelled slow; the others use odd edge shapes (sizes that do not divide the tiles, batch 1, C=1).
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "experiments/kernel_checks/kernel_cases.h"
#include "experiments/kernel_checks/roofline.h"
#include "framework/device.h"
#include "tests/cuda_test_util.h"

using namespace s2;
using namespace s2::testing;

namespace {

// Runs every runnable version of the case's op in both thread orders and checks every output.
void check_case(const KernelCase& c, const std::vector<int>& only_versions = {}) {
  const DeviceKernels& backend = emulated_kernels();
  CAPTURE(c.op);
  CAPTURE(c.shape);
  for (const KernelVersion& v : case_versions(backend, c.op)) {
    const bool wanted = only_versions.empty() || std::find(only_versions.begin(), only_versions.end(),
                                                           v.number) != only_versions.end();
    if (v.library || !wanted) {
      continue;  // library versions are GPU-only; their emulator error is tested below
    }
    CAPTURE(v.number);
    in_both_thread_orders([&] {
      auto prepared = prepare_case(backend, c, v.number);
      prepared->run();
      for (const auto& [name, got] : prepared->outputs()) {
        const BoundCheck b = check_output(c, name, got, v.math);
        INFO(c.op << " " << name << ": max |error| " << b.max_abs << ", " << b.ratio
                  << " of the derived bound");
        CHECK(b.ok());
      }
    });
  }
}

}  // namespace

TEST_CASE(
    "every conv2d version matches the CPU conv on edge shapes (tensor cores within their inputs' rounding)") {
  check_case(conv2d_case(1, 1, 36, 10, 64, 3));  // the paper's input layer: C = 1, batch 1
  check_case(conv2d_case(2, 3, 7, 5, 5, 3));     // odd sizes
  check_case(conv2d_case(1, 5, 6, 4, 3, 1));     // 1x1 skip
  check_case(conv2d_case(2, 4, 9, 7, 6, 3, 2));  // stride 2
  check_case(conv2d_case(2, 2, 36, 10, 1, 7));   // the spatial attention conv, 2 -> 1
  check_case(conv2d_case(1, 9, 9, 11, 70, 3));   // more than one 64-wide tile
  // Split-K of the weight gradient (version 2): K = batch x pixels >= 1024 with few output tiles.
  check_case(conv2d_case(4, 16, 36, 10, 16, 3));
  check_case(conv2d_case(3, 5, 23, 17, 9, 3));  // split-K with sizes off the tile grid
}

TEST_CASE("paper: conv2d on the paper network's shapes") {
  check_case(conv2d_case(2, 64, 36, 10, 64, 3));
  check_case(conv2d_case(2, 64, 36, 10, 128, 3), {2, 4});
  check_case(conv2d_case(2, 128, 36, 10, 256, 1), {2});
  check_case(conv2d_case(1, 256, 36, 10, 256, 3), {2});
}

TEST_CASE("linear version 1 matches the framework") {
  check_case(linear_case(3, 7, 5));
  check_case(linear_case(65, 70, 5));
}

TEST_CASE("every channel attention version matches the framework on edge shapes") {
  check_case(channel_attention_case(1, 8, 5, 3, 1));                  // batch 1, one hidden unit
  check_case(channel_attention_case(3, 40, 7, 5, 5));                 // pixels not a multiple of the warp
  check_case(channel_attention_case(2, 16, 6, 5, 2, /*ties=*/true));  // max pooling with tied maxima
}

TEST_CASE("paper: channel attention on stage shapes") {
  check_case(channel_attention_case(2, 64, 36, 10, 8));
  check_case(channel_attention_case(2, 256, 36, 10, 32));
}

TEST_CASE("every spatial attention version matches the framework on edge shapes") {
  check_case(spatial_attention_case(1, 1, 5, 3, 7));  // C = 1, a map smaller than the kernel
  check_case(spatial_attention_case(2, 6, 9, 4, 3));
  check_case(spatial_attention_case(2, 8, 9, 4, 3, /*ties=*/true));  // channel max with tied maxima
}

TEST_CASE("paper: spatial attention 7x7 on stage shapes") {
  check_case(spatial_attention_case(2, 64, 36, 10, 7));
  check_case(spatial_attention_case(2, 256, 36, 10, 7));
}

TEST_CASE("the fused attention kernels run at their documented shared-memory limits, and refuse past them") {
  // Version 2 keeps a sample's pooled maps (spatial: 2048 pixels) or channel descriptors (channel: 1024
  // channels, 256 hidden units) in shared memory.
  check_case(spatial_attention_case(1, 2, 32, 64, 7));     // 2048 pixels
  check_case(channel_attention_case(1, 1024, 1, 2, 256));  // 1024 channels, 256 hidden
  const DeviceKernels& backend = emulated_kernels();
  CHECK_THROWS_WITH_AS(prepare_case(backend, spatial_attention_case(1, 2, 41, 50, 7), 2)->run(),
                       doctest::Contains("up to 2048 pixels, got kernel 7 and 2050 pixels"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(prepare_case(backend, channel_attention_case(1, 1032, 1, 2, 8), 2)->run(),
                       doctest::Contains("up to 1024 channels and 256 hidden units, got 1032 and 8"),
                       std::invalid_argument);
  // Versions 1 and 3 have no such limit on pixels or channels; version 3 keeps the hidden units (256).
  check_case(spatial_attention_case(1, 2, 41, 50, 7), {1, 3});
  check_case(channel_attention_case(1, 1032, 1, 2, 8), {1, 3});
  CHECK_THROWS_WITH_AS(prepare_case(backend, channel_attention_case(1, 8, 1, 2, 257), 3)->run(),
                       doctest::Contains("version 3 supports up to 256 hidden units, got 257"),
                       std::invalid_argument);
}

TEST_CASE("BN epilogue versions 1 and 2 match the CPU BN, add and ReLU") {
  for (const bool residual : {false, true}) {
    for (const bool relu : {false, true}) {
      check_case(bn_epilogue_case(3, 5, 7, residual, relu));
    }
  }
  check_case(bn_epilogue_case(1, 1, 300, true, true));
  // The running variance in both conventions (Keras's biased, PyTorch's unbiased).
  check_case(bn_epilogue_case(3, 5, 7, true, true, /*unbiased=*/true));
}

TEST_CASE("paper: BN epilogue on a stage-3 residual output") {
  check_case(bn_epilogue_case(4, 256, 360, true, true));
}

TEST_CASE("global average pooling, softmax cross-entropy, Adam, fill and add match the CPU kernels") {
  check_case(avg_pool_case(70, 37));
  check_case(cross_entropy_case(37, 5, false));
  check_case(cross_entropy_case(37, 5, true));
  check_case(adam_case(1000, false));
  check_case(adam_case(1000, true));
  check_case(elementwise_case(1000));
  check_case(elementwise_case(1));
}

TEST_CASE("library versions are reported as GPU-only in the emulator, unknown versions are rejected") {
  const DeviceKernels& backend = emulated_kernels();
  auto conv = prepare_case(backend, conv2d_case(1, 1, 4, 4, 1, 3), 3);
  CHECK_THROWS_WITH_AS(conv->run(), doctest::Contains("conv2d version 3 (cuDNN) runs on a GPU only"),
                       std::invalid_argument);
  auto gemm = prepare_case(backend, linear_case(2, 3, 4), 2);
  CHECK_THROWS_WITH_AS(gemm->run(), doctest::Contains("linear version 2 (cuBLAS) runs on a GPU only"),
                       std::invalid_argument);
  // Version 6 falls back to version 2 where cuDNN cannot run: the same kernels, so the same bits.
  const KernelCase split_k = conv2d_case(4, 16, 36, 10, 16, 3);
  auto fastest = prepare_case(backend, split_k, 6), tiled = prepare_case(backend, split_k, 2);
  fastest->run();
  tiled->run();
  const auto want = tiled->outputs();
  for (const auto& [name, got] : fastest->outputs()) {
    CAPTURE(name);
    CHECK(got == want.at(name));
  }
  auto unknown = prepare_case(backend, conv2d_case(1, 1, 4, 4, 1, 3), 9);
  CHECK_THROWS_WITH_AS(unknown->run(), doctest::Contains("unknown kernel version 9"), std::invalid_argument);
}

TEST_CASE("a planted kernel bug is caught: channel attention with a wrong reference fails the check") {
  // Guards the harness itself: perturb one expected value and the comparison must flag it.
  KernelCase c = channel_attention_case(1, 8, 5, 3, 2);
  c.expected.at("dx")[7] += 0.5f;
  auto prepared = prepare_case(emulated_kernels(), c, 2);
  prepared->run();
  const auto out = prepared->outputs();
  CHECK_FALSE(check_output(c, "dx", out.at("dx")).ok());
  CHECK(check_output(c, "y", out.at("y")).ok());
}

TEST_CASE("kernels/cuda/README.md shows the registry's table of kernel versions, as it is") {
  std::ifstream in(S2_SOURCE_DIR "/kernels/cuda/README.md");
  REQUIRE(in.good());
  const std::string readme{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::string table = kernel_version_table();
  CHECK_MESSAGE(readme.find(table) != std::string::npos,
                "kernels/cuda/README.md is out of date; paste the output of ablate_kernels --list yes:\n"
                    << table);
  CHECK(table.find("| conv2d | 6 (default) |") != std::string::npos);
}

TEST_CASE(
    "rooflines: the slower of FLOPs at peak and bytes at bandwidth; every version states its designed "
    "share") {
  // 67 GFLOP at 67 TFLOP/s and 3.35 GB at 3.35 TB/s take 1 ms each.
  const Roofline compute = roofline(67e9, 1e9, kH100.fp32_tflops, kH100.hbm_tbps);
  CHECK(compute.ms() == doctest::Approx(1.0));
  CHECK(std::string(compute.bound()) == "compute");
  const Roofline memory = roofline(1e9, 2 * 3.35e9, kH100.fp32_tflops, kH100.hbm_tbps);
  CHECK(memory.ms() == doctest::Approx(2.0));
  CHECK(std::string(memory.bound()) == "memory");
  const DeviceKernels& backend = emulated_kernels();
  for (const char* op :
       {"conv2d", "linear", "channel_attention", "spatial_attention", "bn_epilogue", "adam"}) {
    for (const KernelVersion& v : case_versions(backend, op)) {
      CAPTURE(op);
      CAPTURE(v.number);
      CHECK(v.roofline_share > 0.0);
      CHECK(v.roofline_share <= 1.0);
    }
  }
}
