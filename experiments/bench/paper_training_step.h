#pragma once
// The training step the benchmarks time: the paper network (36x10 input, 5 classes) with Adam on one
// fixed random batch, on either device.
#include <cstdint>
#include <vector>

#include "framework/optim.h"
#include "framework/random.h"
#include "models/cbam_crop_net.h"

namespace s2::experiments {

class PaperTrainingStep {
 public:
  PaperTrainingStep(int64_t batch, Device device = Device::CPU);
  // Forward, loss, backward and the Adam update; reading the loss back waits for the device.
  void run();
  models::CbamCropNet& net() { return net_; }
  // The generator that drew the batch, for further inputs of the same run.
  Generator& generator() { return generator_; }

 private:
  models::CbamCropNet net_;
  optim::Adam adam_;
  Generator generator_{1};
  Tensor x_;
  std::vector<int32_t> labels_;
};

}  // namespace s2::experiments
