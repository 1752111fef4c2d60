// libFuzzer target: the raster readers through GDAL: an input is one GeoTIFF, read as two dates of an
// image series, as a label raster with a legend, and for its grid.
#include "data/raster_series.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string first = s2::fuzz::write_input("series/s2/2019-05-01.tif", data, size);
  s2::fuzz::write_input("series/s2/2019-05-11.tif", data, size);
  static const std::string legend = [] {
    const std::string p = s2::testing::temp_path("legend.csv");
    std::ofstream(p) << "code,name,pixels\n1,Maize,10\n2,Grass,5\n";
    return p;
  }();
  // A tiny file may claim a large grid, which is legitimate and only slow to read (the readers refuse one
  // beyond memory): past a million pixels the grid check is enough.
  bool large = false;
  s2::fuzz::expect_named_errors([&] {
    const auto g = s2::data::read_grid(first);
    large = g.width * g.height > (int64_t{1} << 20);
  });
  if (large) return 0;
  s2::fuzz::expect_named_errors([&] { s2::data::read_labels(first, legend); });
  return s2::fuzz::expect_named_errors(
      [&] { s2::data::read_raster_series(s2::testing::temp_path("series/s2"), {}); });
}
