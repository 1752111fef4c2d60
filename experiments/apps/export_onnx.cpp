// export_onnx: a checkpoint's model (paper network, ablations, plain CNN, TempCNN) as an ONNX model
// (opset 17) for onnxruntime and the platforms built on it; the preprocessing it expects is in its
// metadata.
#include <fmt/format.h>

#include "experiments/cli/cli.h"
#include "experiments/interop/onnx_export.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"checkpoint", "out"});
    const experiments::OnnxSummary s =
        experiments::export_onnx(args.require("checkpoint"), args.require("out"));
    fmt::print(
        "wrote {}: the {} model, {} bytes, ONNX opset 17; inputs x (batch, 1, T, B) normalised, outputs "
        "logits and probabilities\n",
        args.require("out"), s.model_kind, s.bytes);
    return 0;
  });
}
