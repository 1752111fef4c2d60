#include "kernels/cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace s2::cpu {

namespace {
// -1 = not resolved yet, else the Isa value.
std::atomic<int> chosen{-1};

Isa parse(const std::string& name, const char* source) {
  if (name == "avx2") return Isa::Avx2;
  if (name == "avx512") {
    if (!cpu_has_avx512()) {
      throw std::invalid_argument(std::string(source) +
                                  " = avx512, but this CPU (or its OS) does not support AVX-512F");
    }
    return Isa::Avx512;
  }
  if (name == "auto" || name.empty()) return cpu_has_avx512() ? Isa::Avx512 : Isa::Avx2;
  throw std::invalid_argument(std::string(source) + " must be auto, avx2 or avx512, got '" + name + "'");
}
}  // namespace

bool cpu_has_avx512() {
  // AVX-512F in the CPU, and the OS saving the opmask and upper ZMM state (XCR0 bits 5-7).
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) return false;
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xE6u) == 0xE6u;
}

Isa active_isa() {
  int v = chosen.load(std::memory_order_acquire);
  if (v < 0) {
    const char* env = std::getenv("S2CBAM_ISA");
    v = static_cast<int>(parse(env == nullptr ? "auto" : env, "S2CBAM_ISA"));
    chosen.store(v, std::memory_order_release);
  }
  return static_cast<Isa>(v);
}

void set_isa(const std::string& name) {
  chosen.store(static_cast<int>(parse(name, "--isa")), std::memory_order_release);
}

const char* isa_name(Isa isa) {
  return isa == Isa::Avx512 ? "AVX-512" : "AVX2";
}

}  // namespace s2::cpu
