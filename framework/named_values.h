#pragma once
// An enum's names as configs write them: one table serves both directions, and the error for an
// unknown name lists the table, so that a new value cannot be parsed, printed or listed inconsistently.
#include <array>
#include <cstddef>
#include <string>

#include "framework/error.h"

namespace s2 {

template <typename E>
struct NamedValue {
  E value;
  const char* name;
};

// The value called `name`; otherwise "unknown <what> '<name>' (expected a, b or c)".
template <typename E, size_t N>
E parse_named(const std::array<NamedValue<E>, N>& table, const std::string& name, const char* what) {
  static_assert(N >= 2, "a choice needs at least two names");
  std::string expected;
  for (size_t i = 0; i < N; ++i) {
    if (name == table[i].name) return table[i].value;
    expected += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(table[i].name);
  }
  fail("unknown {} '{}' (expected {})", what, name, expected);
}

template <typename E, size_t N>
const char* name_of(const std::array<NamedValue<E>, N>& table, E value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

}  // namespace s2
