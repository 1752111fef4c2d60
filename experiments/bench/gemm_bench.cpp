#include "experiments/bench/gemm_bench.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/isa.h"

#if defined(S2_HAVE_OPENBLAS)
#include <cblas.h>
#endif

namespace s2::experiments {

namespace {
struct GemmShape {
  std::string layer;
  bool trans_a, trans_b;
  int64_t m, n, k;
};

// Seconds per call, best of 3 rounds of enough calls for ~50 ms each.
template <class F>
double seconds_per_call(F&& call) {
  using Clock = std::chrono::steady_clock;
  call();
  const auto t0 = Clock::now();
  call();
  const double once = std::chrono::duration<double>(Clock::now() - t0).count();
  const int reps = std::max(1, static_cast<int>(0.05 / std::max(once, 1e-7)));
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    const auto t = Clock::now();
    for (int i = 0; i < reps; ++i) call();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t).count() / reps);
  }
  return best;
}
}  // namespace

void bench_gemm_shapes(double peak_gflops_per_thread) {
  // One Winograd chunk is 4 samples x 90 tiles = 360 columns; an im2col sample is 360 pixels.
  std::vector<GemmShape> shapes;
  for (const int64_t c : {64, 128, 256}) {
    const int64_t cin = c == 64 ? 64 : c / 2;
    const std::string name = fmt::format("3x3 {}->{}", cin, c);
    shapes.push_back({name + " winograd fwd", false, false, c, 360, cin});
    shapes.push_back({name + " winograd dU", false, true, c, cin, 360});
    shapes.push_back({name + " im2col fwd", false, false, c, 360, 9 * cin});
    shapes.push_back({name + " im2col dx", true, false, 9 * cin, 360, c});
    shapes.push_back({name + " im2col dw", false, true, c, std::min<int64_t>(9 * cin, 256), 360});
  }
  shapes.push_back({"1x1 128->256 fwd", false, false, 256, 360, 128});
  fmt::print(
      "\nGEMM on the layers' shapes, one thread ({}), GFLOP/s:\n{:<28} {:>16} {:>9} {:>9} {:>8} {:>7}\n",
      cpu::isa_name(cpu::active_isa()), "layer", "m x n x k", "s2cbam", "OpenBLAS", "ratio", "% peak");
#if defined(S2_HAVE_OPENBLAS)
  openblas_set_num_threads(1);  // one thread, as the conv kernels call the GEMM
#endif
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  double sum_ratio = 0;
  int counted = 0;
  for (const auto& s : shapes) {
    std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n)),
        c(static_cast<size_t>(s.m * s.n));
    for (float& v : a) v = dist(rng);
    for (float& v : b) v = dist(rng);
    const int64_t lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n;
    const double flops = 2.0 * static_cast<double>(s.m * s.n * s.k);
    const double ours =
        flops / seconds_per_call([&] {
          cpu::gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, false, c.data(), s.n);
        }) /
        1e9;
    std::string blas = "-", ratio = "-";
#if defined(S2_HAVE_OPENBLAS)
    const double theirs = flops / seconds_per_call([&] {
                            cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
                                        s.trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(s.m),
                                        static_cast<blasint>(s.n), static_cast<blasint>(s.k), 1.0f, a.data(),
                                        static_cast<blasint>(lda), b.data(), static_cast<blasint>(ldb), 0.0f,
                                        c.data(), static_cast<blasint>(s.n));
                          }) /
                          1e9;
    blas = fmt::format("{:.1f}", theirs);
    ratio = fmt::format("{:.2f}x", ours / theirs);
    sum_ratio += ours / theirs;
    ++counted;
#endif
    fmt::print("{:<28} {:>16} {:>9.1f} {:>9} {:>8} {:>6.1f}%\n", s.layer,
               fmt::format("{}x{}x{}", s.m, s.n, s.k), ours, blas, ratio,
               100.0 * ours / peak_gflops_per_thread);
  }
  if (counted > 0) {
    fmt::print("mean ratio s2cbam / OpenBLAS over these shapes: {:.2f}x\n", sum_ratio / counted);
  } else {
    fmt::print("(OpenBLAS not found at configure time: no comparison; install libopenblas-dev)\n");
  }
}

}  // namespace s2::experiments
