// The cuDNN (conv2d version 3) and cuBLAS (linear version 2) variants. They exist for ablation on a
// GPU; the emulated build has no cuDNN/cuBLAS, so there they throw and callers skip them with a note.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "kernels/cuda/runtime.h"

#if defined(__CUDACC__)
#include <cublas_v2.h>
#include <cudnn.h>
#endif

namespace s2::S2_CUDA_NAMESPACE {

#if defined(__CUDACC__)

namespace {

void check_cudnn(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cuDNN ") + what + ": " + cudnnGetErrorString(status));
  }
}
void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cuBLAS ") + what + ": status " +
                             std::to_string(static_cast<int>(status)));
  }
}

// Library handles, one per host thread, on the default stream (as every kernel).
cudnnHandle_t cudnn_handle() {
  thread_local cudnnHandle_t handle = nullptr;
  if (handle == nullptr) {
    check_cudnn(cudnnCreate(&handle), "cudnnCreate");
  }
  return handle;
}

cublasHandle_t cublas_handle() {
  thread_local cublasHandle_t handle = nullptr;
  if (handle == nullptr) {
    check_cublas(cublasCreate(&handle), "cublasCreate");
  }
  return handle;
}

// A grow-only workspace per thread for cuDNN.
void* cudnn_workspace(size_t bytes) {
  thread_local void* buffer = nullptr;
  thread_local size_t capacity = 0;
  if (bytes > capacity) {
    if (buffer != nullptr) {
      device_free(buffer);
    }
    buffer = nullptr;  // so that a failed allocation leaves no dangling buffer behind
    capacity = 0;
    buffer = device_alloc(bytes);
    capacity = bytes;
  }
  return buffer;
}

// The descriptors of one conv geometry, destroyed with the object.
struct ConvDescriptors {
  cudnnTensorDescriptor_t x{}, y{}, bias{};
  cudnnFilterDescriptor_t w{};
  cudnnConvolutionDescriptor_t conv{};
  explicit ConvDescriptors(const Conv2dGeometry& g) {
    const auto i = [](int64_t v) { return static_cast<int>(v); };
    check_cudnn(cudnnCreateTensorDescriptor(&x), "descriptor");
    check_cudnn(cudnnCreateTensorDescriptor(&y), "descriptor");
    check_cudnn(cudnnCreateTensorDescriptor(&bias), "descriptor");
    check_cudnn(cudnnCreateFilterDescriptor(&w), "descriptor");
    check_cudnn(cudnnCreateConvolutionDescriptor(&conv), "descriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i(g.batch), i(g.c_in),
                                           i(g.h_in), i(g.w_in)),
                "x descriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i(g.batch), i(g.c_out),
                                           i(g.h_out), i(g.w_out)),
                "y descriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, i(g.c_out), 1, 1),
                "bias descriptor");
    check_cudnn(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, i(g.c_out), i(g.c_in),
                                           i(g.kernel_h), i(g.kernel_w)),
                "w descriptor");
    // cuDNN pads symmetrically; 'same' padding of an even kernel is asymmetric and unsupported here.
    check_cudnn(
        cudnnSetConvolution2dDescriptor(conv, i(g.pad_top), i(g.pad_left), i(g.stride_h), i(g.stride_w), 1, 1,
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
        "conv descriptor");
    // Plain FP32 FMA kernels only: cuDNN's default lets Ampere and newer GPUs run float convs on TF32
    // tensor cores (10-bit mantissa), which misses the CPU reference by ~1e-3 of the output's scale
    // (seen on an H100: docs/gpu-results.md).
    check_cudnn(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH), "math type");
  }
  ConvDescriptors(const ConvDescriptors&) = delete;
  ConvDescriptors& operator=(const ConvDescriptors&) = delete;
  ~ConvDescriptors() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
};

// Direct summation only: each output a plain dot product, whose float32 error the kernel checks bound
// per element (kernels/rounding_bound.h). FFT and Winograd algorithms have norm-wise error bounds.
bool sums_directly(cudnnConvolutionFwdAlgo_t a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}
bool sums_directly(cudnnConvolutionBwdDataAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}
bool sums_directly(cudnnConvolutionBwdFilterAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
}

// The first algorithm of cuDNN's list (fastest first) that keeps to FP32 FMA math (the descriptor's math
// type) and sums directly.
template <class Perf>
const Perf* fma_algorithm(const Perf* perf, int found) {
  for (int i = 0; i < found; ++i) {
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].mathType == CUDNN_FMA_MATH &&
        sums_directly(perf[i].algo)) {
      return &perf[i];
    }
  }
  return nullptr;
}

// The most workspace an algorithm may take while cuDNN times them.
constexpr size_t kTimingWorkspace = size_t{64} << 20;

// One pass's algorithm for one geometry, chosen on its first call: cuDNN times its algorithms on the
// call's buffers (as PyTorch's cudnn.benchmark does) and the fastest allowed one is kept; where timing
// fails, cuDNN's heuristic order stands in. Choosing on every call cost milliseconds per conv on an H100
// (docs/gpu-results.md, session 14).
template <class Algo>
struct ChosenAlgo {
  Algo algo{};
  size_t workspace = 0;
};
// Fills `slot` on the pass's first call: the algorithm (timed, else suggested) and its workspace size.
template <class Perf, int kCount, class Algo, class Timed, class Suggested, class Workspace>
const ChosenAlgo<Algo>& choose_once(std::optional<ChosenAlgo<Algo>>& slot, Timed&& timed,
                                    Suggested&& suggested, Workspace&& workspace, const char* what) {
  if (slot) return *slot;
  Perf perf[kCount];
  int found = 0;
  const Perf* best = nullptr;
  if (timed(perf, kCount, &found) == CUDNN_STATUS_SUCCESS) best = fma_algorithm(perf, found);
  if (best == nullptr) {
    check_cudnn(suggested(perf, kCount, &found), what);
    best = fma_algorithm(perf, found);
  }
  if (best == nullptr) {
    throw std::runtime_error(std::string("cuDNN ") + what +
                             ": no direct-summation FP32 (FMA math) algorithm among its suggestions");
  }
  size_t bytes = 0;
  check_cudnn(workspace(best->algo, &bytes), "workspace");
  slot = ChosenAlgo<Algo>{best->algo, bytes};
  return *slot;
}

// Descriptors and chosen algorithms of one conv geometry, kept for the thread's lifetime.
struct ConvPlan {
  explicit ConvPlan(const Conv2dGeometry& g) : d(g) {}
  ConvDescriptors d;
  std::optional<ChosenAlgo<cudnnConvolutionFwdAlgo_t>> forward;
  std::optional<ChosenAlgo<cudnnConvolutionBwdDataAlgo_t>> backward_data;
  std::optional<ChosenAlgo<cudnnConvolutionBwdFilterAlgo_t>> backward_filter;
};

ConvPlan& plan_for(const Conv2dGeometry& g) {
  thread_local std::map<std::array<int64_t, 13>, std::unique_ptr<ConvPlan>> plans;
  std::unique_ptr<ConvPlan>& plan = plans[g.key()];
  if (!plan) plan = std::make_unique<ConvPlan>(g);
  return *plan;
}

__global__ void add_bias_rows_kernel(int64_t rows, int64_t cols, dev_ptr<const float> bias,
                                     dev_ptr<float> y) {
  const int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < rows * cols) {
    y[i] += bias[i % cols];
  }
}

}  // namespace

void conv2d_cudnn_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                          float* y) {
  cudnnHandle_t h = cudnn_handle();
  ConvPlan& p = plan_for(g);
  const ConvDescriptors& d = p.d;
  const auto& chosen = choose_once<cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT>(
      p.forward,
      [&](auto* perf, int count, int* found) {
        return cudnnFindConvolutionForwardAlgorithmEx(h, d.x, x, d.w, w, d.conv, d.y, y, count, found, perf,
                                                      cudnn_workspace(kTimingWorkspace), kTimingWorkspace);
      },
      [&](auto* perf, int count, int* found) {
        return cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, count, found, perf);
      },
      [&](auto algo, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, algo, bytes);
      },
      "forward");
  const float one = 1.0f, zero = 0.0f;
  check_cudnn(cudnnConvolutionForward(h, &one, d.x, x, d.w, w, d.conv, chosen.algo,
                                      cudnn_workspace(chosen.workspace), chosen.workspace, &zero, d.y, y),
              "cudnnConvolutionForward");
  if (bias != nullptr) {
    check_cudnn(cudnnAddTensor(h, &one, d.bias, bias, &one, d.y, y), "cudnnAddTensor");
  }
}

void conv2d_cudnn_backward_input(const Conv2dGeometry& g, const float* w, const float* dy, float* dx) {
  cudnnHandle_t h = cudnn_handle();
  ConvPlan& p = plan_for(g);
  const ConvDescriptors& d = p.d;
  const auto& chosen = choose_once<cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT>(
      p.backward_data,
      [&](auto* perf, int count, int* found) {
        return cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w, w, d.y, dy, d.conv, d.x, dx, count, found,
                                                           perf, cudnn_workspace(kTimingWorkspace),
                                                           kTimingWorkspace);
      },
      [&](auto* perf, int count, int* found) {
        return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, count, found, perf);
      },
      [&](auto algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, algo, bytes);
      },
      "backward data");
  const float one = 1.0f, zero = 0.0f;
  check_cudnn(
      cudnnConvolutionBackwardData(h, &one, d.w, w, d.y, dy, d.conv, chosen.algo,
                                   cudnn_workspace(chosen.workspace), chosen.workspace, &zero, d.x, dx),
      "cudnnConvolutionBackwardData");
}

void conv2d_cudnn_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                  float* dbias) {
  cudnnHandle_t h = cudnn_handle();
  ConvPlan& p = plan_for(g);
  const ConvDescriptors& d = p.d;
  const auto& chosen =
      choose_once<cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT>(
          p.backward_filter,
          [&](auto* perf, int count, int* found) {
            return cudnnFindConvolutionBackwardFilterAlgorithmEx(
                h, d.x, x, d.y, dy, d.conv, d.w, dw, count, found, perf, cudnn_workspace(kTimingWorkspace),
                kTimingWorkspace);
          },
          [&](auto* perf, int count, int* found) {
            return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, count, found,
                                                                 perf);
          },
          [&](auto algo, size_t* bytes) {
            return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, algo, bytes);
          },
          "backward filter");
  const float one = 1.0f, zero = 0.0f;
  check_cudnn(
      cudnnConvolutionBackwardFilter(h, &one, d.x, x, d.y, dy, d.conv, chosen.algo,
                                     cudnn_workspace(chosen.workspace), chosen.workspace, &zero, d.w, dw),
      "cudnnConvolutionBackwardFilter");
  if (dbias != nullptr) {
    check_cudnn(cudnnConvolutionBackwardBias(h, &one, d.y, dy, &zero, d.bias, dbias), "backward bias");
  }
}

// Row-major y[batch, out] is column-major [out, batch]: y^T = w x^T in cuBLAS's terms.
void linear_cublas_forward(int64_t batch, int64_t in, int64_t out, const float* x, const float* w,
                           const float* b, float* y) {
  const float one = 1.0f, zero = 0.0f;
  const auto i = [](int64_t v) { return static_cast<int>(v); };
  check_cublas(cublasSgemm(cublas_handle(), CUBLAS_OP_T, CUBLAS_OP_N, i(out), i(batch), i(in), &one, w, i(in),
                           x, i(in), &zero, y, i(out)),
               "forward");
  if (b != nullptr) {
    launch("add_bias_rows", add_bias_rows_kernel, dim3(blocks_for(batch * out, 256)), dim3(256), batch, out,
           b, y);
  }
}

void linear_cublas_backward(int64_t batch, int64_t in, int64_t out, const float* x, const float* w,
                            const float* dy, float* dx, float* dw, float* db) {
  const float one = 1.0f, zero = 0.0f;
  const auto i = [](int64_t v) { return static_cast<int>(v); };
  cublasHandle_t h = cublas_handle();
  check_cublas(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, i(in), i(batch), i(out), &one, w, i(in), dy, i(out),
                           &zero, dx, i(in)),
               "backward input");
  check_cublas(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, i(in), i(out), i(batch), &one, x, i(in), dy, i(out),
                           &zero, dw, i(in)),
               "backward weight");
  if (db != nullptr) {
    channel_sum(batch, out, 1, dy, db);
  }
}

#else  // the emulator has neither cuDNN nor cuBLAS

namespace {
[[noreturn]] void gpu_only(const char* what) {
  throw std::invalid_argument(std::string(what) + " runs on a GPU only; the CPU emulator cannot execute it");
}
}  // namespace

void conv2d_cudnn_forward(const Conv2dGeometry&, const float*, const float*, const float*, float*) {
  gpu_only("conv2d version 3 (cuDNN)");
}
void conv2d_cudnn_backward_input(const Conv2dGeometry&, const float*, const float*, float*) {
  gpu_only("conv2d version 3 (cuDNN)");
}
void conv2d_cudnn_backward_weight(const Conv2dGeometry&, const float*, const float*, float*, float*) {
  gpu_only("conv2d version 3 (cuDNN)");
}
void linear_cublas_forward(int64_t, int64_t, int64_t, const float*, const float*, const float*, float*) {
  gpu_only("linear version 2 (cuBLAS)");
}
void linear_cublas_backward(int64_t, int64_t, int64_t, const float*, const float*, const float*, float*,
                            float*, float*) {
  gpu_only("linear version 2 (cuBLAS)");
}

#endif

}  // namespace s2::S2_CUDA_NAMESPACE
