#include "data/augment.h"

#include <algorithm>
#include <vector>

#include "framework/error.h"

namespace s2::data {

void augment_batch(Tensor& x, const AugmentOptions& o, Generator& g) {
  S2_CHECK(x.ndim() == 4 && x.size(1) == 1, "augment_batch expects (n, 1, T, B), got {}",
           shape_str(x.shape()));
  S2_CHECK(
      o.max_shift >= 0 && o.noise_std >= 0 && o.band_offset_std >= 0 && o.drop_dates >= 0 && o.drop_dates < 1,
      "augmentation: shift, noise and band offset must be >= 0 and drop_dates in [0, 1)");
  const int64_t n = x.size(0), steps = x.size(2), bands = x.size(3);
  std::vector<float> copy(static_cast<size_t>(steps * bands));
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < n; ++i) {
    float* s = x.data() + i * steps * bands;
    if (o.max_shift > 0) {
      const int64_t shift =
          static_cast<int64_t>(g.below(static_cast<uint64_t>(2 * o.max_shift + 1))) - o.max_shift;
      std::copy_n(s, steps * bands, copy.begin());
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t from = std::clamp<int64_t>(t - shift, 0, steps - 1);  // edges repeat the nearest date
        std::copy_n(copy.begin() + from * bands, bands, s + t * bands);
      }
    }
    if (o.drop_dates > 0) {
      kept.clear();
      for (int64_t t = 0; t < steps; ++t) {
        if (t == 0 || t == steps - 1 || g.uniform() >= o.drop_dates) kept.push_back(t);
      }
      for (size_t k = 0; k + 1 < kept.size(); ++k) {
        const int64_t a = kept[k], b = kept[k + 1];
        for (int64_t t = a + 1; t < b; ++t) {
          const float w = static_cast<float>(t - a) / static_cast<float>(b - a);
          for (int64_t band = 0; band < bands; ++band) {
            s[t * bands + band] = (1 - w) * s[a * bands + band] + w * s[b * bands + band];
          }
        }
      }
    }
    if (o.noise_std > 0) {
      for (int64_t k = 0; k < steps * bands; ++k) s[k] += o.noise_std * g.normal();
    }
    // Drawn last, so that configs without it keep every earlier draw (and their checksums).
    if (o.band_offset_std > 0) {
      for (int64_t band = 0; band < bands; ++band) {
        const float offset = o.band_offset_std * g.normal();
        for (int64_t t = 0; t < steps; ++t) s[t * bands + band] += offset;
      }
    }
  }
}

}  // namespace s2::data
