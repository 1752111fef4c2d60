// import_keras: the weights of the paper's Keras model (the notebook's; Keras 3 .keras or legacy .h5) as
// an s2cbam checkpoint of the paper network that evaluate, predict and predict_map take. The config
// describes the data (format, bands, dates, classes) and must describe the paper network; its batch
// norms take Keras's epsilon and momentum.
#include <fmt/format.h>

#include "experiments/cli/cli.h"
#include "experiments/interop/keras_import.h"
#include "framework/error.h"

using namespace s2;

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv, {"keras", "config", "out", "normalise", "classes"});
    const std::string normalise = args.get("normalise", "fit");
    S2_CHECK(normalise == "fit" || normalise == "none", "option --normalise takes fit or none, got '{}'",
             normalise);
    experiments::import_keras({args.require("keras"), args.require("config"), args.require("out"),
                               normalise == "fit", args.get_list("classes", {})});
    fmt::print("wrote {} from {} (normalisation: {})\n", args.require("out"), args.require("keras"),
               normalise == "fit" ? "fitted on the config's training data" : "none");
    return 0;
  });
}
