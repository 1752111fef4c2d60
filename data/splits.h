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

// k folds of whole groups, each class's groups dealt round-robin in a seeded order so that every fold
// gets groups of every class that has at least k of them.
std::vector<Split> grouped_kfold(const std::vector<int64_t>& groups, const std::vector<int32_t>& labels,
                                 int64_t k, uint64_t seed);

// One split per distinct group id (ascending), holding out that group alone: for testing on regions a
// model never saw.
std::vector<Split> leave_one_group_out(const std::vector<int64_t>& groups);

// The groups with every two samples closer than `metres` (great-circle distance on the WGS84 mean
// radius) joined: points sampled from one field then never straddle a split. A joined group takes the
// smallest id among its members'. Linear time: only neighbouring cells of a `metres` grid are compared.
std::vector<int64_t> join_nearby_groups(const std::vector<int64_t>& groups, const std::vector<double>& lats,
                                        const std::vector<double>& lons, double metres);

// Group ids of square spatial blocks of `block_size` pixels, for spatial-block splits.
std::vector<int64_t> block_groups(const std::vector<int32_t>& xs, const std::vector<int32_t>& ys,
                                  int64_t block_size);

// At most `max_per_group` randomly chosen members of each group (0 = keep all), in index order.
std::vector<int64_t> cap_per_group(const std::vector<int64_t>& indices, const std::vector<int64_t>& groups,
                                   int64_t max_per_group, uint64_t seed);

}  // namespace s2::data
