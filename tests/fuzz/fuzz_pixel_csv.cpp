// libFuzzer target: the pixel CSV reader (label, object id, date-major band values per row), with and
// without class names.
#include "data/victoria_csv.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = s2::fuzz::write_input("pixels.csv", data, size);
  s2::fuzz::expect_named_errors([&] { s2::data::read_pixel_csv(path, {.bands = 2}); });
  return s2::fuzz::expect_named_errors([&] {
    s2::data::read_pixel_csv(path, {.bands = 10, .class_names = {"a", "b", "c"}});
  });
}
