// The determinism contract (README, "Determinism"): the GEMM equals its definition bit for bit with
// either instruction set; exp and log are our own and accurate; and a short training of the paper
// network on real data gives the committed weights checksum with 1, 2 or 3 threads, with AVX2 or
// AVX-512.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "data/dataset.h"
#include "data/victoria_csv.h"
#include "framework/checkpoint.h"
#include "framework/ops.h"
#include "framework/optim.h"
#include "framework/random.h"
#include "kernels/cpu/fixed_math.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/isa.h"
#include "models/cbam_crop_net.h"

using namespace s2;

namespace {

// The instruction sets this CPU runs, each selected in turn by f(); the choice is restored after.
template <class F>
void for_each_isa(F&& f) {
  std::vector<std::string> isas{"avx2"};
  if (cpu::cpu_has_avx512()) {
    isas.push_back("avx512");
  } else {
    MESSAGE("this CPU has no AVX-512: only the AVX2 path is checked here");
  }
  const cpu::Isa saved = cpu::active_isa();
  for (const auto& isa : isas) {
    CAPTURE(isa);
    cpu::set_isa(isa);
    f();
  }
  cpu::set_isa(saved == cpu::Isa::Avx512 ? "avx512" : "avx2");
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// exp/log within `ulps` units in the last place of a long double reference.
void check_ulps(double got, long double want, double ulps) {
  const double w = static_cast<double>(want);
  const double ulp = std::nextafter(std::abs(w), INFINITY) - std::abs(w);
  CHECK(std::abs(static_cast<long double>(got) - want) <= static_cast<long double>(ulps * ulp));
}

}  // namespace

TEST_CASE("gemm equals its definition bit for bit, with every instruction set and on edge shapes") {
  struct Shape {
    int64_t m, n, k;
  };
  // Tiles of 6x16 and 8x32, k blocks of 256: shapes around and across every edge.
  const Shape shapes[] = {{1, 1, 1},     {5, 7, 3},      {6, 16, 256}, {8, 32, 257},  {13, 33, 1},
                          {64, 360, 64}, {97, 130, 513}, {256, 5, 64}, {3, 1000, 17}, {7, 15, 0}};
  for (const auto& s : shapes) {
    CAPTURE(s.m);
    CAPTURE(s.n);
    CAPTURE(s.k);
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        for (const bool accumulate : {false, true}) {
          const int64_t lda = (ta ? s.m : s.k) + 3, ldb = (tb ? s.k : s.n) + 5, ldc = s.n + 2;
          const auto a = random_floats(static_cast<size_t>((ta ? s.k : s.m) * lda + 1), 1);
          const auto b = random_floats(static_cast<size_t>((tb ? s.n : s.k) * ldb + 1), 2);
          const auto c0 = random_floats(static_cast<size_t>(s.m * ldc), 3);
          std::vector<float> want = c0;
          cpu::gemm_reference(ta, tb, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, accumulate, want.data(),
                              ldc);
          for_each_isa([&] {
            std::vector<float> got = c0;
            cpu::gemm(ta, tb, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, accumulate, got.data(), ldc);
            CHECK(same_bits(got, want));
          });
        }
      }
    }
  }
}

TEST_CASE("exp and log of our own are within 2 ulp of long double, and handle the special values") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> wide(-700.0, 700.0), unit(-1.0, 1.0);
  for (int i = 0; i < 20000; ++i) {
    const double x = i % 2 ? wide(rng) : unit(rng);
    check_ulps(cpu::exp_f64(x), std::exp(static_cast<long double>(x)), 2.0);
    const double y = std::exp2(wide(rng) / 1.5);
    check_ulps(cpu::log_f64(y), std::log(static_cast<long double>(y)), 2.0);
    const auto xf = static_cast<float>(unit(rng) * 80.0);
    const float ef = cpu::exp_f32(xf);
    const float want_f = static_cast<float>(std::exp(static_cast<long double>(xf)));
    CHECK(std::abs(ef - want_f) <= std::nextafter(want_f, INFINITY) - want_f);
    const double p = (unit(rng) + 1.0) / 2.0;
    CHECK(std::abs(cpu::cos_pi_f64(p) - std::cos(3.14159265358979323846L * p)) <= 4e-16L);
  }
  CHECK(cpu::exp_f64(0.0) == 1.0);
  CHECK(cpu::log_f64(1.0) == 0.0);
  CHECK(cpu::exp_f64(1000.0) == INFINITY);
  CHECK(cpu::exp_f64(-1000.0) == 0.0);
  CHECK(std::isnan(cpu::exp_f64(NAN)));
  CHECK(cpu::log_f64(0.0) == -INFINITY);
  CHECK(std::isnan(cpu::log_f64(-1.0)));
  CHECK(cpu::exp_f32(-104.0f) == 0.0f);  // below float's smallest subnormal
}

namespace {
// Three Adam steps of the paper network (8 Victoria classes) on the first 32 training pixels,
// resampled to 36 dates and standardised: the weights checksum of the result.
std::string golden_training_checksum() {
  data::PixelDataset d =
      data::resample_regular(data::read_pixel_csv(S2_SHARED_DATA "/victoria-2017/train.csv"), 36);
  std::vector<int64_t> first(32);
  for (int64_t i = 0; i < 32; ++i) first[static_cast<size_t>(i)] = i * 12;  // a spread of classes
  d = d.subset(first);
  data::BandNormaliser::fit(d).apply(d);
  manual_seed(1);
  models::CbamCropNetConfig config;
  config.classes = 8;
  models::CbamCropNet net(config);
  optim::Adam adam(net.parameters(), {});
  const Tensor x = Tensor::from_vector({32, 1, 36, 10}, d.values);
  for (int step = 0; step < 3; ++step) {
    adam.zero_grad();
    softmax_cross_entropy(net.forward(x), d.labels).backward();
    adam.step();
  }
  return weights_checksum(net.named_state());
}
}  // namespace

TEST_CASE(
    "golden: a short training of the paper network gives the committed checksum on any thread count and "
    "ISA") {
  // Committed from a run of this test; any change to the numerics of training changes it, on purpose:
  // update it with the reason in the commit message.
  const std::string golden = "74c3e5e5d0dbc880";
  const int saved_threads = omp_get_max_threads();
  for (const int threads : {1, 2, 3}) {
    CAPTURE(threads);
    omp_set_num_threads(threads);
    for_each_isa([&] { CHECK(golden_training_checksum() == golden); });
  }
  omp_set_num_threads(saved_threads);
}
