#include "framework/distributed.h"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "framework/distributed_transport.h"
#include "framework/error.h"

namespace s2::dist {

namespace {
int alone_depth = 0;  // Alone scopes open (only the main thread calls into this module)
bool alone() {
  return alone_depth > 0;
}
}  // namespace

Session::Session() {
  transport::start();
}
Session::~Session() {
  transport::stop();
}
Alone::Alone() {
  ++alone_depth;
}
Alone::~Alone() {
  --alone_depth;
}

bool built_with_mpi() {
  return transport::built_with_mpi();
}
int rank() {
  return alone() ? 0 : transport::rank();
}
int size() {
  return alone() ? 1 : transport::size();
}
int job_rank() {
  return transport::rank();
}
int job_size() {
  return transport::size();
}
int local_rank() {
  return alone() ? 0 : transport::local_rank();
}
int local_size() {
  return alone() ? 1 : transport::local_size();
}
std::string where() {
  return job_size() > 1 ? fmt::format("rank {} of {}", job_rank(), job_size()) : "";
}
void barrier() {
  if (!alone()) transport::barrier();
}
void abort_job(int code) {
  transport::abort_job(code);
}

void inject_fault_if_asked() {
  const char* fault = std::getenv("S2CBAM_FAULT");
  if (fault == nullptr) return;
  const std::string text = fault;
  const size_t colon = text.find(':');
  if (colon == std::string::npos || std::atoi(text.c_str() + colon + 1) != job_rank()) return;
  if (text.compare(0, colon, "kill") == 0) std::raise(SIGKILL);
  throw Error(fmt::format("fault injected by S2CBAM_FAULT={} on rank {}", text, job_rank()));
}

std::vector<double> all_gather(const std::vector<double>& local) {
  inject_fault_if_asked();
  return alone() ? local : transport::all_gather(local);
}

std::string broadcast_from_root(const std::string& bytes) {
  return alone() ? bytes : transport::broadcast_from_root(bytes);
}

std::vector<std::string> gather_bytes_to_root(const std::string& local) {
  inject_fault_if_asked();
  return alone() ? std::vector<std::string>{local} : transport::gather_bytes_to_root(local);
}

std::vector<std::string> all_gather_bytes(const std::string& local) {
  inject_fault_if_asked();
  return alone() ? std::vector<std::string>{local} : transport::all_gather_bytes(local);
}

ShardRange my_shards(int64_t shards) {
  const int64_t n = size();
  S2_CHECK(shards % n == 0,
           "{} ranks cannot share {} shard{} equally: the rank count must divide the shard count", n, shards,
           shards == 1 ? "" : "s");
  return {rank() * shards / n, (rank() + 1) * shards / n};
}

std::vector<float> sum_shards_in_order(const std::vector<float>& local, int64_t length, int64_t shards) {
  inject_fault_if_asked();
  const ShardRange mine = my_shards(shards);
  const int64_t owned = mine.last - mine.first, ranks = size();
  S2_CHECK(static_cast<int64_t>(local.size()) == owned * length,
           "sum_shards_in_order: {} values for {} shards of {}", local.size(), owned, length);
  if (ranks == 1) {  // every shard is here: the same sums, without the copies the exchange needs
    std::vector<float> sum(local.begin(), local.begin() + length);
    for (int64_t s = 1; s < shards; ++s) {
      const float* part = local.data() + s * length;
      for (int64_t e = 0; e < length; ++e) sum[static_cast<size_t>(e)] += part[e];
    }
    return sum;
  }
  // Rank j adds elements [j x segment, (j + 1) x segment) of every shard; the last segment is padded.
  const int64_t segment = (length + ranks - 1) / ranks;
  std::vector<float> send(static_cast<size_t>(ranks * owned * segment), 0.0f);
  for (int64_t j = 0; j < ranks; ++j) {
    const int64_t from = std::min(length, j * segment), to = std::min(length, from + segment);
    for (int64_t s = 0; s < owned; ++s) {
      std::copy(local.begin() + s * length + from, local.begin() + s * length + to,
                send.begin() + (j * owned + s) * segment);
    }
  }
  // Block i came from rank i: its shards, which are the global shards i x owned ... in order.
  const std::vector<float> received = transport::all_to_all(send);
  std::vector<float> sum(received.begin(), received.begin() + segment);
  for (int64_t s = 1; s < shards; ++s) {
    const float* part = received.data() + s * segment;
    for (int64_t e = 0; e < segment; ++e) sum[static_cast<size_t>(e)] += part[e];
  }
  std::vector<float> all = transport::all_gather(sum);
  all.resize(static_cast<size_t>(length));
  return all;
}

}  // namespace s2::dist
