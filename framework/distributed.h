#pragma once
// Processes that run one job together (data-parallel training, runs and map blocks spread over ranks),
// through MPI when the build has it and the process was started by mpirun or srun; otherwise a job of
// one rank, and every call below is the one-process case. Collectives combine in a fixed order, never
// in arrival order, so a result does not depend on how many ranks computed it (README, "Past one
// machine").
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace s2::dist {

// Joins the job for the lifetime of the object (MPI_Init and MPI_Finalize); experiments::run_main holds
// it. Outside a launcher it is a job of one rank, without MPI. A build without MPI
// started by a launcher as one of several ranks is an error, since each rank would run the whole job
// and write over the others' files.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

bool built_with_mpi();
int rank();
int size();
inline bool is_root() {
  return rank() == 0;
}
// Ranks on this machine, and this rank's place among them (for one GPU per rank).
int local_rank();
int local_size();
// "rank 1 of 2", or "" in a job of one rank: for messages.
std::string where();

void barrier();
// Ends every rank of the job at once, with `code`: after an error on one rank, so that the others do
// not wait in a collective for it forever.
[[noreturn]] void abort_job(int code);

// Every rank's `local` values, concatenated in rank order; every rank passes the same count.
std::vector<double> all_gather(const std::vector<double>& local);
// Rank 0's bytes on every rank.
std::string broadcast_from_root(const std::string& bytes);
// Every rank's bytes, in rank order (results of work spread over ranks).
std::vector<std::string> all_gather_bytes(const std::string& local);
// The same on rank 0 alone (the one that writes); the other ranks get nothing.
std::vector<std::string> gather_bytes_to_root(const std::string& local);

// While one is alive, this rank works alone: it is rank 0 of 1 and its collectives stay local. For
// independent runs spread over ranks (reproduce and ablate --spread runs): each run is a job of one.
class Alone {
 public:
  Alone();
  ~Alone();
  Alone(const Alone&) = delete;
  Alone& operator=(const Alone&) = delete;
};
// This rank's place in the job, also inside Alone (which rank runs which of a list of runs).
int job_rank();
int job_size();

// The element-wise sum over `shards` shards of `length` floats each, added in shard order
// (((s0 + s1) + s2) + ...), on every rank. `local` holds this rank's shards, which are shards
// [rank x shards / size, (rank + 1) x shards / size), one after another; `size()` divides `shards`.
// The bits are the same for any rank count: ranks, like threads, only choose who adds which elements
// (a fixed-order reduce-scatter, then an all-gather).
std::vector<float> sum_shards_in_order(const std::vector<float>& local, int64_t length, int64_t shards);

// The shards [first, last) of `shards` this rank owns.
struct ShardRange {
  int64_t first = 0, last = 0;
};
ShardRange my_shards(int64_t shards);

// GPUs, one per rank (a CUDA build with NCCL; elsewhere nccl_available() is false and the others are
// never reached).
bool nccl_available();
// Makes this rank's GPU the current one: its place among the ranks on its machine. A machine with fewer
// GPUs than ranks is an error.
void use_local_gpu();
// Sums each device buffer (pointer, count) over all ranks in place, through NCCL, in one group.
void nccl_all_reduce_sum(const std::vector<std::pair<float*, int64_t>>& buffers);

// A fault for the tests of a dying rank: the environment variable S2CBAM_FAULT = "error:R" makes rank R
// throw at its first collective, "kill:R" makes it die there by SIGKILL. Unset, nothing happens.
void inject_fault_if_asked();

}  // namespace s2::dist
