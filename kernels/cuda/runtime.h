#pragma once
// The conventions every kernel source in kernels/cuda/ is written against, so that the same file
// compiles with nvcc for the GPU and with the host compiler for the CPU emulator (kernels/emu/):
//   - device buffers are kernel parameters of type dev_ptr<T> (a raw pointer under nvcc, a
//     bounds- and race-checked pointer in the emulator); keep derived pointers as dev_ptr too (use auto);
//   - shared memory is declared with S2_SHARED(type, name, [extent]...) and passed to device functions
//     as smem_ptr<T>; atomics take `&p[i]` of either. In the emulator p[i] is a checked reference, so
//     read an element into a typed local (`const float v = x[i]`), not `auto`, which would keep the
//     reference and read later;
//   - kernels are launched with launch("name", kernel, grid, block, args...), never <<<>>>;
//   - code lives in namespace s2::S2_CUDA_NAMESPACE (s2::cuda on the GPU, s2::cuda_emu emulated).
#include <string>
#include <tuple>
#include <utility>

#include "kernels/cuda/kernel_api_types.h"

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#include "kernels/cuda/api.h"
#define S2_CUDA_NAMESPACE cuda
#else
#include "kernels/emu/api.h"
#include "kernels/emu/device_api.h"
#define S2_CUDA_NAMESPACE cuda_emu
#endif
#include "kernels/cuda/internal.h"

namespace s2::S2_CUDA_NAMESPACE {

#if defined(__CUDACC__)
#define S2_SHARED(type, name, extents) __shared__ type name extents
template <class T>
using dev_ptr = T*;
template <class T>
using smem_ptr = T*;
// Throws with the kernel's name and launch shape when the launch failed (and, with
// S2_CUDA_SYNC=1 in the environment, when the kernel itself failed).
void check_launch(const char* name, dim3 grid, dim3 block);
#else
#define S2_SHARED(type, name, extents) static thread_local ::s2::emu::SharedArray<type extents> name
template <class T>
using dev_ptr = emu::DevPtr<T>;
template <class T>
using smem_ptr = emu::CheckedPtr<T>;
#endif

template <class... P, class... A>
void launch(const char* name, void (*kernel)(P...), dim3 grid, dim3 block, A&&... args) {
#if defined(__CUDACC__)
  kernel<<<grid, block>>>(static_cast<P>(std::forward<A>(args))...);
  check_launch(name, grid, block);
#else
  try {
    const std::tuple<P...> params(static_cast<P>(std::forward<A>(args))...);
    emu::run_kernel(name, grid, block, [&] { std::apply(kernel, params); });
  } catch (const emu::KernelError& e) {
    const std::string what = e.what();
    throw emu::KernelError(what.rfind("kernel ", 0) == 0 ? what
                                                         : "kernel " + std::string(name) + ": " + what);
  }
#endif
}

// Blocks of `threads` covering n items.
inline unsigned blocks_for(int64_t n, unsigned threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

}  // namespace s2::S2_CUDA_NAMESPACE
