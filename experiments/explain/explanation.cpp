#include "experiments/explain/explanation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "experiments/explain/perturb.h"
#include "experiments/training/trainer.h"
#include "framework/autograd.h"
#include "framework/error.h"
#include "framework/ops.h"

namespace s2::experiments {

namespace {

size_t at(int64_t i) {
  return static_cast<size_t>(i);
}

// Adds `values` (n rows of `width`) into the class sums, split by correctness.
void accumulate(std::vector<ClassAttention>& classes, const float* values, int64_t width,
                const std::vector<int32_t>& labels, const std::vector<int32_t>& predicted, int64_t offset,
                int64_t n, bool spatial) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = labels[at(offset + i)];
    ClassAttention& c = classes[static_cast<size_t>(label)];
    const bool correct = predicted[at(offset + i)] == label;
    std::vector<double>& sum = spatial ? (correct ? c.spatial_correct : c.spatial_wrong)
                                       : (correct ? c.channel_correct : c.channel_wrong);
    sum.resize(at(width), 0.0);
    for (int64_t j = 0; j < width; ++j) sum[at(j)] += values[i * width + j];
  }
}

void divide(std::vector<double>& sum, int64_t count) {
  if (count == 0) {
    sum.clear();
    return;
  }
  for (double& v : sum) v /= static_cast<double>(count);
}

// Accuracy of `model` on a copy of `d` whose samples each lose the dates `order(i)` lists first.
template <typename Order>
double accuracy_without(models::Classifier& model, const data::PixelDataset& d, int64_t k, Order order) {
  data::PixelDataset out = d;
  std::vector<bool> removed(at(d.timesteps));
  for (int64_t i = 0; i < d.size(); ++i) {
    std::fill(removed.begin(), removed.end(), false);
    const std::vector<int64_t> dates = order(i);
    for (int64_t j = 0; j < k; ++j) removed[at(dates[at(j)])] = true;
    interpolate_dates(out.values.data() + i * d.timesteps * d.bands, d.timesteps, d.bands, removed);
  }
  return compute_metrics(d.labels, predict(model, out).classes, d.num_classes()).overall_accuracy;
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    for (size_t m = i; m <= j; ++m) r[order[m]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return r;
}

void check_labelled(const data::PixelDataset& d, const char* what) {
  S2_CHECK(!d.labels.empty() && d.size() > 0, "{} needs labelled samples; {} has none", what, d.source);
}

// Runs `net` in inference mode over `d` in batches, through the traced forward, and hands each batch's
// first sample index, size, logits and attention to `fn`.
template <typename Fn>
void for_each_traced_batch(models::CbamCropNet& net, const data::PixelDataset& d, int64_t batch_size, Fn fn) {
  const bool was_training = net.is_training();
  net.eval();
  NoGradGuard no_grad;
  std::vector<int64_t> order(at(d.size()));
  std::iota(order.begin(), order.end(), int64_t{0});
  for (int64_t begin = 0; begin < d.size(); begin += batch_size) {
    const int64_t end = std::min(d.size(), begin + batch_size);
    const data::Batch batch = data::make_batch(d, order, begin, end);
    models::AttentionTrace trace;
    const Tensor logits = net.forward_traced(batch.x, trace, batch.location);
    fn(begin, end - begin, logits, trace);
  }
  net.train(was_training);
}

// Adds each sample's spatial attention, summed over bands (dates, [n][T]) and over dates (bands,
// [n][B]), averaged over the stages that have it, to the ends of `dates` and `bands`.
template <typename T>
void append_spatial_sums(const models::AttentionTrace& trace, int64_t n, int64_t t_count, int64_t b_count,
                         std::vector<T>& dates, std::vector<T>& bands) {
  std::vector<double> d(at(n * t_count), 0.0), b(at(n * b_count), 0.0);
  int64_t stages = 0;
  for (const Tensor& map : trace.spatial) {
    if (!map.defined()) continue;
    ++stages;
    const float* v = map.data();
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t t = 0; t < t_count; ++t) {
        for (int64_t k = 0; k < b_count; ++k) {
          const double x = v[(i * t_count + t) * b_count + k];
          d[at(i * t_count + t)] += x;
          b[at(i * b_count + k)] += x;
        }
      }
    }
  }
  if (stages == 0) return;
  for (const double x : d) dates.push_back(static_cast<T>(x / static_cast<double>(stages)));
  for (const double x : b) bands.push_back(static_cast<T>(x / static_cast<double>(stages)));
}

}  // namespace

AttentionSummary summarise_attention(models::CbamCropNet& net, const data::PixelDataset& d,
                                     int64_t batch_size) {
  check_labelled(d, "attention by class");
  AttentionSummary out;
  const int64_t t_count = d.timesteps, b_count = d.bands, k = d.num_classes();
  std::vector<double> band_sums;  // not reported by class; only the date sums rank dates
  for_each_traced_batch(
      net, d, batch_size,
      [&](int64_t begin, int64_t n, const Tensor& logits, const models::AttentionTrace& trace) {
        for (int64_t i = 0; i < n; ++i) {
          const float* row = logits.data() + i * k;
          out.predicted.push_back(static_cast<int32_t>(std::max_element(row, row + k) - row));
        }
        if (out.stages.empty()) {
          out.stages.resize(trace.spatial.size());
          for (size_t s = 0; s < trace.spatial.size(); ++s) {
            StageAttention& st = out.stages[s];
            st.has_channel = trace.channel[s].defined();
            st.has_spatial = trace.spatial[s].defined();
            st.channels = st.has_channel ? trace.channel[s].size(1) : 0;
            st.classes.resize(at(k));
          }
        }
        for (size_t s = 0; s < out.stages.size(); ++s) {
          StageAttention& st = out.stages[s];
          if (st.has_channel) {
            accumulate(st.classes, trace.channel[s].data(), st.channels, d.labels, out.predicted, begin, n,
                       false);
          }
          if (st.has_spatial) {
            accumulate(st.classes, trace.spatial[s].data(), t_count * b_count, d.labels, out.predicted, begin,
                       n, true);
          }
        }
        append_spatial_sums(trace, n, t_count, b_count, out.date_attention, band_sums);
      });
  std::vector<int64_t> correct(at(k), 0), wrong(at(k), 0);  // the same for every stage
  for (int64_t i = 0; i < d.size(); ++i) {
    const int32_t label = d.labels[at(i)];
    (out.predicted[at(i)] == label ? correct : wrong)[at(label)] += 1;
  }
  for (StageAttention& st : out.stages) {
    for (int64_t c = 0; c < k; ++c) {
      ClassAttention& ca = st.classes[at(c)];
      ca.correct = correct[at(c)];
      ca.wrong = wrong[at(c)];
      divide(ca.spatial_correct, ca.correct);
      divide(ca.spatial_wrong, ca.wrong);
      divide(ca.channel_correct, ca.correct);
      divide(ca.channel_wrong, ca.wrong);
    }
  }
  return out;
}

namespace {
// The mean of two groups' means, by their counts (an empty mean stands for a group of none).
void pool_means(std::vector<double>& total, int64_t total_count, const std::vector<double>& part,
                int64_t part_count) {
  if (part_count == 0 || part.empty()) return;
  if (total_count == 0 || total.empty()) {
    total = part;
    return;
  }
  S2_CHECK(total.size() == part.size(), "attention summaries of different shapes cannot be pooled");
  const auto n = static_cast<double>(total_count), m = static_cast<double>(part_count);
  for (size_t i = 0; i < total.size(); ++i) total[i] = (n * total[i] + m * part[i]) / (n + m);
}
}  // namespace

void pool_attention(AttentionSummary& total, const AttentionSummary& part) {
  if (total.stages.empty()) {
    total = part;
    return;
  }
  S2_CHECK(total.stages.size() == part.stages.size(),
           "attention summaries of {} and {} stages cannot be pooled", total.stages.size(),
           part.stages.size());
  for (size_t s = 0; s < total.stages.size(); ++s) {
    auto& classes = total.stages[s].classes;
    const auto& more = part.stages[s].classes;
    S2_CHECK(classes.size() == more.size(), "attention summaries of {} and {} classes cannot be pooled",
             classes.size(), more.size());
    for (size_t c = 0; c < classes.size(); ++c) {
      ClassAttention& a = classes[c];
      const ClassAttention& b = more[c];
      pool_means(a.spatial_correct, a.correct, b.spatial_correct, b.correct);
      pool_means(a.channel_correct, a.correct, b.channel_correct, b.correct);
      pool_means(a.spatial_wrong, a.wrong, b.spatial_wrong, b.wrong);
      pool_means(a.channel_wrong, a.wrong, b.channel_wrong, b.wrong);
      a.correct += b.correct;
      a.wrong += b.wrong;
    }
  }
  total.date_attention.insert(total.date_attention.end(), part.date_attention.begin(),
                              part.date_attention.end());
  total.predicted.insert(total.predicted.end(), part.predicted.begin(), part.predicted.end());
}

PixelAttention pixel_attention(models::CbamCropNet& net, const data::PixelDataset& d, int64_t batch_size) {
  PixelAttention out;
  for_each_traced_batch(net, d, batch_size,
                        [&](int64_t, int64_t n, const Tensor&, const models::AttentionTrace& trace) {
                          append_spatial_sums(trace, n, d.timesteps, d.bands, out.dates, out.bands);
                        });
  return out;
}

OcclusionImportance occlusion_importance(models::Classifier& model, const data::PixelDataset& d,
                                         const std::vector<float>& mean, const std::vector<float>& stddev) {
  check_labelled(d, "occlusion importance");
  const int64_t n = d.size(), k = d.num_classes(), t_count = d.timesteps, b_count = d.bands;
  const auto true_probability = [&](const Prediction& p) {
    std::vector<double> v(at(n));
    for (int64_t i = 0; i < n; ++i) v[at(i)] = p.probabilities[at(i * k + d.labels[at(i)])];
    return v;
  };
  const std::vector<double> base = true_probability(predict(model, d));
  // Per sample [N][width]: the drop when column j (a date or a band) of `perturbed(j)` is taken out.
  const auto drops = [&](int64_t width, auto perturbed) {
    std::vector<double> drop(at(n * width));
    for (int64_t j = 0; j < width; ++j) {
      const std::vector<double> p = true_probability(predict(model, perturbed(j)));
      for (int64_t i = 0; i < n; ++i) drop[at(i * width + j)] = base[at(i)] - p[at(i)];
    }
    return drop;
  };
  OcclusionImportance out;
  out.date_drop = drops(t_count, [&](int64_t t) { return without_date(d, t); });
  out.date_all = mean_over_samples(out.date_drop, t_count);
  out.date_by_class = mean_by_class(out.date_drop, t_count, d.labels, k);
  if (b_count >= 2) {
    const std::vector<double> band_drop =
        drops(b_count, [&](int64_t b) { return without_band(d, b, mean, stddev); });
    out.band_all = mean_over_samples(band_drop, b_count);
    out.band_by_class = mean_by_class(band_drop, b_count, d.labels, k);
  }
  return out;
}

DeletionCurve deletion_curve(models::Classifier& model, const data::PixelDataset& d,
                             const std::vector<double>& scores, int64_t max_k, const std::string& ranking) {
  check_labelled(d, "a deletion curve");
  S2_CHECK(static_cast<int64_t>(scores.size()) == d.size() * d.timesteps,
           "deletion curve '{}': {} scores for {} samples of {} dates", ranking, scores.size(), d.size(),
           d.timesteps);
  const int64_t t_count = d.timesteps;
  const auto order = [&](int64_t i) {
    std::vector<int64_t> dates(at(t_count));
    std::iota(dates.begin(), dates.end(), int64_t{0});
    const double* s = scores.data() + i * t_count;
    std::stable_sort(dates.begin(), dates.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
    return dates;
  };
  DeletionCurve curve{ranking, {}};
  for (int64_t k = 0; k <= std::min(max_k, t_count); ++k)
    curve.accuracy.push_back(accuracy_without(model, d, k, order));
  return curve;
}

DeletionCurve random_deletion_curve(models::Classifier& model, const data::PixelDataset& d, int64_t max_k,
                                    uint64_t seed, int64_t repeats) {
  check_labelled(d, "a deletion curve");
  DeletionCurve curve{"random", std::vector<double>(at(std::min(max_k, d.timesteps) + 1), 0.0)};
  for (int64_t r = 0; r < repeats; ++r) {
    // One random score per sample and date (mt19937_64's raw output is the same on every platform).
    std::mt19937_64 rng(seed + static_cast<uint64_t>(r));
    std::vector<double> scores(at(d.size() * d.timesteps));
    for (double& s : scores) s = static_cast<double>(rng() >> 11);
    const DeletionCurve one = deletion_curve(model, d, scores, max_k, "random");
    for (size_t k = 0; k < one.accuracy.size(); ++k) {
      curve.accuracy[k] += one.accuracy[k] / static_cast<double>(repeats);
    }
  }
  return curve;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  S2_CHECK(a.size() == b.size(), "spearman: {} values against {}", a.size(), b.size());
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  const double mean = 0.5 * (n - 1.0);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

std::vector<std::vector<double>> mean_by_class(const std::vector<double>& per_sample, int64_t width,
                                               const std::vector<int32_t>& labels, int64_t classes) {
  std::vector<std::vector<double>> out(at(classes), std::vector<double>(at(width), 0.0));
  std::vector<int64_t> counts(at(classes), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    ++counts[at(labels[i])];
    for (int64_t j = 0; j < width; ++j) out[at(labels[i])][at(j)] += per_sample[i * at(width) + at(j)];
  }
  for (int64_t c = 0; c < classes; ++c) {
    for (double& v : out[at(c)]) v = counts[at(c)] > 0 ? v / static_cast<double>(counts[at(c)]) : 0.0;
  }
  return out;
}

std::vector<double> mean_over_samples(const std::vector<double>& per_sample, int64_t width) {
  std::vector<double> out(at(width), 0.0);
  const size_t n = per_sample.size() / at(width);
  for (size_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < width; ++j) out[at(j)] += per_sample[i * at(width) + at(j)];
  }
  for (double& v : out) v /= static_cast<double>(n);
  return out;
}

RankCorrelation attention_occlusion_correlation(const std::vector<double>& date_attention,
                                                const OcclusionImportance& occlusion,
                                                const std::vector<int32_t>& labels, int64_t classes) {
  const auto timesteps = static_cast<int64_t>(occlusion.date_all.size());
  RankCorrelation r;
  r.all = spearman(mean_over_samples(date_attention, timesteps), occlusion.date_all);
  const auto by_class = mean_by_class(date_attention, timesteps, labels, classes);
  for (int64_t c = 0; c < classes; ++c) {
    r.by_class.push_back(spearman(by_class[at(c)], occlusion.date_by_class[at(c)]));
  }
  return r;
}

}  // namespace s2::experiments
