// libFuzzer target: the TOML experiment config loader, every section, key, type and range check.
#include "experiments/cli/config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return s2::fuzz::expect_named_errors([&] {
    const std::string text(reinterpret_cast<const char*>(data), size);
    s2::experiments::parse_config(text, s2::testing::temp_path("fuzz.toml"));
  });
}
