// The MPI transport. MPI starts only in a process a launcher started; a plain run stays a job of one
// rank without touching MPI, so the tests and one-machine users pay nothing for it.
#include <mpi.h>

#include <cstdlib>

#include "framework/distributed_launcher.h"
#include "framework/distributed_transport.h"
#include "framework/error.h"

namespace s2::dist::transport {
namespace {
bool started = false;
int my_rank = 0, ranks = 1, my_local_rank = 0, local_ranks = 1;

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("{} failed on rank {} of {}: {}", call, my_rank, ranks, std::string(text, length)));
}
}  // namespace

bool built_with_mpi() {
  return true;
}

void start() {
  if (launched_ranks() == 0) return;
  int provided = 0;
  // Only the main thread calls MPI; OpenMP threads compute between the calls.
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  started = true;
  // Errors come back as codes, turned into messages naming the rank (check) instead of MPI's abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &my_rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &ranks), "MPI_Comm_size");
  MPI_Comm node;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, my_rank, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  MPI_Comm_rank(node, &my_local_rank);
  MPI_Comm_size(node, &local_ranks);
  MPI_Comm_free(&node);
}

void stop() {
  if (started) MPI_Finalize();
  started = false;
}

int rank() {
  return my_rank;
}
int size() {
  return ranks;
}
int local_rank() {
  return my_local_rank;
}
int local_size() {
  return local_ranks;
}

void barrier() {
  if (started) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void abort_job(int code) {
  if (started) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

namespace {
template <typename T>
std::vector<T> all_gather_values(const std::vector<T>& local, MPI_Datatype type) {
  if (!started) return local;
  std::vector<T> all(local.size() * static_cast<size_t>(ranks));
  check(MPI_Allgather(local.data(), static_cast<int>(local.size()), type, all.data(),
                      static_cast<int>(local.size()), type, MPI_COMM_WORLD),
        "MPI_Allgather");
  return all;
}
}  // namespace

std::vector<double> all_gather(const std::vector<double>& local) {
  return all_gather_values(local, MPI_DOUBLE);
}
std::vector<float> all_gather(const std::vector<float>& local) {
  return all_gather_values(local, MPI_FLOAT);
}

std::vector<float> all_to_all(const std::vector<float>& send) {
  if (!started) return send;
  const auto block = static_cast<int>(send.size() / static_cast<size_t>(ranks));
  std::vector<float> received(send.size());
  check(MPI_Alltoall(send.data(), block, MPI_FLOAT, received.data(), block, MPI_FLOAT, MPI_COMM_WORLD),
        "MPI_Alltoall");
  return received;
}

std::string broadcast_from_root(const std::string& bytes) {
  if (!started) return bytes;
  auto length = static_cast<long long>(bytes.size());
  check(MPI_Bcast(&length, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
  std::string out = my_rank == 0 ? bytes : std::string(static_cast<size_t>(length), '\0');
  check(MPI_Bcast(out.data(), static_cast<int>(length), MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
  return out;
}

namespace {
// Every rank's bytes, in rank order, on every rank (`root` < 0) or on `root` alone (the others get none).
std::vector<std::string> gather_bytes(const std::string& local, int root) {
  if (!started) return {local};
  const auto length = static_cast<long long>(local.size());
  std::vector<long long> lengths(static_cast<size_t>(ranks));
  if (root < 0) {
    check(MPI_Allgather(&length, 1, MPI_LONG_LONG, lengths.data(), 1, MPI_LONG_LONG, MPI_COMM_WORLD),
          "MPI_Allgather");
  } else {
    check(MPI_Gather(&length, 1, MPI_LONG_LONG, lengths.data(), 1, MPI_LONG_LONG, root, MPI_COMM_WORLD),
          "MPI_Gather");
  }
  std::vector<int> counts, offsets;
  long long total = 0;
  for (const long long n : lengths) {
    S2_CHECK(total + n < (1LL << 31), "rank results of {} bytes exceed one MPI message", total + n);
    counts.push_back(static_cast<int>(n));
    offsets.push_back(static_cast<int>(total));
    total += n;
  }
  std::string all(static_cast<size_t>(total), '\0');
  if (root < 0) {
    check(MPI_Allgatherv(local.data(), static_cast<int>(length), MPI_CHAR, all.data(), counts.data(),
                         offsets.data(), MPI_CHAR, MPI_COMM_WORLD),
          "MPI_Allgatherv");
  } else {
    check(MPI_Gatherv(local.data(), static_cast<int>(length), MPI_CHAR, all.data(), counts.data(),
                      offsets.data(), MPI_CHAR, root, MPI_COMM_WORLD),
          "MPI_Gatherv");
    if (my_rank != root) return {};
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < counts.size(); ++i)
    out.push_back(all.substr(static_cast<size_t>(offsets[i]), static_cast<size_t>(counts[i])));
  return out;
}
}  // namespace

std::vector<std::string> all_gather_bytes(const std::string& local) {
  return gather_bytes(local, -1);
}
std::vector<std::string> gather_bytes_to_root(const std::string& local) {
  return gather_bytes(local, 0);
}

}  // namespace s2::dist::transport
