#pragma once
// The message passing under framework/distributed.h: MPI (distributed_mpi.cpp) or a job of one process
// (distributed_local.cpp), chosen when the build is configured. distributed.cpp builds the fixed-order
// collectives on these few calls.
#include <string>
#include <vector>

namespace s2::dist::transport {

bool built_with_mpi();
void start();  // joins the job when a launcher started this process
void stop();
int rank();
int size();
int local_rank();
int local_size();
void barrier();
[[noreturn]] void abort_job(int code);
std::vector<double> all_gather(const std::vector<double>& local);
std::vector<float> all_gather(const std::vector<float>& local);
// Block i of `send` (send.size() / size() floats) goes to rank i; block i of the result came from rank i.
std::vector<float> all_to_all(const std::vector<float>& send);
std::string broadcast_from_root(const std::string& bytes);
// Every rank's bytes, in rank order; the lengths may differ.
std::vector<std::string> all_gather_bytes(const std::string& local);
// The same on rank 0 only; the others get nothing.
std::vector<std::string> gather_bytes_to_root(const std::string& local);

}  // namespace s2::dist::transport
