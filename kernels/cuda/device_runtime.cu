// Device memory and copies: the CUDA runtime on a GPU, plain host memory registered with the executor in
// the emulated build. Everything runs on the default stream, in issue order (the emulator runs each
// call to completion).
#include <chrono>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

#include "kernels/cuda/runtime.h"

#if defined(__CUDACC__)
#include <cstdlib>
#endif

namespace s2::S2_CUDA_NAMESPACE {

namespace {
// Tensor-core versions use mma.sync on TF32/BF16 and cp.async: compute capability 8.0 or later.
void require_tensor_cores(const char* op, int version) {
#if defined(__CUDACC__)
  int device = 0, major = 0;
  if (cudaGetDevice(&device) == cudaSuccess &&
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess && major < 8) {
    throw std::invalid_argument(std::string(op) + ": kernel version " + std::to_string(version) +
                                " needs tensor cores with TF32/BF16 (compute capability 8.0 or later); this "
                                "GPU has " +
                                std::to_string(major) + ".x");
  }
#else
  (void)op;
  (void)version;  // the emulator models sm_80's instructions
#endif
}
}  // namespace

void require_version(const char* op, int version, const std::vector<KernelVersion>& known) {
  std::string names;
  for (const KernelVersion& k : known) {
    if (k.number == version) {
      if (k.math != MathMode::Fp32) {
        require_tensor_cores(op, version);
      }
      return;
    }
    names += (names.empty() ? "" : ", ") + std::to_string(k.number) + " " + k.name;
  }
  throw std::invalid_argument(std::string(op) + ": unknown kernel version " + std::to_string(version) + " (" +
                              names + ")");
}

std::vector<KernelVersion> versions_of(VersionedOp op) {
  switch (op) {
    case VersionedOp::Conv2d: return conv2d_versions();
    case VersionedOp::Linear: return linear_versions();
    case VersionedOp::ChannelAttention: return channel_attention_versions();
    case VersionedOp::SpatialAttention: return spatial_attention_versions();
    case VersionedOp::BnEpilogue: return bn_epilogue_versions();
  }
  throw std::logic_error("versions_of: an op missing from the registry's switch");
}

#if defined(__CUDACC__)

namespace {
void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
  }
}
constexpr cudaStream_t kDefaultStream = nullptr;
bool sync_after_launch() {
  const char* v = std::getenv("S2_CUDA_SYNC");
  return v != nullptr && std::string(v) == "1";
}
}  // namespace

void check_launch(const char* name, dim3 grid, dim3 block) {
  cudaError_t status = cudaGetLastError();
  if (status == cudaSuccess && sync_after_launch()) {
    status = cudaDeviceSynchronize();
  }
  if (status != cudaSuccess) {
    throw std::runtime_error("CUDA kernel " + std::string(name) + " grid (" + std::to_string(grid.x) + "," +
                             std::to_string(grid.y) + "," + std::to_string(grid.z) + ") block (" +
                             std::to_string(block.x) + "," + std::to_string(block.y) + "," +
                             std::to_string(block.z) + "): " + cudaGetErrorString(status));
  }
}

bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

std::string device_description() {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
         std::to_string(prop.multiProcessorCount) + " SMs)";
}

namespace {
int attribute(cudaDeviceAttr what) {
  int v = 0;
  check(cudaDeviceGetAttribute(&v, what, 0), "cudaDeviceGetAttribute");
  return v;
}
}  // namespace

double device_peak_gflops() {
  const int major = attribute(cudaDevAttrComputeCapabilityMajor);
  const int minor = attribute(cudaDevAttrComputeCapabilityMinor);
  // FP32 lanes per SM: 64 on Volta/Turing and A100, 128 on the other Ampere parts and later.
  const int lanes = major < 8 || (major == 8 && minor == 0) ? 64 : 128;
  const double clock_ghz = attribute(cudaDevAttrClockRate) / 1e6;  // kHz -> GHz
  return 2.0 * lanes * attribute(cudaDevAttrMultiProcessorCount) * clock_ghz;
}

double device_peak_gbps() {
  const double clock_ghz = attribute(cudaDevAttrMemoryClockRate) / 1e6;
  return 2.0 * clock_ghz * attribute(cudaDevAttrGlobalMemoryBusWidth) / 8.0;  // double data rate
}

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  check(cudaMalloc(&p, bytes), ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str());
  return p;
}
void device_free(void* p) {
  check(cudaFree(p), "cudaFree");
}
void copy_to_device(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, kDefaultStream), "copy to device");
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, kDefaultStream), "copy to host");
  check(cudaStreamSynchronize(kDefaultStream), "copy to host");
}
void copy_on_device(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, kDefaultStream), "copy on device");
}
void fill_zero(void* dst, size_t bytes) {
  check(cudaMemsetAsync(dst, 0, bytes, kDefaultStream), "cudaMemsetAsync");
}
void synchronize() {
  check(cudaStreamSynchronize(kDefaultStream), "cudaStreamSynchronize");
}

// Each repeat is timed alone, after a memset of twice the L2 cache (as llm.c's dev/cuda benchmarks
// flush it), so that no repeat runs on inputs the one before left in L2: the figures are those of a
// kernel inside a training step, where other kernels' data evicts its inputs in between.
double time_ms(const std::function<void()>& body, int repeats) {
  body();  // warm-up: first-launch costs, cuDNN algorithm choice
  int device = 0, l2_bytes = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device), "cudaDeviceGetAttribute");
  const size_t flush_bytes = 2 * static_cast<size_t>(l2_bytes > 0 ? l2_bytes : (1 << 20));
  void* flush = nullptr;
  check(cudaMalloc(&flush, flush_bytes), "cudaMalloc (L2 flush buffer)");
  cudaEvent_t start = nullptr, stop = nullptr;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  double total_ms = 0.0;
  for (int i = 0; i < repeats; ++i) {
    check(cudaMemsetAsync(flush, i & 0xff, flush_bytes, kDefaultStream), "cudaMemsetAsync (L2 flush)");
    check(cudaEventRecord(start, kDefaultStream), "cudaEventRecord");
    body();
    check(cudaEventRecord(stop, kDefaultStream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    total_ms += static_cast<double>(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  check(cudaFree(flush), "cudaFree (L2 flush buffer)");
  return total_ms / repeats;
}

#else  // the emulator

bool device_available() {
  return true;
}
std::string device_description() {
  return "CPU emulator of the CUDA programming model";
}
double device_peak_gflops() {
  return 0.0;
}
double device_peak_gbps() {
  return 0.0;
}
void* device_alloc(size_t bytes) {
  return emu::device_malloc(bytes);
}
void device_free(void* p) {
  emu::device_free(p);
}

namespace {
void require_device(const void* p, size_t bytes, const char* what) {
  const emu::Allocation a = emu::find_allocation(p);
  if (a.begin == nullptr || static_cast<const char*>(p) + bytes > a.end) {
    throw emu::KernelError(std::string(what) + ": " + std::to_string(bytes) +
                           " bytes do not lie inside one device allocation");
  }
}
}  // namespace

void copy_to_device(void* dst, const void* src, size_t bytes) {
  require_device(dst, bytes, "copy_to_device");
  std::memcpy(dst, src, bytes);
  emu::mark_device_written(dst, bytes);
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  require_device(src, bytes, "copy_to_host");
  std::memcpy(dst, src, bytes);
}
void copy_on_device(void* dst, const void* src, size_t bytes) {
  require_device(dst, bytes, "copy_on_device");
  require_device(src, bytes, "copy_on_device");
  std::memmove(dst, src, bytes);
  emu::copy_device_written(dst, src, bytes);
}
void fill_zero(void* dst, size_t bytes) {
  require_device(dst, bytes, "fill_zero");
  std::memset(dst, 0, bytes);
  emu::mark_device_written(dst, bytes);
}
void synchronize() {}

double time_ms(const std::function<void()>& body, int repeats) {
  body();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) {
    body();
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
         repeats;
}

#endif

}  // namespace s2::S2_CUDA_NAMESPACE
