#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "kernels/cpu/gemm_microkernels.h"
#include "kernels/cpu/isa.h"

namespace s2::cpu {

namespace {

// op(A)(i, p) and op(B)(p, j) for either storage order.
inline float a_at(bool trans, const float* a, int64_t lda, int64_t i, int64_t p) {
  return trans ? a[p * lda + i] : a[i * lda + p];
}
inline float b_at(bool trans, const float* b, int64_t ldb, int64_t p, int64_t j) {
  return trans ? b[j * ldb + p] : b[p * ldb + j];
}

// A thread's buffer, 64-byte aligned; grows as needed.
float* scratch(std::unique_ptr<float, decltype(&std::free)>& buffer, size_t& capacity, size_t floats) {
  if (floats > capacity) {
    const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    buffer.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    capacity = bytes / sizeof(float);
  }
  return buffer.get();
}

// The loop nest: k in blocks of KC, then NR-column panels of B (read in place when B is stored
// row-major and the panel is full, else packed), then MR-row panels of A (read in place, or packed
// with zero rows at the bottom edge), one kernel call per tile. Splitting k stores partial sums in C
// and reloads them, so each element's chain of fused multiply-adds is unchanged; the zero padding of
// the edges computes values that are thrown away.
template <int MR, int NR, int64_t KC, class Kernel>
void gemm_blocked(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                  const float* b, int64_t ldb, bool accumulate, float* c, int64_t ldc) {
  using gemm_kernels::ALayout;
  thread_local std::unique_ptr<float, decltype(&std::free)> buf(nullptr, &std::free);
  thread_local size_t cap = 0;
  float* b_panel = scratch(buf, cap, static_cast<size_t>(KC * NR + KC * MR + MR * NR));
  float* a_panel = b_panel + KC * NR;
  float* tile = a_panel + KC * MR;
  for (int64_t pc = 0; pc < k; pc += KC) {
    const int64_t kc = std::min(KC, k - pc);
    const bool load = accumulate || pc > 0;
    for (int64_t jr = 0; jr < n; jr += NR) {
      const int64_t cols = std::min<int64_t>(NR, n - jr);
      const float* bp = b + pc * ldb + jr;
      int64_t b_ld = ldb;
      if (trans_b || cols < NR) {
        if (trans_b) {
          gemm_kernels::transpose_copy(b + jr * ldb + pc, ldb, kc, cols, b_panel, NR);
        } else {
          for (int64_t p = 0; p < kc; ++p) std::copy_n(b + (pc + p) * ldb + jr, cols, b_panel + p * NR);
        }
        for (int64_t p = 0; p < kc && cols < NR; ++p)
          std::fill(b_panel + p * NR + cols, b_panel + (p + 1) * NR, 0.0f);
        bp = b_panel;
        b_ld = NR;
      }
      for (int64_t ir = 0; ir < m; ir += MR) {
        const int64_t rows = std::min<int64_t>(MR, m - ir);
        float* ct = c + ir * ldc + jr;
        const bool full = rows == MR && cols == NR;
        gemm_kernels::Tile t{kc, nullptr, 0, bp, b_ld, full ? ct : tile, full ? ldc : NR, load};
        if (!full) {  // an edge tile of C goes through a full-size buffer
          std::fill_n(tile, MR * NR, 0.0f);
          if (load) {
            for (int64_t r = 0; r < rows; ++r) std::copy_n(ct + r * ldc, cols, tile + r * NR);
          }
          t.load_c = true;
        }
        if (rows == MR && trans_a) {
          t.a = a + pc * lda + ir;
          t.a_step = lda;
          Kernel::template run<ALayout::ColumnSteps>(t);
        } else if (rows == MR) {
          t.a = a + ir * lda + pc;
          t.a_step = lda;
          Kernel::template run<ALayout::RowMajor>(t);
        } else {
          for (int64_t p = 0; p < kc; ++p) {
            for (int64_t r = 0; r < MR; ++r)
              a_panel[p * MR + r] = r < rows ? a_at(trans_a, a, lda, ir + r, pc + p) : 0.0f;
          }
          t.a = a_panel;
          t.a_step = MR;
          Kernel::template run<ALayout::ColumnSteps>(t);
        }
        if (!full) {
          for (int64_t r = 0; r < rows; ++r) std::copy_n(tile + r * NR, cols, ct + r * ldc);
        }
      }
    }
  }
}

struct Avx2Kernel {
  template <gemm_kernels::ALayout L>
  static void run(const gemm_kernels::Tile& t) {
    gemm_kernels::avx2_6x16<L>(t);
  }
};
struct Avx512Kernel {
  template <gemm_kernels::ALayout L>
  static void run(const gemm_kernels::Tile& t) {
    gemm_kernels::avx512_8x32<L>(t);
  }
};

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, bool accumulate, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) {
      for (int64_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, n, 0.0f);
    }
    return;
  }
  using namespace gemm_kernels;
  // k blocks keep a B panel (KC x NR floats, 16 KiB) in the L1 cache while the A panels stream past it.
  if (active_isa() == Isa::Avx512) {
    gemm_blocked<kAvx512Rows, kAvx512Cols, 128, Avx512Kernel>(trans_a, trans_b, m, n, k, a, lda, b, ldb,
                                                              accumulate, c, ldc);
  } else {
    gemm_blocked<kAvx2Rows, kAvx2Cols, 256, Avx2Kernel>(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate,
                                                        c, ldc);
  }
}

void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                    const float* b, int64_t ldb, bool accumulate, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float acc = accumulate ? c[i * ldc + j] : 0.0f;
      for (int64_t p = 0; p < k; ++p)
        acc = std::fma(a_at(trans_a, a, lda, i, p), b_at(trans_b, b, ldb, p, j), acc);
      c[i * ldc + j] = acc;
    }
  }
}

}  // namespace s2::cpu
