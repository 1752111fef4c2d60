// Kernel-level ablation: every op of the paper network's training step, every kernel version, on the
// paper's shapes. Each version is first validated against the CPU reference, then timed (CUDA events
// on a GPU). In the CPU emulator only correctness is reported: its times say nothing about a GPU. Every
// case also shows its FLOPs and bytes, its roofline on an H100 (FP32, and the TF32 and BF16 tensor-core
// rooflines that a tensor-core version would have) and the time each version is designed to reach
// (kernel_api.inc): written down before a GPU measures it, and beside the measurement when one does.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "experiments/bench/paper_training_step.h"
#include "experiments/bench/torch_baseline.h"
#include "experiments/cli/cli.h"
#include "experiments/kernel_checks/kernel_cases.h"
#include "experiments/kernel_checks/roofline.h"
#include "framework/atomic_file.h"
#include "framework/device.h"
#include "framework/error.h"
#include "framework/ops.h"
#include "framework/optim.h"
#include "framework/random.h"
#include "kernels/cpu/parallel.h"
#include "models/cbam_crop_net.h"

using namespace s2;

namespace {

// The kernel table to check: the GPU's when present (or demanded), else the emulator's.
const DeviceKernels& pick_kernels(const std::string& device) {
  if (device == "emulator") {
    return emulated_kernels();
  }
  const DeviceKernels* gpu = gpu_kernels();
  if (gpu != nullptr && gpu->device_available()) {
    return *gpu;
  }
  if (device == "cuda") {
    throw Error(
        gpu == nullptr
            ? "--device cuda: this build has no GPU kernels (nvcc was not found at configure time)"
            : "--device cuda: no CUDA device is present (use --device emulator to validate on the CPU)");
  }
  if (device != "auto") {
    throw Error(fmt::format("--device must be auto, cuda or emulator, got '{}'", device));
  }
  fmt::print("no GPU present: running the CUDA kernels through the CPU emulator (correctness only)\n");
  return emulated_kernels();
}

// One training step of the paper network through the framework on `device`, in milliseconds.
double training_step_ms(int64_t batch, Device device) {
  experiments::PaperTrainingStep step(batch, device);
  step.run();
  const auto t = std::chrono::steady_clock::now();
  constexpr int kSteps = 3;
  for (int i = 0; i < kSteps; ++i) {
    step.run();
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count() / kSteps;
}

// PyTorch's step on the same GPU and shapes (scripts/torch_gpu_step.py), per arithmetic, against
// s2cbam's fastest step in that arithmetic: the ratio is PyTorch's time over s2cbam's (above 1: s2cbam is
// faster). Returns the line for the table; a baseline that cannot run is reported and left out.
std::string torch_step_comparison(const experiments::Args& args, int64_t batch,
                                  const std::map<std::string, double>& s2_ms) {
  const std::string python = args.get("torch-python", "python3");
  const std::string ref = args.get("torch-ref", S2_SOURCE_DIR "/../shared/bench/torch_cbam_ref.py");
  const experiments::TorchRun torch = experiments::run_torch_script(
      python, S2_SOURCE_DIR "/scripts/torch_gpu_step.py", {ref, std::to_string(batch)}, "step_ms");
  if (!torch.error.empty()) {
    fmt::print("  PyTorch baseline unavailable: {}\n", torch.error);
    return "; PyTorch baseline unavailable";
  }
  std::string line = fmt::format("; PyTorch {} on the same GPU (cuDNN autotuned):", torch.version);
  fmt::print("  PyTorch {} on the same GPU, batch {} (cuDNN autotuned):\n", torch.version, batch);
  for (const auto& [math, ms] : s2_ms) {
    const auto theirs = torch.figure("step_ms " + math);
    if (!theirs) continue;
    fmt::print("    {}: PyTorch {:.2f} ms, s2cbam {:.2f} ms: ratio {:.2f}x\n", math, *theirs, ms,
               *theirs / ms);
    line += fmt::format(" {} {:.2f} ms (s2cbam {:.2f}x)", math, *theirs, *theirs / ms);
  }
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv,
                           {"device", "batch", "repeats", "ops", "versions", "threads", "out", "list", "step",
                            "torch-python", "torch-ref"});
    if (args.get_yes_no("list", false)) {  // the registry's table, as kernels/cuda/README.md shows it
      fmt::print("{}", kernel_version_table());
      return 0;
    }
    const std::string device = args.get("device", "auto");
    const int repeats = static_cast<int>(args.get_int("repeats", 20));
    const int threads = experiments::apply_threads_option(args, 2);
    const auto ops = args.get_list("ops", {});
    const auto versions = args.get_list("versions", {});  // kernel version numbers to run; all when empty

    const DeviceKernels& backend = pick_kernels(device);
    const int64_t batch = args.get_int("batch", backend.emulated ? 2 : 64);
    if (batch < 1 || repeats < 1) {
      throw Error("--batch and --repeats must be positive");
    }
    const double peak_gflops = backend.device_peak_gflops(), peak_gbps = backend.device_peak_gbps();
    fmt::print("device: {} ({}), batch {}\n", backend.name, backend.device_description(), batch);
    if (peak_gflops > 0) {
      fmt::print("peak: {:.0f} GFLOP/s FP32, {:.0f} GB/s\n", peak_gflops, peak_gbps);
    }

    fmt::print(
        "H100 rooflines: FP32 {:.0f} TFLOP/s, TF32 tensor {:.0f}, BF16 tensor {:.0f}, HBM3 {:.2f} TB/s\n",
        kH100.fp32_tflops, kH100.tf32_tflops, kH100.bf16_tflops, kH100.hbm_tbps);
    std::string table =
        "| op | version | shape | MFLOP | MB | H100 roofline FP32 (us) | TF32 / BF16 tensor (us) | designed "
        "share (of its own roofline) | designed (us) | max abs error | error / bound | check | time (ms) | "
        "share of roofline | "
        "GFLOP/s | GB/s | % of peak |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    int failures = 0;
    double step_ms_fastest = 0.0;
    for (const KernelCase& c : paper_kernel_cases(batch)) {
      if (!ops.empty() && std::find(ops.begin(), ops.end(), c.op) == ops.end()) {
        continue;
      }
      double fastest = 0.0;
      const Roofline fp32 = roofline(c.flops, c.bytes, kH100.fp32_tflops, kH100.hbm_tbps);
      const Roofline tf32 = roofline(c.flops, c.bytes, kH100.tf32_tflops, kH100.hbm_tbps);
      const Roofline bf16 = roofline(c.flops, c.bytes / 2, kH100.bf16_tflops, kH100.hbm_tbps);  // 2-byte data
      fmt::print(
          "{:18} {:28} {:.2f} MFLOP, {:.2f} MB: H100 roofline {:.2f} us FP32 ({}-bound), {:.2f} us TF32, "
          "{:.2f} us BF16\n",
          c.op, c.shape, c.flops / 1e6, c.bytes / 1e6, 1e3 * fp32.ms(), fp32.bound(), 1e3 * tf32.ms(),
          1e3 * bf16.ms());
      for (const KernelVersion& v : case_versions(backend, c.op)) {
        if (!versions.empty() &&
            std::find(versions.begin(), versions.end(), std::to_string(v.number)) == versions.end()) {
          continue;
        }
        const std::string label = fmt::format("{} ({})", v.number, v.name);
        // A version is held against the roofline of the arithmetic it uses.
        const Roofline& own = v.math == MathMode::Tf32 ? tf32 : v.math == MathMode::Bf16 ? bf16 : fp32;
        const char* own_name = v.math == MathMode::Tf32 ? "TF32" : v.math == MathMode::Bf16 ? "BF16" : "FP32";
        const double designed_us = 1e3 * own.ms() / v.roofline_share;
        const std::string roof = fmt::format("{:.2f} | {:.2f} | {:.2f} | {:.2f} / {:.2f} | {:.0f}% | {:.2f}",
                                             c.flops / 1e6, c.bytes / 1e6, 1e3 * fp32.ms(), 1e3 * tf32.ms(),
                                             1e3 * bf16.ms(), 100.0 * v.roofline_share, designed_us);
        fmt::print("{:18} v{} designed for {:.0f}% of the {} roofline: {:.2f} us\n", c.op, v.number,
                   100.0 * v.roofline_share, own_name, designed_us);
        if (v.library && backend.emulated) {
          fmt::print("{:18} v{} {:28} skipped: {} runs on a GPU only\n", c.op, v.number, c.shape, v.name);
          table += fmt::format("| {} | {} | {} | {} | - | - | GPU only, not run | - | - | - | - | - |\n",
                               c.op, label, c.shape, roof);
          continue;
        }
        auto prepared = prepare_case(backend, c, v.number);
        prepared->run();
        // Each output against its derived float32 error bound (kernel_cases.h): the worst ratio.
        BoundCheck worst;
        for (const auto& [name, got] : prepared->outputs()) {
          const BoundCheck e = check_output(c, name, got, v.math);
          if (e.ratio >= worst.ratio) worst = e;
        }
        const bool ok = worst.ok();
        failures += ok ? 0 : 1;
        std::string timing = "- | - | - | - | -";
        if (!backend.emulated) {
          const double ms = backend.time_ms([&] { prepared->run(); }, repeats);
          const double gflops = c.flops / ms / 1e6, gbps = c.bytes / ms / 1e6;
          const bool compute_bound = c.op == "conv2d" || c.op == "linear";
          // The device's tensor peak is not queried: the H100 datasheet's ratio to the FP32 peak stands in.
          const double math_peak =
              peak_gflops * (v.math == MathMode::Tf32   ? kH100.tf32_tflops / kH100.fp32_tflops
                             : v.math == MathMode::Bf16 ? kH100.bf16_tflops / kH100.fp32_tflops
                                                        : 1.0);
          const double share = compute_bound ? gflops / math_peak : gbps / peak_gbps;
          timing = fmt::format("{:.4f} | {:.1f}% {} | {:.1f} | {:.1f} | {:.1f}% {} {}", ms,
                               100.0 * own.ms() / ms, own_name, gflops, gbps, 100.0 * share,
                               compute_bound ? own_name : "", compute_bound ? "FLOP/s" : "bandwidth");
          fmt::print("{:18} v{} measured {:.2f} us: {:.1f}% of the H100 {} roofline (designed for {:.0f}%)\n",
                     c.op, v.number, 1e3 * ms, 100.0 * own.ms() / ms, own_name, 100.0 * v.roofline_share);
          fastest = fastest == 0.0 ? ms : std::min(fastest, ms);
        }
        fmt::print("{:18} v{} {:28} max abs error {:.3g} ({:.2g} of the bound) {}\n", c.op, v.number, c.shape,
                   worst.max_abs, worst.ratio, ok ? "PASS" : "FAIL");
        table += fmt::format("| {} | {} | {} | {} | {:.3g} | {:.2g} | {} | {} |\n", c.op, label, c.shape,
                             roof, worst.max_abs, worst.ratio, ok ? "pass" : "FAIL", timing);
      }
      step_ms_fastest += fastest;
    }

    const auto fail_on_invalid = [&] {
      if (failures > 0) throw Error(fmt::format("{} kernel version(s) failed validation", failures));
    };
    if (!args.get_yes_no("step", true)) {  // the kernels only (sanitizer runs)
      fail_on_invalid();
      return 0;
    }
    const double cpu_ms = training_step_ms(batch, Device::CPU);
    fmt::print("\ntraining step of the paper network, batch {}: CPU backend ({} threads) {:.1f} ms\n", batch,
               threads, cpu_ms);
    table +=
        fmt::format("\nTraining step, batch {}: CPU backend ({} threads) {:.1f} ms", batch, threads, cpu_ms);
    if (!backend.emulated) {
      select_device_backend(DeviceBackend::Gpu);  // the framework's ops on the GPU, default kernel versions
      const double gpu_ms = training_step_ms(batch, Device::CUDA);
      fmt::print(
          "  {}: {:.2f} ms per step through the framework with the default kernels (sum of the fastest "
          "kernel "
          "of each op: {:.2f} ms)\n",
          backend.name, gpu_ms, step_ms_fastest);
      table += fmt::format("; {} {:.2f} ms (sum of the fastest kernels {:.2f} ms)", backend.name, gpu_ms,
                           step_ms_fastest);
      // The same step with each other conv version (but the naive one) in place of the default one.
      std::map<std::string, double> s2_ms{{"fp32", gpu_ms}};
      const int default_conv = device_kernel_versions().of(VersionedOp::Conv2d);
      for (const KernelVersion& v : case_versions(backend, "conv2d")) {
        if (v.number == 1 || v.number == default_conv) continue;
        set_device_kernel_versions(fmt::format("conv2d={}", v.number));
        const double ms = training_step_ms(batch, Device::CUDA);
        const std::string math = v.math == MathMode::Tf32   ? "tf32"
                                 : v.math == MathMode::Bf16 ? "bf16"
                                                            : "fp32";
        s2_ms[math] = s2_ms.contains(math) ? std::min(s2_ms[math], ms) : ms;
        fmt::print("  with conv2d={} ({}): {:.2f} ms per step\n", v.number, math, ms);
        table += fmt::format("; with conv2d={} {:.2f} ms", v.number, ms);
      }
      set_device_kernel_versions(fmt::format("conv2d={}", default_conv));
      table += torch_step_comparison(args, batch, s2_ms);
    } else {
      fmt::print("  GPU step time: not measured (no GPU; the emulator checks correctness only)\n");
    }
    table += "\n";
    if (args.has("out")) {
      write_file_atomic(args.require("out"), table);
      fmt::print("table written to {}\n", args.require("out"));
    } else if (!backend.emulated) {  // the timings are the point of a GPU run: show them
      fmt::print("\n{}", table);
    }
    fail_on_invalid();
    return 0;
  });
}
