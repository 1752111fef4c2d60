#pragma once
// A trained model as an ONNX graph (opset 17) for deployment runtimes (onnxruntime, openEO, WorldCereal):
// the paper network and its ablations, the plain CNN and TempCNN, in inference mode (batch norms on their
// running statistics, no dropout). Input "x": the normalised series as the model takes it, (batch, 1, T,
// B); outputs "logits" and "probabilities" (softmax), (batch, K). The metadata carries what the caller
// must do before: the bands in order, the T regular dates, the normalisation statistics, and the
// class names.
#include <string>

namespace s2::experiments {

struct OnnxSummary {
  std::string model_kind;
  size_t nodes = 0, initializers = 0, bytes = 0;
};

// Errors name the checkpoint (a model kind without an ONNX statement).
OnnxSummary export_onnx(const std::string& checkpoint_path, const std::string& out);

}  // namespace s2::experiments
