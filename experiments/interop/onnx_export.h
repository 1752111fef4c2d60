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

// Errors name the checkpoint (a model kind without an ONNX statement). Without `embed_config` the
// metadata leaves out the training config (whose data paths name the machine it ran on), so the same
// model gives the same bytes anywhere.
OnnxSummary export_onnx(const std::string& checkpoint_path, const std::string& out, bool embed_config = true);

}  // namespace s2::experiments
