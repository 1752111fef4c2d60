#include "experiments/explain/perturb.h"

#include "framework/error.h"

namespace s2::experiments {

void interpolate_dates(float* sample, int64_t timesteps, int64_t bands, const std::vector<bool>& removed) {
  S2_CHECK(static_cast<int64_t>(removed.size()) == timesteps, "interpolate_dates: {} flags for {} dates",
           removed.size(), timesteps);
  std::vector<int64_t> kept;
  for (int64_t t = 0; t < timesteps; ++t) {
    if (!removed[static_cast<size_t>(t)]) kept.push_back(t);
  }
  if (kept.empty()) return;
  size_t next = 0;  // the first kept date at or after t
  for (int64_t t = 0; t < timesteps; ++t) {
    while (next < kept.size() && kept[next] < t) ++next;
    if (!removed[static_cast<size_t>(t)]) continue;
    const bool has_before = next > 0, has_after = next < kept.size();
    const int64_t before = has_before ? kept[next - 1] : kept[next];
    const int64_t after = has_after ? kept[next] : kept[next - 1];
    const float w =
        after == before ? 0.0f : static_cast<float>(t - before) / static_cast<float>(after - before);
    for (int64_t b = 0; b < bands; ++b) {
      const float lo = sample[before * bands + b], hi = sample[after * bands + b];
      sample[t * bands + b] = lo + w * (hi - lo);
    }
  }
}

data::PixelDataset without_date(const data::PixelDataset& d, int64_t t) {
  data::PixelDataset out = d;
  std::vector<bool> removed(static_cast<size_t>(d.timesteps), false);
  removed[static_cast<size_t>(t)] = true;
  for (int64_t i = 0; i < d.size(); ++i) {
    interpolate_dates(out.values.data() + i * d.timesteps * d.bands, d.timesteps, d.bands, removed);
  }
  return out;
}

data::PixelDataset without_band(const data::PixelDataset& d, int64_t b, const std::vector<float>& mean,
                                const std::vector<float>& stddev) {
  S2_CHECK(d.bands >= 2, "a band can be interpolated from its neighbours only with 2 bands or more");
  S2_CHECK(static_cast<int64_t>(mean.size()) == d.bands && static_cast<int64_t>(stddev.size()) == d.bands,
           "without_band: normalisation statistics for {} bands, data of {}", mean.size(), d.bands);
  data::PixelDataset out = d;
  const auto raw = [&](const float* row, int64_t band) {
    return row[band] * stddev[static_cast<size_t>(band)] + mean[static_cast<size_t>(band)];
  };
  const int64_t lo = b > 0 ? b - 1 : b + 1, hi = b + 1 < d.bands ? b + 1 : b - 1;
  for (int64_t r = 0; r < d.size() * d.timesteps; ++r) {
    float* row = out.values.data() + r * d.bands;
    const float value = 0.5f * (raw(row, lo) + raw(row, hi));
    row[b] = (value - mean[static_cast<size_t>(b)]) / stddev[static_cast<size_t>(b)];
  }
  return out;
}

}  // namespace s2::experiments
