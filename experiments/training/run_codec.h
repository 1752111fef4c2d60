#pragma once
// A run's results as bytes and back, bit for bit: for runs spread over MPI ranks (reproduce and ablate
// --spread runs), whose results every rank then holds as if it had run them itself.
#include <string>

#include "experiments/training/experiment.h"

namespace s2::experiments {

std::string run_bytes(const RunResult& run);
// `source` names the bytes in errors.
RunResult parse_run(const std::string& bytes, const std::string& source);

}  // namespace s2::experiments
