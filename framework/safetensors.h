#pragma once
// safetensors files (Hugging Face's format, which PyTorch reads with safetensors.torch.load_file): an
// 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte range,
// then the raw little-endian data. s2cbam writes float32 tensors (and the int64 scalars PyTorch's
// batch norms carry) and reads F32, F64, F16, BF16 (converted to float32) and I64.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "framework/module.h"

namespace s2 {

struct SafeTensors {
  NamedTensors tensors;                                   // floating-point tensors, as float32
  std::vector<std::pair<std::string, int64_t>> integers;  // int64 scalars (num_batches_tracked)
  std::map<std::string, std::string> metadata;            // the header's "__metadata__"
};

// Writes atomically; tensors in the order given, each 8-byte aligned.
void save_safetensors(const std::string& path, const SafeTensors& file);
// Errors name the file: too short, a header that is not the format's JSON, an unknown dtype, a byte range
// outside the data or not matching the shape.
SafeTensors load_safetensors(const std::string& path);

}  // namespace s2
