// libFuzzer target: the command-line option parser and its typed getters. An input is the argument list,
// one argument per line.
#include <sstream>
#include <vector>

#include "experiments/cli/cli.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words{"train"};
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  for (std::string w; std::getline(in, w);) words.push_back(w);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return s2::fuzz::expect_named_errors([&] {
    const s2::experiments::Args args(static_cast<int>(argv.size()), argv.data(),
                                     {"config", "seeds", "epochs", "variants", "out"});
    args.get_int("epochs", 1);
    args.get_seeds("seeds", {1});
    args.get_list("variants", {"paper"});
    args.require("config");
  });
}
