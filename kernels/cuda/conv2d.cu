// conv2d forward and backward as implicit GEMMs: on the CUDA cores (versions 1 and 2) and on the tensor
// cores (4: TF32, 5: BF16, tensor_core_gemm.cuh), plus the cuDNN version 3 (library_variants.cu, GPU
// build only) and version 6, the faster FP32 one of 2 and 3 per shape.
#include <algorithm>
#include <exception>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/conv2d_problems.cuh"
#include "kernels/cuda/conv2d_tile_loaders.cuh"
#include "kernels/cuda/implicit_gemm.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/tensor_core_gemm.cuh"

namespace s2::S2_CUDA_NAMESPACE {

namespace {

// dst[c] = sum over (outer, inner) of src[outer, c, inner]: the bias gradient. One block per channel.
__global__ void channel_sum_kernel(int64_t outer, int64_t channels, int64_t inner, dev_ptr<const float> src,
                                   dev_ptr<float> dst) {
  const int64_t c = blockIdx.x;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < outer * inner; i += blockDim.x) {
    s += src[(i / inner * channels + c) * inner + i % inner];
  }
  s = block_sum(s);
  if (threadIdx.x == 0) {
    dst[c] = s;
  }
}

// Launches one of the conv's GEMMs as kernel `name`_v<version>: versions 1 and 2 on the CUDA cores,
// 4 (TF32) and 5 (BF16) on the tensor cores through `Loader`. splits > 1 needs a zeroed output.
template <class Loader, class Problem>
void launch_conv_gemm(const std::string& name, int version, const Problem& p, int64_t splits) {
  const std::string kernel = name + "_v" + std::to_string(version);
  if (version == 4) {
    launch_gemm_mma<MathMode::Tf32, Loader>(kernel.c_str(), p, splits);
  } else if (version == 5) {
    launch_gemm_mma<MathMode::Bf16, Loader>(kernel.c_str(), p, splits);
  } else {
    launch_gemm(kernel.c_str(), version, p, splits);
  }
}

// Version 6: the faster of the FP32 versions 2 and 3 for each geometry and pass, timed on the pass's first
// call with its own buffers (as PyTorch's cudnn.benchmark). Every version overwrites its outputs, so the
// trials leave nothing behind. A version that cannot run (cuDNN in the emulator) is left out, and with one
// left nothing is timed. Returns the version to run, or 0 when the last trial was the chosen version and
// its outputs stand.
constexpr int kFastestFp32 = 6;
enum class ConvPass { Forward, BackwardInput, BackwardWeight };

int fastest_fp32(ConvPass pass, const Conv2dGeometry& g, const std::function<void(int)>& run) {
  thread_local std::map<std::pair<ConvPass, std::array<int64_t, 13>>, int> chosen;
  const auto key = std::make_pair(pass, g.key());
  if (const auto it = chosen.find(key); it != chosen.end()) return it->second;
  std::vector<int> runnable;
  std::exception_ptr failure;
  int last = 0;  // the version whose outputs the buffers hold, 0 after a failed trial
  for (const int v : {3, 2}) {
    try {
      last = 0;
      run(v);
      runnable.push_back(v);
      last = v;
    } catch (const std::exception&) {
      failure = std::current_exception();
    }
  }
  if (runnable.empty()) std::rethrow_exception(failure);
  int best = runnable.front();
  if (runnable.size() > 1) {
    double best_ms = 0.0;
    for (const int v : runnable) {
      const double ms = time_ms([&] { run(v); }, 3);
      if (v == runnable.front() || ms < best_ms) {
        best = v;
        best_ms = ms;
      }
      last = v;
    }
  }
  chosen[key] = best;
  return best == last ? 0 : best;
}

}  // namespace

void channel_sum(int64_t outer, int64_t channels, int64_t inner, const float* src, float* dst) {
  launch("channel_sum", channel_sum_kernel, dim3(static_cast<unsigned>(channels)), dim3(256), outer, channels,
         inner, src, dst);
}

std::vector<KernelVersion> conv2d_versions() {
  // Shares: naive loads both operands of every multiply-add from cache; the tiled kernel is a
  // textbook SGEMM (about 30% of FP32 peak on large GEMMs) halved by the im2col index divisions, no
  // double buffering and grids of a few dozen blocks at the paper's shapes; cuDNN's own kernels.
  // The tensor-core versions' shares are of the TF32 and BF16 rooflines: FP32 in shared memory converted
  // per fragment read, 4-byte copies, no ldmatrix and grids of a few hundred blocks at batch 64 put
  // them near the FP32 peak, not near the tensor peak.
  return {
      {1, "naive: one thread per output", false, 0.03},
      {2, "tiled implicit GEMM 64x64x16, 4x4 per thread, split-K for dW", false, 0.15},
      {3, "cuDNN", true, 0.5},
      {4,
       "tensor cores, TF32 mma.sync m16n8k8: implicit GEMM 64x64x16 on 4 warps, 2 shared stages filled by "
       "cp.async, division-free im2col",
       false, 0.10, MathMode::Tf32},
      {5, "tensor cores, BF16 mma.sync m16n8k16 with FP32 accumulation, as version 4", false, 0.05,
       MathMode::Bf16},
      {6, "the faster of 2 and 3 for each shape and pass, timed on its first call (2 where cuDNN is absent)",
       false, 0.5}};
}

void conv2d_forward(int version, const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                    float* y) {
  require_version("conv2d_forward", version, conv2d_versions());
  if (version == kFastestFp32) {
    version = fastest_fp32(ConvPass::Forward, g, [&](int v) { conv2d_forward(v, g, x, w, bias, y); });
    if (version == 0) return;
  }
  if (version == 3) {
    return conv2d_cudnn_forward(g, x, w, bias, y);
  }
  const ConvForward p{g.c_out,
                      g.batch * g.out_pixels(),
                      g.patch_size(),
                      w,
                      bias,
                      y,
                      PaddedInput{x, g.c_in, g.h_in, g.w_in},
                      taps_of(g),
                      g.out_pixels(),
                      g.kernel_h * g.kernel_w};
  launch_conv_gemm<ForwardTileLoader>("conv2d_forward", version, p, 1);
}

void conv2d_backward_input(int version, const Conv2dGeometry& g, const float* w, const float* dy, float* dx) {
  require_version("conv2d_backward_input", version, conv2d_versions());
  if (version == kFastestFp32) {
    version =
        fastest_fp32(ConvPass::BackwardInput, g, [&](int v) { conv2d_backward_input(v, g, w, dy, dx); });
    if (version == 0) return;
  }
  if (version == 3) {
    return conv2d_cudnn_backward_input(g, w, dy, dx);
  }
  const ConvBackwardInput p{g.c_in, g.batch * g.in_pixels(), g.c_out * g.kernel_h * g.kernel_w, w, dy, dx, g};
  launch_conv_gemm<BackwardInputTileLoader>("conv2d_backward_input", version, p, 1);
}

void conv2d_backward_weight(int version, const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                            float* dbias) {
  require_version("conv2d_backward_weight", version, conv2d_versions());
  if (version == kFastestFp32) {
    version = fastest_fp32(ConvPass::BackwardWeight, g,
                           [&](int v) { conv2d_backward_weight(v, g, x, dy, dw, dbias); });
    if (version == 0) return;
  }
  if (version == 3) {
    return conv2d_cudnn_backward_weight(g, x, dy, dw, dbias);
  }
  const ConvBackwardWeight p{
      g.c_out,    g.patch_size(), g.batch * g.out_pixels(), dy, dw, PaddedInput{x, g.c_in, g.h_in, g.w_in},
      taps_of(g), g.out_pixels(), g.kernel_h * g.kernel_w};
  // Few output tiles and a long K (batch x pixels): split K so that enough blocks run.
  const int64_t tiles = ((p.M + kTileM - 1) / kTileM) * ((p.N + kTileN - 1) / kTileN);
  static_assert(kMmaTileM == kTileM && kMmaTileN == kTileN, "the tensor-core versions split K the same way");
  const int64_t splits = version == 1 ? 1 : std::max<int64_t>(1, std::min<int64_t>(p.K / 512, 64 / tiles));
  if (splits > 1) {
    fill_zero(dw, sizeof(float) * static_cast<size_t>(p.M * p.N));
  }
  launch_conv_gemm<BackwardWeightTileLoader>("conv2d_backward_weight", version, p, splits);
  if (dbias != nullptr) {
    channel_sum(g.batch, g.c_out, g.out_pixels(), dy, dbias);
  }
}

}  // namespace s2::S2_CUDA_NAMESPACE
