// libFuzzer target: the NPY reader (header, dtype, shape, data length), alone and as a dataset's values
// with labels and groups.
#include "data/npy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = s2::fuzz::write_input("values.npy", data, size);
  s2::fuzz::expect_named_errors([&] { s2::data::read_npy(path); });
  static const std::string labels = [] {
    const std::string p = s2::testing::temp_path("labels.csv");
    std::ofstream(p) << "0\n1\n";
    return p;
  }();
  return s2::fuzz::expect_named_errors([&] { s2::data::read_npy_dataset(path, labels, {"a", "b"}, labels); });
}
