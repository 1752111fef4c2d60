// libFuzzer target: the safetensors reader (header length, the header's JSON, dtypes, byte ranges) and,
// when a file loads, the import into a checkpoint (s2cbam metadata, names, shapes).
#include "experiments/interop/safetensors_weights.h"
#include "framework/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = s2::fuzz::write_input("w.safetensors", data, size);
  return s2::fuzz::expect_named_errors([&] {
    s2::load_safetensors(path);
    s2::experiments::import_safetensors(path, "", s2::testing::temp_path("out.ckpt"));
  });
}
