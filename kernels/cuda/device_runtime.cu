// Device memory, copies and streams: the CUDA runtime on a GPU, plain host memory registered with
// the executor in the emulated build (where "streams" are synchronous).
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cuda/runtime.h"

#if defined(__CUDACC__)
#include <cstdlib>
#endif

namespace s2::S2_CUDA_NAMESPACE {

#if defined(__CUDACC__)

namespace {
void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
  }
}
cudaStream_t native(StreamHandle s) { return static_cast<cudaStream_t>(s); }
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

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  check(cudaMalloc(&p, bytes), ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str());
  return p;
}
void device_free(void* p) { check(cudaFree(p), "cudaFree"); }
void copy_to_device(void* dst, const void* src, size_t bytes, StreamHandle s) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, native(s)), "copy to device");
}
void copy_to_host(void* dst, const void* src, size_t bytes, StreamHandle s) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, native(s)), "copy to host");
  check(cudaStreamSynchronize(native(s)), "copy to host");
}
void fill_zero(void* dst, size_t bytes, StreamHandle s) {
  check(cudaMemsetAsync(dst, 0, bytes, native(s)), "cudaMemsetAsync");
}
StreamHandle create_stream() {
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  return s;
}
void destroy_stream(StreamHandle s) { check(cudaStreamDestroy(native(s)), "cudaStreamDestroy"); }
void synchronize(StreamHandle s) { check(cudaStreamSynchronize(native(s)), "cudaStreamSynchronize"); }

#else  // the emulator

bool device_available() { return true; }
std::string device_description() { return "CPU emulator of the CUDA programming model"; }
void* device_alloc(size_t bytes) { return emu::device_malloc(bytes); }
void device_free(void* p) { emu::device_free(p); }

namespace {
void require_device(const void* p, size_t bytes, const char* what) {
  const emu::Allocation a = emu::find_allocation(p);
  if (a.begin == nullptr || static_cast<const char*>(p) + bytes > a.end) {
    throw emu::KernelError(std::string(what) + ": " + std::to_string(bytes) +
                           " bytes do not lie inside one device allocation");
  }
}
}  // namespace

void copy_to_device(void* dst, const void* src, size_t bytes, StreamHandle) {
  require_device(dst, bytes, "copy_to_device");
  std::memcpy(dst, src, bytes);
}
void copy_to_host(void* dst, const void* src, size_t bytes, StreamHandle) {
  require_device(src, bytes, "copy_to_host");
  std::memcpy(dst, src, bytes);
}
void fill_zero(void* dst, size_t bytes, StreamHandle) {
  require_device(dst, bytes, "fill_zero");
  std::memset(dst, 0, bytes);
}
StreamHandle create_stream() { return nullptr; }
void destroy_stream(StreamHandle) {}
void synchronize(StreamHandle) {}

#endif

}  // namespace s2::S2_CUDA_NAMESPACE
