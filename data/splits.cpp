#include "data/splits.h"

#include <algorithm>
#include <map>

#include "data/dataset.h"
#include "framework/error.h"

namespace s2::data {

Split grouped_split(const std::vector<int64_t>& groups, const std::vector<int32_t>& labels, double fraction,
                    uint64_t seed) {
  S2_CHECK(groups.size() == labels.size(), "grouped split: {} groups for {} labels", groups.size(), labels.size());
  S2_CHECK(fraction > 0.0 && fraction < 1.0, "grouped split: fraction {} must be in (0, 1)", fraction);
  std::map<int64_t, std::vector<int64_t>> members;
  for (size_t i = 0; i < groups.size(); ++i) members[groups[i]].push_back(static_cast<int64_t>(i));
  // Each group joins the stratum of its most frequent class.
  std::map<int32_t, std::vector<int64_t>> groups_by_class;
  std::map<int32_t, int64_t> class_size;
  for (const auto& [group, idx] : members) {
    std::map<int32_t, int64_t> votes;
    for (int64_t i : idx) ++votes[labels[static_cast<size_t>(i)]];
    const int32_t major =
        std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
    groups_by_class[major].push_back(group);
    class_size[major] += static_cast<int64_t>(idx.size());
  }
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
  for (size_t i = 0; i < groups.size(); ++i) (held[i] ? s.held_out : s.train).push_back(static_cast<int64_t>(i));
  return s;
}

}  // namespace s2::data
