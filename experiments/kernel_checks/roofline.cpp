#include "experiments/kernel_checks/roofline.h"

namespace s2 {

Roofline roofline(double flops, double bytes, double tflops, double tbps) {
  return {flops / (tflops * 1e12) * 1e3, bytes / (tbps * 1e12) * 1e3};
}

}  // namespace s2
