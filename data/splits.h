#pragma once
// Splits that keep correlated samples apart: every group (parcel, polygon) lands on one side only.
#include <cstdint>
#include <vector>

#include "framework/random.h"

namespace s2::data {

struct Split {
  std::vector<int64_t> train, held_out;
};

// Assigns whole groups to the held-out side, stratified by each group's majority class, until about
// `fraction` of each class's samples is held out. Deterministic for a seed.
Split grouped_split(const std::vector<int64_t>& groups, const std::vector<int32_t>& labels, double fraction,
                    uint64_t seed);

}  // namespace s2::data
