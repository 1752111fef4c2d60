#include "models/classifier.h"

#include "framework/checkpoint.h"
#include "framework/error.h"

namespace s2::models {

Tensor as_image_batch(const Tensor& input, int64_t timesteps, int64_t bands) {
  const Tensor x =
      input.ndim() == 3 ? input.reshape({input.size(0), 1, input.size(1), input.size(2)}) : input;
  S2_CHECK(x.ndim() == 4 && x.size(1) == 1 && x.size(2) == timesteps && x.size(3) == bands,
           "model expects input (N, {}, {}) or (N, 1, {}, {}), got {}", timesteps, bands, timesteps, bands,
           shape_str(input.shape()));
  return x;
}

void Classifier::fit(const Tensor&, const std::vector<int32_t>&, const std::vector<float>&, uint64_t) {
  fail("this model trains by gradient steps, not in one fit");
}

void Classifier::restore(const NamedTensors& state, const std::string& path) {
  Checkpoint saved;  // the checkpoint's own checks and messages: a missing tensor, a shape that differs
  saved.add("model", state);
  saved.restore("model", named_parameters(), path);
  saved.restore("model", named_buffers(), path);
}

}  // namespace s2::models
