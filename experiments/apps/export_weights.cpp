// export_weights: a checkpoint's model as a safetensors file, under the PyTorch statement's module names
// for the paper network (torch_cbam_ref.py: load_state_dict loads it), with the config, the
// normalisation and the batch-norm epsilon in its metadata.
#include <fmt/format.h>

#include "experiments/cli/cli.h"
#include "experiments/interop/safetensors_weights.h"
#include "framework/error.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"checkpoint", "out", "names"});
    const std::string names = args.get("names", "auto");
    S2_CHECK(names == "auto" || names == "torch" || names == "s2cbam",
             "option --names takes auto, torch or s2cbam, got '{}'", names);
    const experiments::ExportSummary s =
        experiments::export_safetensors(args.require("checkpoint"), args.require("out"),
                                        names == "torch"    ? experiments::WeightNames::Torch
                                        : names == "s2cbam" ? experiments::WeightNames::S2cbam
                                                            : experiments::WeightNames::Auto);
    fmt::print("wrote {}: {} tensors, {} values, {} names\n", args.require("out"), s.tensors, s.values,
               s.names == experiments::WeightNames::Torch ? "PyTorch (torch_cbam_ref.py)" : "s2cbam");
    return 0;
  });
}
