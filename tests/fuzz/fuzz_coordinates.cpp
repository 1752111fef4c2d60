// libFuzzer target: where samples are. The coordinates reader (a lat,lon CSV, header optional), and the
// same bytes as a groups file of names (regions) beside an NPY dataset of two samples.
#include "data/coordinates.h"
#include "data/npy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = s2::fuzz::write_input("coords.csv", data, size);
  s2::fuzz::expect_named_errors([&] { s2::data::read_coordinates(path); });
  static const std::string values = [] {
    const std::string p = s2::testing::temp_path("values.npy");
    s2::data::write_npy(p, {2, 1, 1}, {0.5f, 0.25f});
    return p;
  }();
  static const std::string labels = [] {
    const std::string p = s2::testing::temp_path("labels.csv");
    std::ofstream(p) << "0\n1\n";
    return p;
  }();
  return s2::fuzz::expect_named_errors([&] { s2::data::read_npy_dataset(values, labels, {"a", "b"}, path); });
}
