#pragma once
// One exception type for every user-facing failure, with a fmt-formatted message.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace s2 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace s2

// Checks a precondition and throws s2::Error with the formatted message when it does not hold.
#define S2_CHECK(cond, ...)    \
  do {                         \
    if (!(cond)) {             \
      ::s2::fail(__VA_ARGS__); \
    }                          \
  } while (false)
