#pragma once
// Runs a PyTorch baseline script under a given Python and reads its figures back, so that a benchmark
// can print its ratio against PyTorch measured in the same run (bench_cpu on the CPU, ablate_kernels on
// a GPU). A baseline that cannot run is reported, never fatal: the benchmark's own figures still stand.
#include <optional>
#include <string>
#include <vector>

namespace s2::experiments {

struct TorchRun {
  std::string output;   // the script's stdout and stderr
  std::string version;  // torch.__version__, from a "torch_version X" line
  std::string error;    // why there are no figures (empty when it ran)
  double max_rss_mib = 0;
  // The number after the first `key` in the output that starts a word ("train 12.5"), if any.
  std::optional<double> figure(const std::string& key) const;
};

// `python script args...` with the peak resident memory and torch's version added to the output. The
// run is an error when the script is missing, Python cannot start, or `expect` is not in the output.
TorchRun run_torch_script(const std::string& python, const std::string& script,
                          const std::vector<std::string>& args, const std::string& expect);

}  // namespace s2::experiments
