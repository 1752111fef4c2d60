// import_weights: a safetensors file (exported by s2cbam, or a PyTorch state_dict of the same network
// saved with safetensors.torch.save_file) as an s2cbam checkpoint that evaluate, predict and
// predict_map take.
#include <fmt/format.h>

#include "experiments/cli/cli.h"
#include "experiments/interop/safetensors_weights.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"safetensors", "like", "out"});
    experiments::import_safetensors(args.require("safetensors"), args.get("like", ""), args.require("out"));
    fmt::print("wrote {} from {}\n", args.require("out"), args.require("safetensors"));
    return 0;
  });
}
