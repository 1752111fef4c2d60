// A build without MPI: every process is a job of one rank. launched_ranks() catches the mistake of
// starting such a build under mpirun, where each copy would run the whole job and write the same files.
#include <cstdlib>

#include "framework/distributed_launcher.h"
#include "framework/distributed_transport.h"
#include "framework/error.h"

namespace s2::dist::transport {

bool built_with_mpi() {
  return false;
}

void start() {
  const int ranks = launched_ranks();
  S2_CHECK(ranks <= 1,
           "this s2cbam was built without MPI, but a launcher started it as one of {} ranks: install "
           "libopenmpi-dev and rebuild (scripts/build.sh), or run it as one process",
           ranks);
}
void stop() {}
int rank() {
  return 0;
}
int size() {
  return 1;
}
int local_rank() {
  return 0;
}
int local_size() {
  return 1;
}
void barrier() {}
void abort_job(int code) {
  std::exit(code);
}
std::vector<double> all_gather(const std::vector<double>& local) {
  return local;
}
std::vector<float> all_gather(const std::vector<float>& local) {
  return local;
}
std::vector<float> all_to_all(const std::vector<float>& send) {
  return send;
}
std::string broadcast_from_root(const std::string& bytes) {
  return bytes;
}
std::vector<std::string> all_gather_bytes(const std::string& local) {
  return {local};
}
std::vector<std::string> gather_bytes_to_root(const std::string& local) {
  return {local};
}

}  // namespace s2::dist::transport
