#pragma once
// Runs a command line as a user would (through the shell, in a folder) and keeps its exit status,
// whether a signal ended it, and its output: how the tests drive the real binaries.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace s2::testing {

struct Outcome {
  int exit_code = -1;
  bool signalled = false;
  std::string output;  // stdout and stderr together
};

inline Outcome run(const std::string& dir, const std::string& command) {
  const std::string line = "cd '" + dir + "' && " + command + " 2>&1";
  FILE* pipe = popen(line.c_str(), "r");
  REQUIRE(pipe != nullptr);
  Outcome o;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) o.output.append(buffer, n);
  const int status = pclose(pipe);
  o.signalled = WIFSIGNALED(status);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

}  // namespace s2::testing
