#include "kernels/cpu/loss.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/fixed_math.h"

namespace s2::cpu {

namespace {
float weight_of(const CrossEntropyOptions& o, int32_t label) {
  return o.class_weights == nullptr ? 1.0f : o.class_weights[label];
}

float weight_sum(int64_t batch, const int32_t* labels, const CrossEntropyOptions& o) {
  double s = 0.0;
  for (int64_t i = 0; i < batch; ++i) {
    s += weight_of(o, labels[i]);
  }
  return static_cast<float>(s);
}

float target(const CrossEntropyOptions& o, int64_t classes, int64_t k, int32_t label) {
  const float smooth = o.label_smoothing / static_cast<float>(classes);
  return (k == label ? 1.0f - o.label_smoothing : 0.0f) + smooth;
}
}  // namespace

float softmax_cross_entropy_forward(int64_t batch, int64_t classes, const float* logits,
                                    const int32_t* labels, const CrossEntropyOptions& options, float* probs) {
  double total = 0.0;
  for (int64_t i = 0; i < batch; ++i) {
    const float* z = logits + i * classes;
    float* p = probs + i * classes;
    const float zmax = *std::max_element(z, z + classes);
    double denom = 0.0;
    for (int64_t k = 0; k < classes; ++k) {
      denom += exp_f64(static_cast<double>(z[k] - zmax));
    }
    const double log_denom = log_f64(denom);
    double loss = 0.0;
    for (int64_t k = 0; k < classes; ++k) {
      const double log_p = z[k] - zmax - log_denom;
      p[k] = static_cast<float>(exp_f64(log_p));
      loss -= target(options, classes, k, labels[i]) * log_p;
    }
    total += weight_of(options, labels[i]) * loss;
  }
  return static_cast<float>(total / weight_sum(batch, labels, options));
}

void softmax_cross_entropy_backward(int64_t batch, int64_t classes, const float* probs, const int32_t* labels,
                                    const CrossEntropyOptions& options, float grad_loss, float* dlogits) {
  const float norm = grad_loss / weight_sum(batch, labels, options);
  for (int64_t i = 0; i < batch; ++i) {
    const float w = weight_of(options, labels[i]) * norm;
    for (int64_t k = 0; k < classes; ++k) {
      dlogits[i * classes + k] = w * (probs[i * classes + k] - target(options, classes, k, labels[i]));
    }
  }
}

}  // namespace s2::cpu
