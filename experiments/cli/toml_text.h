#pragma once
// Parses TOML held in a string (a checkpoint's config or metadata); errors name `what`.
#include <cpptoml.h>

#include <memory>
#include <sstream>
#include <string>

#include "framework/error.h"

namespace s2::experiments {

inline std::shared_ptr<cpptoml::table> parse_toml_text(const std::string& text, const std::string& what) {
  try {
    std::istringstream stream(text);
    return cpptoml::parser(stream).parse();
  } catch (const cpptoml::parse_exception& e) {
    fail("{}: unreadable TOML: {}", what, e.what());
  }
}

}  // namespace s2::experiments
