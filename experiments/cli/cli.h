#pragma once
// Command-line plumbing shared by the experiment binaries: --key value flags checked against the
// known names, and a main wrapper that turns s2::Error into a one-line message and exit code 1.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "framework/tensor.h"

namespace s2::experiments {

class Args {
 public:
  Args(int argc, char** argv, std::set<std::string> known);
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  std::string get(const std::string& key, const std::string& fallback) const;
  std::string require(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  // An option that takes yes or no; anything else is an error naming the option.
  bool get_yes_no(const std::string& key, bool fallback) const;
  // A comma-separated list ("1,2,3"); `fallback` when the option is absent.
  std::vector<std::string> get_list(const std::string& key, const std::vector<std::string>& fallback) const;
  std::vector<uint64_t> get_seeds(const std::string& key, const std::vector<uint64_t>& fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

// Runs `body` as the binary's main and turns an error into a one-line message and exit code 1. Refuses
// to run as one of several MPI ranks.
int run_main(const std::function<int()>& body);
// The same for the binaries that run as one job over MPI ranks (train, reproduce, ablate,
// predict_map): joins the job (framework/distributed.h); an error on one rank is printed naming the
// rank, and ends the whole job.
int run_job(const std::function<int()>& body);

// The options every experiment binary takes for where it runs: --device auto|cpu|cuda|emulator
// (auto = cuda when a GPU is present, else cpu), --kernels op=version,... for the device kernels, and
// --isa auto|avx2|avx512 for the CPU kernels' instruction set (as S2CBAM_ISA; results are the same
// bits with either). Selects the backend and prints one line saying where the run goes.
inline const std::set<std::string> kDeviceOptions = {"device", "kernels", "isa"};
Device apply_device_options(const Args& args);
// --isa alone, for binaries that run on the CPU only.
void apply_isa_option(const Args& args);
// --threads N (1 to 1024, capped at the machine's hardware threads with a warning; `fallback` when
// absent, 0 = OpenMP's default) for the CPU kernels, then the kernels' start-up checks; returns the
// thread count in use. Every binary sets threads through this.
int apply_threads_option(const Args& args, int fallback = 0);
std::set<std::string> with_device_options(std::set<std::string> known);

// Where a run computes, for reports ("CPU, 2 threads"). On the CPU, results repeat bit for bit for
// the same seeds whatever the thread count and instruction set (README, "Determinism").
std::string describe_compute(Device device);

}  // namespace s2::experiments
