#pragma once
// Scratch files for tests, in a folder of the system temp directory that belongs to this test process
// alone: suites that run side by side (ctest -j, two build trees on one machine) never share a file.
// The folder is removed when the process ends.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "framework/atomic_file.h"

namespace s2::testing {

inline const std::filesystem::path& temp_dir() {
  struct ProcessDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("s2cbam-tests-" + std::to_string(::getpid()));
    ProcessDir() { std::filesystem::create_directories(path); }
    ~ProcessDir() {
      std::error_code ignored;  // a leftover scratch folder is no reason to fail a test run
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const ProcessDir dir;
  return dir.path;
}

inline std::string temp_path(const std::string& name) {
  return (temp_dir() / name).string();
}

inline std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  write_file_atomic(path, text);
  return path;
}

}  // namespace s2::testing
