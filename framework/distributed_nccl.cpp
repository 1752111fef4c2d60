// Gradients of models on GPUs, summed over ranks by NCCL (a CUDA build with MPI): one rank per GPU, the
// NCCL communicator made once, its id sent from rank 0 over MPI.
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>

#include "framework/distributed.h"
#include "framework/error.h"

namespace s2::dist {

namespace {
void check_cuda(cudaError_t e, const char* what) {
  S2_CHECK(e == cudaSuccess, "{} failed on {}: {}", what, where(), cudaGetErrorString(e));
}
void check_nccl(ncclResult_t r, const char* what) {
  S2_CHECK(r == ncclSuccess, "{} failed on {}: {}", what, where(), ncclGetErrorString(r));
}

ncclComm_t communicator() {
  static ncclComm_t comm = [] {
    ncclUniqueId id;
    if (is_root()) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    const std::string bytes =
        broadcast_from_root(std::string(reinterpret_cast<const char*>(&id), sizeof(id)));
    std::memcpy(&id, bytes.data(), sizeof(id));
    ncclComm_t c = nullptr;
    check_nccl(ncclCommInitRank(&c, size(), id, rank()), "ncclCommInitRank");
    return c;
  }();
  return comm;
}
}  // namespace

bool nccl_available() {
  return true;
}

void use_local_gpu() {
  int gpus = 0;
  check_cuda(cudaGetDeviceCount(&gpus), "cudaGetDeviceCount");
  S2_CHECK(
      gpus >= local_size(),
      "--device cuda runs one rank per GPU, but this machine has {} GPU{} for {} ranks: start at most {} "
      "ranks per machine, or use --device cpu",
      gpus, gpus == 1 ? "" : "s", local_size(), gpus);
  check_cuda(cudaSetDevice(local_rank()), "cudaSetDevice");
}

void nccl_all_reduce_sum(const std::vector<std::pair<float*, int64_t>>& buffers) {
  inject_fault_if_asked();
  const ncclComm_t comm = communicator();
  check_nccl(ncclGroupStart(), "ncclGroupStart");
  for (const auto& [data, count] : buffers) {
    check_nccl(ncclAllReduce(data, data, static_cast<size_t>(count), ncclFloat, ncclSum, comm, nullptr),
               "ncclAllReduce");
  }
  check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
}

}  // namespace s2::dist
