#pragma once
// Softmax cross-entropy over [batch, classes] logits with integer labels.
#include <cstdint>

namespace s2::cpu {

struct CrossEntropyOptions {
  const float* class_weights = nullptr;  // per class; null = all 1
  float label_smoothing = 0.0f;          // target = (1 - s) * one_hot + s / classes
};

// Writes softmax probabilities and returns the weighted mean loss:
// sum_i w[y_i] * loss_i / sum_i w[y_i].
float softmax_cross_entropy_forward(int64_t batch, int64_t classes, const float* logits,
                                    const int32_t* labels, const CrossEntropyOptions& options, float* probs);
// dlogits = grad_loss * w[y_i] * (p_i - target_i) / sum_i w[y_i].
void softmax_cross_entropy_backward(int64_t batch, int64_t classes, const float* probs, const int32_t* labels,
                                    const CrossEntropyOptions& options, float grad_loss, float* dlogits);

}  // namespace s2::cpu
