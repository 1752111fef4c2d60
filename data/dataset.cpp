#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "data/gap_filling.h"
#include "framework/error.h"

namespace s2::data {

PixelDataset PixelDataset::subset(const std::vector<int64_t>& indices) const {
  PixelDataset out;
  out.timesteps = timesteps, out.bands = bands, out.class_names = class_names, out.source = source;
  out.group_names = group_names;
  const int64_t per = timesteps * bands;
  out.values.reserve(indices.size() * static_cast<size_t>(per));
  for (int64_t i : indices) {
    S2_CHECK(i >= 0 && i < size(), "subset index {} outside dataset of {} samples", i, size());
    out.values.insert(out.values.end(), sample(i), sample(i) + per);
    out.append_sample_info(*this, i);
  }
  return out;
}

void PixelDataset::append_sample_info(const PixelDataset& from, int64_t i) {
  const auto u = static_cast<size_t>(i);
  if (!from.labels.empty()) labels.push_back(from.labels[u]);
  if (!from.groups.empty()) groups.push_back(from.groups[u]);
  if (!from.xs.empty()) xs.push_back(from.xs[u]), ys.push_back(from.ys[u]);
  if (!from.lats.empty()) lats.push_back(from.lats[u]), lons.push_back(from.lons[u]);
}

std::vector<int64_t> PixelDataset::class_counts() const {
  std::vector<int64_t> counts(class_names.size(), 0);
  for (int32_t l : labels) {
    ++counts[static_cast<size_t>(l)];
  }
  return counts;
}

PixelDataset filter_classes(const PixelDataset& d, int64_t min_pixels, int64_t min_groups,
                            std::vector<std::string>* dropped) {
  std::vector<std::set<int64_t>> groups(d.class_names.size());
  for (size_t i = 0; i < d.labels.size(); ++i) groups[static_cast<size_t>(d.labels[i])].insert(d.groups[i]);
  const auto counts = d.class_counts();
  std::vector<int32_t> new_index(d.class_names.size(), -1);
  std::vector<std::string> names;
  for (size_t c = 0; c < d.class_names.size(); ++c) {
    if (counts[c] >= std::max<int64_t>(min_pixels, 1) &&
        static_cast<int64_t>(groups[c].size()) >= min_groups) {
      new_index[c] = static_cast<int32_t>(names.size());
      names.push_back(d.class_names[c]);
    } else if (dropped != nullptr) {
      dropped->push_back(d.class_names[c]);
    }
  }
  S2_CHECK(names.size() >= 2, "'{}': fewer than 2 classes have {} pixels in {} parcels", d.source, min_pixels,
           min_groups);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < d.size(); ++i) {
    if (new_index[static_cast<size_t>(d.labels[static_cast<size_t>(i)])] >= 0) keep.push_back(i);
  }
  PixelDataset out = d.subset(keep);
  for (auto& l : out.labels) l = new_index[static_cast<size_t>(l)];
  out.class_names = names;
  return out;
}

PixelDataset resample_regular(const PixelDataset& d, int64_t steps) {
  S2_CHECK(steps >= 2 && d.timesteps >= 2, "resample: need at least 2 dates, got {} -> {}", d.timesteps,
           steps);
  return fill_gaps(d, {.days = {}, .steps = steps, .min_clear = 1});
}

BandNormaliser BandNormaliser::fit(const PixelDataset& train) {
  S2_CHECK(train.size() > 0, "cannot fit normalisation statistics on an empty split of '{}'", train.source);
  const auto b = static_cast<size_t>(train.bands);
  std::vector<double> sum(b, 0.0), sq(b, 0.0);
  const auto n = static_cast<double>(train.size() * train.timesteps);
  for (size_t k = 0; k < train.values.size(); ++k) {
    sum[k % b] += train.values[k];
  }
  BandNormaliser out;
  for (size_t j = 0; j < b; ++j) {
    out.mean.push_back(static_cast<float>(sum[j] / n));
  }
  for (size_t k = 0; k < train.values.size(); ++k) {
    const double dv = train.values[k] - out.mean[k % b];
    sq[k % b] += dv * dv;
  }
  for (size_t j = 0; j < b; ++j) {
    // A constant band would divide by zero; leave it centred but unscaled.
    const double sd = std::sqrt(sq[j] / n);
    out.stddev.push_back(sd > 1e-6 ? static_cast<float>(sd) : 1.0f);
  }
  return out;
}

void BandNormaliser::apply(PixelDataset& d) const {
  S2_CHECK(static_cast<int64_t>(mean.size()) == d.bands,
           "normalisation statistics are for {} bands but '{}' has {}", mean.size(), d.source, d.bands);
  const auto b = static_cast<size_t>(d.bands);
  for (size_t k = 0; k < d.values.size(); ++k) {
    d.values[k] = (d.values[k] - mean[k % b]) / stddev[k % b];
  }
}

NamedTensors BandNormaliser::state() const {
  const auto b = static_cast<int64_t>(mean.size());
  return {{"mean", Tensor::from_vector({b}, mean)}, {"stddev", Tensor::from_vector({b}, stddev)}};
}

BandNormaliser BandNormaliser::from_state(const NamedTensors& state, const std::string& source) {
  BandNormaliser out;
  for (const auto& [name, t] : state) {
    if (name == "mean") {
      out.mean = t.to_vector();
    } else if (name == "stddev") {
      out.stddev = t.to_vector();
    }
  }
  S2_CHECK(!out.mean.empty() && out.mean.size() == out.stddev.size(),
           "'{}' holds no usable normalisation statistics", source);
  return out;
}

Batch make_batch(const PixelDataset& d, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  const int64_t n = end - begin, per = d.timesteps * d.bands;
  Batch batch{Tensor::empty({n, 1, d.timesteps, d.bands}), {}, {}};
  if (d.has_coordinates()) batch.location = Tensor::empty({n, 2});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t idx = order[static_cast<size_t>(begin + i)];
    const auto u = static_cast<size_t>(idx);
    std::copy_n(d.sample(idx), per, batch.x.data() + i * per);
    if (!d.labels.empty()) {
      batch.labels.push_back(d.labels[u]);
    }
    if (d.has_coordinates()) {
      batch.location.data()[2 * i] = static_cast<float>(d.lats[u]);
      batch.location.data()[2 * i + 1] = static_cast<float>(d.lons[u]);
    }
  }
  return batch;
}

Batch slice_batch(const Batch& batch, int64_t begin, int64_t end) {
  S2_CHECK(0 <= begin && begin <= end && end <= batch.x.size(0), "slice_batch: samples [{}, {}) of {}", begin,
           end, batch.x.size(0));
  const auto rows = [&](const Tensor& t) {
    Shape shape = t.shape();
    const int64_t per = t.numel() / shape[0];
    shape[0] = end - begin;
    Tensor out = Tensor::empty(shape);
    std::copy_n(t.data() + begin * per, (end - begin) * per, out.data());
    return out;
  };
  Batch out{rows(batch.x), {}, {}};
  if (!batch.labels.empty()) out.labels.assign(batch.labels.begin() + begin, batch.labels.begin() + end);
  if (batch.location.defined()) out.location = rows(batch.location);
  return out;
}

std::vector<int64_t> shuffled_indices(int64_t n, Generator& generator) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with our portable generator
    std::swap(idx[static_cast<size_t>(i)], idx[generator.below(static_cast<uint64_t>(i + 1))]);
  }
  return idx;
}

}  // namespace s2::data
