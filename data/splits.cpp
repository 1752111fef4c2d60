#include "data/splits.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

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

std::vector<Split> leave_one_group_out(const std::vector<int64_t>& groups) {
  const std::set<int64_t> ids(groups.begin(), groups.end());
  S2_CHECK(ids.size() >= 2, "leave-one-group-out needs at least 2 groups, got {}", ids.size());
  std::vector<Split> folds;
  for (const int64_t id : ids) {
    Split s;
    for (size_t i = 0; i < groups.size(); ++i)
      (groups[i] == id ? s.held_out : s.train).push_back(static_cast<int64_t>(i));
    folds.push_back(std::move(s));
  }
  return folds;
}

namespace {
double great_circle_metres(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRadius = 6371008.8, kRad = 3.14159265358979323846 / 180;  // WGS84 mean radius
  const double a =
      std::pow(std::sin((lat2 - lat1) * kRad / 2), 2) +
      std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::pow(std::sin((lon2 - lon1) * kRad / 2), 2);
  return 2 * kRadius * std::asin(std::min(1.0, std::sqrt(a)));
}

int64_t find_root(std::vector<int64_t>& parent, int64_t i) {
  while (parent[static_cast<size_t>(i)] != i) {
    parent[static_cast<size_t>(i)] = parent[static_cast<size_t>(parent[static_cast<size_t>(i)])];
    i = parent[static_cast<size_t>(i)];
  }
  return i;
}
}  // namespace

std::vector<int64_t> join_nearby_groups(const std::vector<int64_t>& groups, const std::vector<double>& lats,
                                        const std::vector<double>& lons, double metres) {
  S2_CHECK(lats.size() == groups.size() && lons.size() == groups.size(),
           "joining nearby samples needs coordinates for all {} samples, got {}", groups.size(), lats.size());
  S2_CHECK(metres > 0, "the joining distance must be positive, got {} m", metres);
  const auto n = static_cast<int64_t>(groups.size());
  std::vector<int64_t> parent(static_cast<size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  const auto join = [&](int64_t a, int64_t b) {
    a = find_root(parent, a), b = find_root(parent, b);
    if (a != b) parent[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
  };
  std::map<int64_t, int64_t> first_of_group;  // samples of one given group stay together
  for (int64_t i = 0; i < n; ++i) {
    const auto [at, fresh] = first_of_group.emplace(groups[static_cast<size_t>(i)], i);
    if (!fresh) join(at->second, i);
  }
  // Cells of `metres` in latitude, and in longitude at the row's highest latitude (where a degree of
  // longitude is shortest): two samples closer than `metres` lie in the same or adjacent cells, the
  // neighbour row's cells found by its own scale. (Not across the antimeridian.)
  constexpr double kRad = 3.14159265358979323846 / 180;
  const double cell_deg = metres / 111195.0;
  const auto row_of = [&](double lat) { return static_cast<int64_t>(std::floor(lat / cell_deg)); };
  const auto column_of = [&](double lon, int64_t row) {
    const auto edge = static_cast<double>(row);
    const double top = std::min(89.99, std::max(std::abs(edge * cell_deg), std::abs((edge + 1) * cell_deg)));
    return static_cast<int64_t>(std::floor(lon * std::max(std::cos(top * kRad), 1e-4) / cell_deg));
  };
  std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> cells;
  for (int64_t i = 0; i < n; ++i) {
    const auto u = static_cast<size_t>(i);
    const int64_t row = row_of(lats[u]);
    cells[{row, column_of(lons[u], row)}].push_back(i);
  }
  for (int64_t i = 0; i < n; ++i) {
    const auto u = static_cast<size_t>(i);
    for (int64_t row = row_of(lats[u]) - 1; row <= row_of(lats[u]) + 1; ++row) {
      const int64_t column = column_of(lons[u], row);
      for (int64_t c = column - 1; c <= column + 1; ++c) {
        const auto found = cells.find({row, c});
        if (found == cells.end()) continue;
        for (const int64_t j : found->second) {
          const auto v = static_cast<size_t>(j);
          if (j > i && great_circle_metres(lats[u], lons[u], lats[v], lons[v]) < metres) join(i, j);
        }
      }
    }
  }
  std::vector<int64_t> smallest(static_cast<size_t>(n), std::numeric_limits<int64_t>::max());
  for (int64_t i = 0; i < n; ++i) {
    int64_t& s = smallest[static_cast<size_t>(find_root(parent, i))];
    s = std::min(s, groups[static_cast<size_t>(i)]);
  }
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(smallest[static_cast<size_t>(find_root(parent, i))]);
  return out;
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
