// Times a training step (forward, backward, Adam) and inference of the paper network on the CPU,
// runs PyTorch on the same shapes and threads in the same run, and prints the ratios.
//   bench_cpu [--batch 64] [--threads 2] [--steps 10] [--torch-script PATH]
#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "experiments/cli.h"
#include "experiments/peak_flops.h"
#include "framework/allocator.h"
#include "framework/autograd.h"
#include "framework/optim.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/gemm.h"
#include "models/cbam_crop_net.h"

using namespace s2;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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

struct TorchResult {
  double train = 0, infer = 0, max_rss_mib = 0;
  std::string error;
};

TorchResult run_torch(const std::string& script, int64_t batch, int threads) {
  TorchResult r;
  if (!std::filesystem::exists(script)) {
    r.error = fmt::format("baseline script {} not found", script);
    return r;
  }
  // The script prints throughput; the wrapper adds its peak resident memory.
  const std::string wrapper = fmt::format(
      "import runpy, sys, resource; sys.argv = ['{0}', '{1}', '{2}']; runpy.run_path('{0}', run_name='__main__'); "
      "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
      script, batch, threads);
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    const std::string cmd = fmt::format("{} -c \"{}\" 2>&1", python, wrapper);
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) continue;
    std::string out;
    char buf[512];
    while (fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
    pclose(pipe);
    std::smatch m;
    if (std::regex_search(out, m, std::regex(R"(train ([\d.]+) samples/s\s+infer ([\d.]+) samples/s)"))) {
      r.train = std::stod(m[1]);
      r.infer = std::stod(m[2]);
      if (std::regex_search(out, m, std::regex(R"(maxrss_kb (\d+))"))) r.max_rss_mib = std::stod(m[1]) / 1024.0;
      r.error.clear();
      return r;
    }
    r.error = out.substr(0, 300);
  }
  r.error = "PyTorch not importable (apt-get install python3-torch): " + r.error;
  return r;
}

// Times one conv layer's forward and both backward passes at the paper's shapes.
void bench_conv_layers(int64_t batch, double peak_gflops) {
  fmt::print("\nconv layers (batch {}, 36x10):\n{:<22} {:>10} {:>10} {:>10} {:>8}\n", batch, "layer", "fwd GF/s",
             "bwd-in GF/s", "bwd-w GF/s", "% peak");
  struct Layer { const char* name; int64_t cin, cout, k; };
  const Layer layers[] = {{"3x3 64->64", 64, 64, 3}, {"3x3 128->128", 128, 128, 3}, {"3x3 128->256", 128, 256, 3},
                          {"3x3 256->256", 256, 256, 3}, {"1x1 128->256", 128, 256, 1}};
  const int threads = cpu::max_threads();
  for (const auto& l : layers) {
    Conv2dGeometry g{batch, l.cin, 36, 10, l.cout, l.k, l.k, 1, 1, l.k / 2, l.k / 2, 36, 10};
    Tensor x = Tensor::full({batch, l.cin, 36, 10}, 0.5f), w = Tensor::full({l.cout, l.cin, l.k, l.k}, 0.01f);
    Tensor y = Tensor::empty({batch, l.cout, 36, 10}), dw = Tensor::empty(w.shape());
    Tensor ws = Tensor::empty({static_cast<int64_t>(std::max({cpu::conv2d_forward_workspace(g, threads),
                                                              cpu::conv2d_backward_input_workspace(g, threads),
                                                              cpu::conv2d_backward_weight_workspace(g, threads)})) +
                               1});
    auto time_it = [&](auto&& fn) {
      fn();
      const auto t = Clock::now();
      for (int i = 0; i < 5; ++i) fn();
      return g.forward_flops() * 5 / seconds_since(t) / 1e9;
    };
    const double f = time_it([&] { cpu::conv2d_forward(g, x.data(), w.data(), nullptr, y.data(), ws.data()); });
    const double bi = time_it([&] { cpu::conv2d_backward_input(g, w.data(), y.data(), x.data(), ws.data()); });
    const double bw = time_it([&] { cpu::conv2d_backward_weight(g, x.data(), y.data(), dw.data(), nullptr, ws.data()); });
    const double mean = 3.0 / (1.0 / f + 1.0 / bi + 1.0 / bw);
    fmt::print("{:<22} {:>10.1f} {:>10.1f} {:>10.1f} {:>7.1f}%\n", l.name, f, bi, bw, 100.0 * mean / peak_gflops);
  }
}
}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"batch", "threads", "steps", "torch-script"});
    const int64_t batch = args.get_int("batch", 64);
    const int threads = static_cast<int>(args.get_int("threads", 2));
    const int steps = static_cast<int>(args.get_int("steps", 10));
    const std::string script = args.get("torch-script", S2_SOURCE_DIR "/../shared/bench/torch_cbam_ref.py");
    omp_set_num_threads(threads);
    cpu::init_threading();

    const auto peak = experiments::measure_peak_flops(threads);
    fmt::print("machine peak (measured, {}): {:.1f} GFLOP/s on {} threads\n", peak.isa, peak.gflops_total, threads);

    manual_seed(0);
    models::CbamCropNet net({});
    const double fwd_flops = forward_flops_per_sample(net);
    fmt::print("paper network: {} parameters, {:.3f} GFLOP forward per sample\n", net.num_parameters(), fwd_flops / 1e9);
    optim::Adam adam(net.parameters(), {});
    Tensor x = Tensor::empty({batch, 1, 36, 10});
    Generator g(1);
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = g.normal();
    std::vector<int32_t> labels;
    for (int64_t i = 0; i < batch; ++i) labels.push_back(static_cast<int32_t>(g.below(5)));
    auto train_step = [&] {
      adam.zero_grad();
      Tensor loss = softmax_cross_entropy(net.forward(x), labels);
      loss.backward();
      adam.step();
    };
    for (int i = 0; i < 3; ++i) train_step();
    CachingAllocator::host().reset_peak();
    const auto allocs_before = CachingAllocator::host().stats().system_allocs;
    auto t = Clock::now();
    for (int i = 0; i < steps; ++i) train_step();
    const double train_rate = static_cast<double>(batch * steps) / seconds_since(t);
    const auto stats = CachingAllocator::host().stats();

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
    fmt::print("\ns2cbam  train {:8.1f} samples/s ({:6.1f} GFLOP/s, {:4.1f}% of peak)  infer {:8.1f} samples/s "
               "({:6.1f} GFLOP/s, {:4.1f}% of peak)\n",
               train_rate, train_gflops, 100 * train_gflops / peak.gflops_total, infer_rate, infer_gflops,
               100 * infer_gflops / peak.gflops_total);
    fmt::print("s2cbam  memory: {:.1f} MiB peak tensor memory in a training step, {:.1f} MiB max RSS; "
               "{} system allocations during {} timed steps\n",
               static_cast<double>(stats.peak_bytes_in_use) / 1048576.0, max_rss_mib(),
               stats.system_allocs - allocs_before, steps);

    bench_conv_layers(batch, peak.gflops_total);

    const TorchResult torch = run_torch(script, batch, threads);
    if (!torch.error.empty()) {
      fmt::print("\nPyTorch baseline unavailable: {}\n", torch.error);
      return 0;
    }
    fmt::print("\npytorch train {:8.1f} samples/s  infer {:8.1f} samples/s  max RSS {:.1f} MiB\n", torch.train,
               torch.infer, torch.max_rss_mib);
    fmt::print("ratio (s2cbam / pytorch): train {:.2f}x  infer {:.2f}x  (target >= 1.25x)\n", train_rate / torch.train,
               infer_rate / torch.infer);
    return 0;
  });
}
