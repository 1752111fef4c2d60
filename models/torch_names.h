#pragma once
// The paper network's tensors under the module names of the PyTorch statement in
// ../shared/bench/torch_cbam_ref.py (stem, r1..r3, a1..a3, head), so that an exported state loads there
// with load_state_dict, and a state trained there loads here.
#include <optional>
#include <string>
#include <vector>

namespace s2::models {

// The PyTorch name of s2cbam tensor `name` ("stage2.unit1.bn1.gamma" -> "r2.b1.weight"), or nothing when
// the name has no counterpart there (another model, a second residual unit per stage).
std::optional<std::string> torch_reference_name(const std::string& name);

}  // namespace s2::models
