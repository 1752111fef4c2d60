#include "experiments/bench/torch_baseline.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <regex>

namespace s2::experiments {

namespace {
// Single-quoted for the shell: a path or argument with spaces or quotes passes through as one word.
std::string shell_word(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::optional<double> TorchRun::figure(const std::string& key) const {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex(R"((^|\W))" + key + R"(\s+([-+0-9.eE]+))")))
    return std::nullopt;
  return std::stod(m[2]);
}

TorchRun run_torch_script(const std::string& python, const std::string& script,
                          const std::vector<std::string>& args, const std::string& expect) {
  TorchRun r;
  if (!std::filesystem::exists(script)) {
    r.error = fmt::format("baseline script {} not found", script);
    return r;
  }
  // A wrapper runs the script as __main__ with its arguments, then prints what the benchmark adds.
  const std::string wrapper =
      "import runpy, sys, resource; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], "
      "run_name='__main__'); "
      "import torch; print('torch_version', torch.__version__); "
      "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)";
  std::string cmd = fmt::format("{} -c {} {}", shell_word(python), shell_word(wrapper), shell_word(script));
  for (const auto& a : args) cmd += fmt::format(" {}", shell_word(a));
  cmd += " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    r.error = fmt::format("cannot run {}", python);
    return r;
  }
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) r.output += buf;
  pclose(pipe);
  if (r.output.find("No module named 'torch'") != std::string::npos) {
    r.error = fmt::format("{} has no torch module (scripts/install-torch.sh installs one)", python);
    return r;
  }
  if (r.output.find(expect) == std::string::npos) {
    r.error = fmt::format("{} {} gave no '{}': {}", python, script, expect, r.output.substr(0, 300));
    return r;
  }
  std::smatch m;
  if (std::regex_search(r.output, m, std::regex(R"(torch_version (\S+))"))) r.version = m[1];
  if (const auto kb = r.figure("maxrss_kb")) r.max_rss_mib = *kb / 1024.0;
  return r;
}

}  // namespace s2::experiments
