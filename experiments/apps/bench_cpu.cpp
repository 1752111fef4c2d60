// Times a training step (forward, backward, Adam) and inference of the paper network on the CPU,
// runs PyTorch on the same shapes and threads in the same run, and prints the ratios.
//   bench_cpu [--batch 64] [--threads 2] [--steps 10] [--torch-script PATH] [--torch-python PATH]
//             [--quick yes]
// --quick yes times the training step and inference alone (no peak, per-layer, GEMM or PyTorch runs):
// for comparing two builds by alternating them in one sitting, and for profiling with perf record.
#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "experiments/bench/gemm_bench.h"
#include "experiments/bench/paper_training_step.h"
#include "experiments/bench/peak_flops.h"
#include "experiments/bench/torch_baseline.h"
#include "experiments/cli/cli.h"
#include "framework/allocator.h"
#include "framework/autograd.h"
#include "framework/optim.h"
#include "kernels/cpu/conv2d_winograd.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "models/cbam_crop_net.h"

using namespace s2;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double max_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// Forward FLOPs of one sample: every conv and dense layer (the rest is memory-bound and small).
double forward_flops_per_sample(const models::CbamCropNet& net) {
  const auto& c = net.config();
  double flops = 0;
  for (const auto& [name, p] : net.named_parameters()) {
    if (p.ndim() == 4) flops += 2.0 * static_cast<double>(p.numel() * c.timesteps * c.bands);
    if (p.ndim() == 2) flops += 2.0 * static_cast<double>(p.numel());
  }
  return flops;
}

// Times one conv layer's forward and both backward passes at the paper's shapes, per algorithm.
// GFLOP/s counts the direct convolution's FLOPs, so Winograd's figures are effective rates; "% peak"
// is the rate of the multiplies really executed (the harmonic mean of the three passes) against the
// measured peak.
void bench_conv_layers(int64_t batch, double peak_gflops) {
  fmt::print(
      "\nconv layers (batch {}, 36x10), GFLOP/s by the direct-conv FLOP count (% peak: real "
      "multiplies):\n{:<14} {:<9} {:>9} {:>9} "
      "{:>9} {:>8}\n",
      batch, "layer", "algorithm", "forward", "bwd-input", "bwd-weight", "% peak");
  struct Layer {
    const char* name;
    int64_t cin, cout, k;
  };
  const Layer layers[] = {{"3x3 64->64", 64, 64, 3},
                          {"3x3 128->128", 128, 128, 3},
                          {"3x3 128->256", 128, 256, 3},
                          {"3x3 256->256", 256, 256, 3},
                          {"1x1 128->256", 128, 256, 1}};
  for (const auto& l : layers) {
    for (auto algorithm : {ConvAlgorithm::Im2colGemm, ConvAlgorithm::Winograd, ConvAlgorithm::WinogradF4x2}) {
      if (algorithm != ConvAlgorithm::Im2colGemm && l.k != 3) continue;
      Generator g(2);
      Tensor x = Tensor::empty({batch, l.cin, 36, 10}), w = Tensor::empty({l.cout, l.cin, l.k, l.k});
      for (Tensor* t : {&x, &w})
        for (int64_t i = 0; i < t->numel(); ++i) t->data()[i] = g.normal();
      x.set_requires_grad(true);
      w.set_requires_grad(true);
      const Conv2dOptions options{.algorithm = algorithm};
      const double flops = conv2d_geometry(x.shape(), w.shape(), options).forward_flops();
      Tensor y, dy = Tensor::full({batch, l.cout, 36, 10}, 0.01f);
      auto rate = [&](auto&& fn) {
        fn();
        const auto t = Clock::now();
        for (int i = 0; i < 5; ++i) fn();
        return flops * 5 / seconds_since(t) / 1e9;
      };
      const double forward = rate([&] {
        NoGradGuard ng;
        y = conv2d(x, w, Tensor(), options);
      });
      // Backward of one conv: both input and weight gradients, split by timing the weight-only case.
      const double both = rate([&] {
        x.zero_grad();
        w.zero_grad();
        conv2d(x, w, Tensor(), options).backward(dy);
      });
      Tensor xc = x.detach();
      const double weight_only = rate([&] {
        w.zero_grad();
        conv2d(xc, w, Tensor(), options).backward(dy);
      });
      // Each rate includes one forward; remove it to isolate the backward passes.
      const double t_fwd = 1 / forward, t_both = 1 / both - t_fwd, t_w = 1 / weight_only - t_fwd;
      const double bwd_in = 1 / std::max(t_both - t_w, 1e-9), bwd_w = 1 / std::max(t_w, 1e-9);
      // The rate of real multiplies: Winograd's GEMMs do fewer than the direct count, by the ratio of
      // direct products to transformed points (backward-weight is F(2x2) for either Winograd).
      const auto geometry = conv2d_geometry(x.shape(), w.shape(), options);
      auto direct_per_transformed = [&](cpu::WinogradTile tile) {
        return static_cast<double>(9 * geometry.out_pixels()) /
               static_cast<double>(tile.tiles_over(geometry) * tile.points());
      };
      double real_fwd = forward, real_in = bwd_in, real_w = bwd_w;
      if (algorithm != ConvAlgorithm::Im2colGemm) {
        const cpu::WinogradTile tile =
            algorithm == ConvAlgorithm::Winograd ? cpu::kWinogradF2x2 : cpu::winograd_tile_f4x2(geometry);
        real_fwd /= direct_per_transformed(tile);
        real_in /= direct_per_transformed(tile);
        real_w /= direct_per_transformed(cpu::kWinogradF2x2);
      }
      const double mean = 3.0 / (1.0 / real_fwd + 1.0 / real_in + 1.0 / real_w);
      const char* label = algorithm == ConvAlgorithm::Im2colGemm ? "im2col"
                          : algorithm == ConvAlgorithm::Winograd ? "wino-2x2"
                                                                 : "wino-4x2";
      fmt::print("{:<14} {:<9} {:>9.1f} {:>9.1f} {:>9.1f} {:>7.1f}%\n", l.name, label, forward, bwd_in, bwd_w,
                 100.0 * mean / peak_gflops);
    }
  }
}
}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv,
                           {"batch", "threads", "steps", "torch-script", "torch-python", "quick"});
    const int64_t batch = args.get_int("batch", 64);
    const int threads = experiments::apply_threads_option(args, 2);
    const int steps = static_cast<int>(args.get_int("steps", 10));
    const std::string script = args.get("torch-script", S2_SOURCE_DIR "/../shared/bench/torch_cbam_ref.py");

    const bool quick = args.get_yes_no("quick", false);
    const auto peak = quick ? experiments::PeakFlops{} : experiments::measure_peak_flops(threads);
    if (!quick) {
      fmt::print("machine peak (measured, {}): {:.1f} GFLOP/s on {} threads\n", peak.isa, peak.gflops_total,
                 threads);
    }

    experiments::PaperTrainingStep step(batch);
    models::CbamCropNet& net = step.net();
    Generator& g = step.generator();
    const double fwd_flops = forward_flops_per_sample(net);
    fmt::print("paper network: {} parameters, {:.3f} GFLOP forward per sample\n", net.num_parameters(),
               fwd_flops / 1e9);
    auto train_step = [&] { step.run(); };
    for (int i = 0; i < 3; ++i) train_step();
    CachingAllocator::host().reset_peak();
    const auto allocs_before = CachingAllocator::host().stats().system_allocs;
    auto t = Clock::now();
    for (int i = 0; i < steps; ++i) train_step();
    const double train_rate = static_cast<double>(batch * steps) / seconds_since(t);
    const auto stats = CachingAllocator::host().stats();
    const double train_rss = max_rss_mib();
    CachingAllocator::host().empty_cache();

    net.eval();
    Tensor xi = Tensor::empty({256, 1, 36, 10});
    for (int64_t i = 0; i < xi.numel(); ++i) xi.data()[i] = g.normal();
    double infer_rate = 0;
    {
      NoGradGuard no_grad;
      net.forward(xi);
      t = Clock::now();
      for (int i = 0; i < 5; ++i) net.forward(xi);
      infer_rate = 256.0 * 5 / seconds_since(t);
    }
    const double train_gflops = train_rate * 3 * fwd_flops / 1e9, infer_gflops = infer_rate * fwd_flops / 1e9;
    // Effective rates: the direct-conv FLOP count over the time, although Winograd executes fewer FLOPs.
    fmt::print(
        "\ns2cbam  train {:8.1f} samples/s ({:6.1f} effective GFLOP/s)  infer {:8.1f} samples/s "
        "({:6.1f} effective GFLOP/s)\n",
        train_rate, train_gflops, infer_rate, infer_gflops);
    fmt::print(
        "s2cbam  memory: {:.1f} MiB peak tensor memory in a training step; max RSS {:.1f} MiB after "
        "training, {:.1f} MiB after inference too; {} system allocations during {} timed steps\n",
        static_cast<double>(stats.peak_bytes_in_use) / 1048576.0, train_rss, max_rss_mib(),
        stats.system_allocs - allocs_before, steps);

    if (quick) return 0;
    bench_conv_layers(batch, peak.gflops_total);
    experiments::bench_gemm_shapes(peak.gflops_total / threads);

    // The baselines: current PyTorch from PyPI (scripts/install-torch.sh's environment, or --torch-python)
    // and Debian's python3-torch, each where present, in the same run.
    const char* home = std::getenv("HOME");
    const char* venv = std::getenv("S2CBAM_TORCH_VENV");
    const std::string pypi =
        args.get("torch-python", venv != nullptr ? std::string(venv) + "/bin/python"
                                                 : std::string(home != nullptr ? home : "") +
                                                       "/.cache/s2cbam/torch-venv/bin/python");
    for (const auto& [label, python] :
         {std::pair<std::string, std::string>{"PyPI", pypi}, {"Debian", "/usr/bin/python3"}}) {
      const experiments::TorchRun torch = experiments::run_torch_script(
          python, script, {std::to_string(batch), std::to_string(threads)}, "samples/s");
      const auto train = torch.figure("train"), infer = torch.figure("infer");
      if (!torch.error.empty() || !train || !infer) {
        fmt::print("\nPyTorch baseline ({}) unavailable: {}\n", label,
                   torch.error.empty() ? "no train/infer figures in: " + torch.output : torch.error);
        continue;
      }
      fmt::print("\npytorch {} ({}): train {:8.1f} samples/s  infer {:8.1f} samples/s  max RSS {:.1f} MiB\n",
                 torch.version, label, *train, *infer, torch.max_rss_mib);
      fmt::print("ratio (s2cbam / pytorch {}): train {:.2f}x  infer {:.2f}x\n", torch.version,
                 train_rate / *train, infer_rate / *infer);
    }
    return 0;
  });
}
