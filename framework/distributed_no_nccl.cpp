// A build without NCCL (no CUDA, or no MPI): ranks never share a GPU model's gradients; more than one
// rank on --device cuda is an error saying what the build lacks.
#include "framework/distributed.h"
#include "framework/error.h"

namespace s2::dist {

bool nccl_available() {
  return false;
}

void use_local_gpu() {
  throw Error(
      fmt::format("--device cuda on {} ranks needs a CUDA build with MPI and NCCL; this one has {}; use "
                  "--device cpu, or one rank",
                  size(), built_with_mpi() ? "no NCCL" : "no MPI"));
}

void nccl_all_reduce_sum(const std::vector<std::pair<float*, int64_t>>&) {
  throw Error("this build has no NCCL to sum GPU gradients over ranks");
}

}  // namespace s2::dist
