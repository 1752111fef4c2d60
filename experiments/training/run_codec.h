#pragma once
// A fold's results as bytes and back, bit for bit: for folds spread over MPI ranks (reproduce and ablate
// --spread runs), whose results every rank then holds as if it had run them itself (pool_folds makes
// the run).
#include <string>

#include "experiments/training/experiment.h"

namespace s2::experiments {

std::string fold_bytes(const FoldResult& fold);
// `source` names the bytes in errors.
FoldResult parse_fold(const std::string& bytes, const std::string& source);

}  // namespace s2::experiments
