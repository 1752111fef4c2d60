#include "data/splits.h"

#include <algorithm>
#include <map>

#include "data/dataset.h"
#include "framework/error.h"

namespace s2::data {

namespace {
// Members of each group, and the groups of each class (by the group's most frequent class).
struct GroupIndex {
  std::map<int64_t, std::vector<int64_t>> members;
  std::map<int32_t, std::vector<int64_t>> groups_by_class;
  std::map<int32_t, int64_t> class_size;
};

GroupIndex index_groups(const std::vector<int64_t>& groups, const std::vector<int32_t>& labels) {
  S2_CHECK(groups.size() == labels.size(), "grouped split: {} groups for {} labels", groups.size(),
           labels.size());
  GroupIndex gi;
  for (size_t i = 0; i < groups.size(); ++i) gi.members[groups[i]].push_back(static_cast<int64_t>(i));
  for (const auto& [group, idx] : gi.members) {
    std::map<int32_t, int64_t> votes;
    for (int64_t i : idx) ++votes[labels[static_cast<size_t>(i)]];
    const int32_t major = std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) {
                            return a.second < b.second;
                          })->first;
    gi.groups_by_class[major].push_back(group);
    gi.class_size[major] += static_cast<int64_t>(idx.size());
  }
  return gi;
}
}  // namespace

Split grouped_split(const std::vector<int64_t>& groups, const std::vector<int32_t>& labels, double fraction,
                    uint64_t seed) {
  S2_CHECK(fraction > 0.0 && fraction < 1.0, "grouped split: fraction {} must be in (0, 1)", fraction);
  auto [members, groups_by_class, class_size] = index_groups(groups, labels);
  Generator generator(seed);
  std::vector<bool> held(groups.size(), false);
  for (auto& [cls, gs] : groups_by_class) {
    const auto order = shuffled_indices(static_cast<int64_t>(gs.size()), generator);
    const double target = fraction * static_cast<double>(class_size[cls]);
    int64_t taken = 0;
    // Keep at least one group of the class for training.
    for (size_t k = 0; k + 1 < order.size() && static_cast<double>(taken) < target; ++k) {
      for (int64_t i : members[gs[static_cast<size_t>(order[k])]]) {
        held[static_cast<size_t>(i)] = true;
        ++taken;
      }
    }
  }
  Split s;
  for (size_t i = 0; i < groups.size(); ++i)
    (held[i] ? s.held_out : s.train).push_back(static_cast<int64_t>(i));
  return s;
}

std::vector<Split> grouped_kfold(const std::vector<int64_t>& groups, const std::vector<int32_t>& labels,
                                 int64_t k, uint64_t seed) {
  S2_CHECK(k >= 2, "grouped k-fold needs k >= 2, got {}", k);
  const auto [members, groups_by_class, class_size] = index_groups(groups, labels);
  Generator generator(seed);
  std::map<int64_t, int64_t> fold_of_group;
  int64_t offset = 0;  // continue the round-robin across classes so folds stay balanced in size
  for (const auto& [cls, gs] : groups_by_class) {
    const auto order = shuffled_indices(static_cast<int64_t>(gs.size()), generator);
    for (size_t j = 0; j < order.size(); ++j) {
      fold_of_group[gs[static_cast<size_t>(order[j])]] = (offset + static_cast<int64_t>(j)) % k;
    }
    offset += static_cast<int64_t>(gs.size());
  }
  std::vector<Split> folds(static_cast<size_t>(k));
  for (size_t i = 0; i < groups.size(); ++i) {
    const int64_t f = fold_of_group.at(groups[i]);
    for (int64_t j = 0; j < k; ++j) {
      (j == f ? folds[static_cast<size_t>(j)].held_out : folds[static_cast<size_t>(j)].train)
          .push_back(static_cast<int64_t>(i));
    }
  }
  return folds;
}

std::vector<int64_t> block_groups(const std::vector<int32_t>& xs, const std::vector<int32_t>& ys,
                                  int64_t block_size) {
  S2_CHECK(block_size > 0, "block size must be positive, got {}", block_size);
  S2_CHECK(!xs.empty() && xs.size() == ys.size(),
           "spatial blocks need pixel positions (raster data), got none");
  std::vector<int64_t> out;
  for (size_t i = 0; i < xs.size(); ++i) out.push_back((ys[i] / block_size) * 1'000'000 + xs[i] / block_size);
  return out;
}

std::vector<int64_t> cap_per_group(const std::vector<int64_t>& indices, const std::vector<int64_t>& groups,
                                   int64_t max_per_group, uint64_t seed) {
  if (max_per_group <= 0) return indices;
  std::map<int64_t, std::vector<int64_t>> by_group;
  for (int64_t i : indices) by_group[groups[static_cast<size_t>(i)]].push_back(i);
  Generator generator(seed);
  std::vector<int64_t> out;
  for (auto& [group, members] : by_group) {
    const auto order = shuffled_indices(static_cast<int64_t>(members.size()), generator);
    for (int64_t j = 0; j < std::min<int64_t>(max_per_group, static_cast<int64_t>(members.size())); ++j) {
      out.push_back(members[static_cast<size_t>(order[static_cast<size_t>(j)])]);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace s2::data
