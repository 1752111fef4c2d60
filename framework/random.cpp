#include "framework/random.h"

#include <cmath>

#include "kernels/cpu/fixed_math.h"

namespace s2 {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

void Generator::seed_with(uint64_t seed) {
  for (auto& s : state_) {
    s = splitmix64(seed);
  }
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

float Generator::uniform() {
  return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f;
}

uint64_t Generator::below(uint64_t n) {
  // Rejection keeps the result unbiased for any n.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = next_u64();
  while (x >= limit) {
    x = next_u64();
  }
  return x % n;
}

// Marsaglia's polar method: only sqrt (exact in IEEE arithmetic) and our own log, so the same seed
// gives the same draws on every machine (no libm cos or log).
float Generator::normal() {
  for (;;) {
    const double u = static_cast<double>(next_u64() >> 11) * 0x1.0p-52 - 1.0;  // [-1, 1)
    const double v = static_cast<double>(next_u64() >> 11) * 0x1.0p-52 - 1.0;
    const double s = u * u + v * v;
    if (s > 0.0 && s < 1.0) return static_cast<float>(u * std::sqrt(-2.0 * cpu::log_f64(s) / s));
  }
}

std::array<uint64_t, 4> Generator::state() const {
  return {state_[0], state_[1], state_[2], state_[3]};
}

void Generator::set_state(const std::array<uint64_t, 4>& state) {
  for (size_t i = 0; i < 4; ++i) state_[i] = state[i];
}

Generator& global_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) {
  global_generator().seed_with(seed);
}

}  // namespace s2
