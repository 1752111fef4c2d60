#pragma once
// Scratch files for tests, under one folder in the system temp directory.
#include <filesystem>
#include <string>

#include "framework/atomic_file.h"

namespace s2::testing {

inline std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "s2cbam-tests";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

inline std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  write_file_atomic(path, text);
  return path;
}

}  // namespace s2::testing
