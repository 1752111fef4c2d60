#include "models/classifier.h"

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

}  // namespace s2::models
