// libFuzzer target: the checkpoint loader (header, checksum, tensor table, finiteness) and, when a file
// loads, the saved-model reader (embedded config and metadata, model rebuilt, tensors restored).
#include "experiments/training/saved_model.h"
#include "framework/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = s2::fuzz::write_input("model.ckpt", data, size);
  return s2::fuzz::expect_named_errors([&] {
    s2::load_checkpoint(path);
    s2::experiments::load_saved_model(path, "");
  });
}
