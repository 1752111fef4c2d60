#include "experiments/cli/cli.h"

#include <fmt/format.h>
#include <omp.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string_view>
#include <thread>

#include "framework/device.h"
#include "framework/distributed.h"
#include "framework/error.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/parallel.h"

namespace s2::experiments {

Args::Args(int argc, char** argv, std::set<std::string> known) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    S2_CHECK(arg.starts_with("--"), "unexpected argument '{}' (options are --name value)", arg);
    std::string key = arg.substr(2), value;
    if (const auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else {
      S2_CHECK(i + 1 < argc, "option --{} needs a value", key);
      // "--resume --threads 2" is a missing value, not the value "--threads".
      S2_CHECK(!std::string_view(argv[i + 1]).starts_with("--"),
               "option --{} needs a value, got the option {}", key, argv[i + 1]);
      value = argv[++i];
    }
    S2_CHECK(known.count(key) > 0, "unknown option --{} (known: --{})", key, fmt::join(known, ", --"));
    values_[key] = value;
  }
}

std::string Args::get(const std::string& key, const std::string& fallback) const {
  const auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::require(const std::string& key) const {
  const auto it = values_.find(key);
  S2_CHECK(it != values_.end(), "missing required option --{}", key);
  return it->second;
}

int64_t Args::get_int(const std::string& key, int64_t fallback) const {
  if (!has(key)) return fallback;
  const std::string v = get(key, "");
  int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  S2_CHECK(ec == std::errc() && end == v.data() + v.size(), "option --{}: '{}' is not an integer", key, v);
  return out;
}

double Args::get_double(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const std::string v = get(key, "");
  double out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  S2_CHECK(ec == std::errc() && end == v.data() + v.size() && std::isfinite(out),
           "option --{}: '{}' is not a number", key, v);
  return out;
}

bool Args::get_yes_no(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const std::string v = get(key, "");
  S2_CHECK(v == "yes" || v == "no", "option --{} takes yes or no, got '{}'", key, v);
  return v == "yes";
}

std::vector<std::string> Args::get_list(const std::string& key,
                                        const std::vector<std::string>& fallback) const {
  if (!has(key)) return fallback;
  std::vector<std::string> out;
  std::string item;
  for (char c : get(key, "") + ",") {
    if (c == ',') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  S2_CHECK(!out.empty(), "option --{} needs at least one item", key);
  return out;
}

std::vector<uint64_t> Args::get_seeds(const std::string& key, const std::vector<uint64_t>& fallback) const {
  if (!has(key)) return fallback;
  std::vector<uint64_t> out;
  for (const auto& item : get_list(key, {})) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    S2_CHECK(ec == std::errc() && end == item.data() + item.size(), "option --{}: '{}' is not a seed", key,
             item);
    out.push_back(v);
  }
  return out;
}

namespace {
// One rank's failure ends the job: the others would otherwise wait in a collective for it forever.
int fail(const std::string& prefix, const char* what) {
  const std::string where = dist::where();
  fmt::print(stderr, "{}{}{}\n", where.empty() ? "" : where + ": ", prefix, what);
  std::fflush(stderr);
  if (dist::job_size() > 1) dist::abort_job(1);
  return 1;
}

enum class Ranks { One, Many };

int run_main_on(const std::function<int()>& body, Ranks ranks) {
  std::optional<dist::Session> session;  // alive in the handlers, so that they can end the whole job
  try {
    session.emplace();
    // Rank 0 alone prints the log; errors, on stderr, name their rank.
    if (!dist::is_root())
      S2_CHECK(std::freopen("/dev/null", "w", stdout) != nullptr, "cannot quiet rank {}", dist::rank());
    S2_CHECK(
        ranks == Ranks::Many || dist::job_size() == 1,
        "this binary runs as one process; it was started as {} (train, reproduce, ablate and predict_map run "
        "under mpirun)",
        dist::where());
    // A bad S2CBAM_ISA is the user's error, reported before any work.
    try {
      (void)cpu::active_isa();
    } catch (const std::invalid_argument& e) {
      throw Error(e.what());
    }
    return body();
  } catch (const Error& e) {
    return fail("error: ", e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave that cannot be made or written (a folder under a regular file, no permission):
    // the message names the path.
    return fail("error: ", e.what());
  } catch (const std::exception& e) {
    return fail("internal error: ", e.what());
  }
}

}  // namespace

int run_main(const std::function<int()>& body) {
  return run_main_on(body, Ranks::One);
}
int run_job(const std::function<int()>& body) {
  return run_main_on(body, Ranks::Many);
}

std::set<std::string> with_device_options(std::set<std::string> known) {
  known.insert(kDeviceOptions.begin(), kDeviceOptions.end());
  return known;
}

int apply_threads_option(const Args& args, int fallback) {
  int64_t threads = args.get_int("threads", fallback);
  S2_CHECK(!args.has("threads") || (threads >= 1 && threads <= 1024),
           "option --threads must be 1 to 1024, got {}", threads);
  const auto hardware = static_cast<int64_t>(std::thread::hardware_concurrency());
  if (args.has("threads") && hardware > 0 && threads > hardware) {
    // More threads than the machine runs only adds switching; results are the same for any count.
    fmt::print(stderr, "warning: --threads {} is more than this machine's {} hardware threads; using {}\n",
               threads, hardware, hardware);
    threads = hardware;
  }
  if (threads > 0) omp_set_num_threads(static_cast<int>(threads));
  cpu::init_threading();
  return cpu::max_threads();
}

void apply_isa_option(const Args& args) {
  if (!args.has("isa")) return;
  try {
    cpu::set_isa(args.get("isa", "auto"));
  } catch (const std::invalid_argument& e) {
    throw Error(e.what());
  }
}

Device apply_device_options(const Args& args) {
  apply_isa_option(args);
  const Device device = select_device(args.get("device", "auto"));
  // One rank per GPU, chosen before any device memory exists.
  if (device == Device::CUDA && !device_kernels().emulated && dist::job_size() > 1) dist::use_local_gpu();
  if (args.has("kernels")) {
    S2_CHECK(device == Device::CUDA,
             "option --kernels chooses CUDA kernel versions; it needs --device cuda or emulator");
    set_device_kernel_versions(args.require("kernels"));
  }
  if (device == Device::CUDA) {
    fmt::print("device: {}; kernels {}\n", describe_compute(device), device_kernel_versions().describe());
  } else {
    fmt::print("device: cpu ({}){}\n", describe_compute(Device::CPU),
               args.get("device", "auto") == "auto" ? "; no GPU present" : "");
  }
  return device;
}

std::string describe_compute(Device device) {
  if (device == Device::CUDA)
    return fmt::format("{} ({})", device_kernels().name, device_kernels().device_description());
  const int threads = cpu::max_threads();
  return fmt::format("CPU, {} thread{}, {}", threads, threads == 1 ? "" : "s",
                     cpu::isa_name(cpu::active_isa()));
}

}  // namespace s2::experiments
