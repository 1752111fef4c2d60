#pragma once
// Shared by the libFuzzer targets (issue #14). An input becomes a file, because the readers take paths
// as users' data comes; any exception other than s2::Error is a finding, because whatever a user's file
// holds must end in a named error, never an internal one, a crash or a hang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>

#include "framework/error.h"
#include "tests/temp_files.h"

namespace s2::fuzz {

// Inputs go to the tests' per-process scratch folder (libFuzzer may run several jobs side by side),
// which is removed when the process ends.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = s2::testing::temp_path(name);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

template <typename Body>
int expect_named_errors(Body&& body) {
  try {
    body();
  } catch (const s2::Error&) {
    // a named error: what bad input must give
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: an input ended in an unnamed exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}

}  // namespace s2::fuzz
