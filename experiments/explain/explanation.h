#pragma once
// What a trained model attends to and what it relies on (issue #16), on labelled pixels:
//  - the attention each CBAM stage applies (the spatial map over the date x band plane and the channel
//    weights), averaged per true class over correctly and wrongly classified samples;
//  - occlusion importance, for any classifier: the drop of the true class's probability when a date or a
//    band is replaced by its interpolation from its neighbours;
//  - deletion curves: accuracy as the k highest-ranked dates of each sample are interpolated away, for a
//    ranking by attention, by occlusion, or at random, which says whether attention picks the dates that
//    matter;
//  - the rank correlation between attention and occlusion importance over the dates.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "models/cbam_crop_net.h"
#include "models/classifier.h"

namespace s2::experiments {

// One true class's mean attention in one stage; means are empty where no sample falls in the group.
struct ClassAttention {
  int64_t correct = 0, wrong = 0;
  std::vector<double> spatial_correct, spatial_wrong;  // [T][B]
  std::vector<double> channel_correct, channel_wrong;  // [C]
};

struct StageAttention {
  int64_t channels = 0;
  bool has_channel = false, has_spatial = false;
  std::vector<ClassAttention> classes;  // by true label
};

struct AttentionSummary {
  std::vector<StageAttention> stages;
  // Per sample and date: the spatial attention summed over bands and averaged over the stages that have
  // one; [N][T]. Empty when the model has no spatial attention.
  std::vector<double> date_attention;
  std::vector<int32_t> predicted;
};

// Runs `net` in inference mode over `d` (on the CPU, through the unfused attention ops).
AttentionSummary summarise_attention(models::CbamCropNet& net, const data::PixelDataset& d,
                                     int64_t batch_size = 256);

// Adds `part` (another model's or another fold's summary, of the same classes and stages) into `total`:
// each class's means become the means over both sets of samples, and the per-sample vectors are joined.
// An empty `total` becomes `part`.
void pool_attention(AttentionSummary& total, const AttentionSummary& part);

// Per sample, the spatial attention summed over bands ([N][T]) and over dates ([N][B]), each averaged
// over the stages that have spatial attention; labels not needed. Both empty without spatial attention.
struct PixelAttention {
  std::vector<float> dates, bands;
};
PixelAttention pixel_attention(models::CbamCropNet& net, const data::PixelDataset& d,
                               int64_t batch_size = 256);

struct OcclusionImportance {
  std::vector<double> date_all, band_all;                         // [T], [B]: mean over samples
  std::vector<std::vector<double>> date_by_class, band_by_class;  // [K][T], [K][B]: by true class
  std::vector<double> date_drop;                                  // [N][T]: per sample, for rankings
};

// `mean` and `stddev`: the band normalisation `d` went through (bands are interpolated in reflectance).
OcclusionImportance occlusion_importance(models::Classifier& model, const data::PixelDataset& d,
                                         const std::vector<float>& mean, const std::vector<float>& stddev);

struct DeletionCurve {
  std::string ranking;           // "attention", "occlusion", "random"
  std::vector<double> accuracy;  // [k] for k = 0 .. max_k dates removed
};

// Per sample, the k dates of highest `scores` ([N][T]; ties to the earlier date) are interpolated away.
DeletionCurve deletion_curve(models::Classifier& model, const data::PixelDataset& d,
                             const std::vector<double>& scores, int64_t max_k, const std::string& ranking);
// The same with `repeats` random orders of the dates per sample (seeded), accuracies averaged.
DeletionCurve random_deletion_curve(models::Classifier& model, const data::PixelDataset& d, int64_t max_k,
                                    uint64_t seed, int64_t repeats);

// Spearman's rank correlation (average ranks for ties); 0 when either side is constant.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

// Means over the samples of a per-sample [N][width] score: overall ([width]) and per true class
// ([K][width]; zeros for a class without samples).
std::vector<double> mean_over_samples(const std::vector<double>& per_sample, int64_t width);
std::vector<std::vector<double>> mean_by_class(const std::vector<double>& per_sample, int64_t width,
                                               const std::vector<int32_t>& labels, int64_t classes);

// Spearman's correlation of attention over dates (date_attention, [N][T]) with occlusion importance over
// dates, for the means over all samples and per true class.
struct RankCorrelation {
  double all = 0.0;
  std::vector<double> by_class;
};
RankCorrelation attention_occlusion_correlation(const std::vector<double>& date_attention,
                                                const OcclusionImportance& occlusion,
                                                const std::vector<int32_t>& labels, int64_t classes);

}  // namespace s2::experiments
