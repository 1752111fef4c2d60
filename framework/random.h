#pragma once
// A small, portable random generator (xoshiro256**, seeded by splitmix64). Its sequences are the
// same on every platform and standard library, so one seed reproduces a run exactly.
#include <array>
#include <cstdint>

namespace s2 {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { seed_with(seed); }
  void seed_with(uint64_t seed);

  uint64_t next_u64();
  // Uniform in [0, 1).
  float uniform();
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n);
  // Standard normal (Box-Muller).
  float normal();

  // The full state, to save a run and resume it exactly.
  std::array<uint64_t, 4> state() const;
  void set_state(const std::array<uint64_t, 4>& state);

 private:
  uint64_t state_[4] = {};
};

// The process-wide generator that initialisers and dropout use unless given another.
Generator& global_generator();
void manual_seed(uint64_t seed);

}  // namespace s2
