#pragma once
// Which vector instruction set the CPU kernels use. Every choice gives bit-identical results (the
// kernels fix the order of every sum; see gemm.h), so this only changes speed.
//
// Chosen once per process: the environment variable S2CBAM_ISA (or a binary's --isa, which sets it)
// = auto (default: AVX-512 when the CPU and OS support it, else AVX2), avx2 or avx512. An unknown
// value, or avx512 on a CPU without it, is an error.
#include <string>

namespace s2::cpu {

enum class Isa { Avx2, Avx512 };

// The instruction set in use (resolving S2CBAM_ISA on first use). Throws std::invalid_argument for a
// bad S2CBAM_ISA value.
Isa active_isa();
// Overrides the choice: "auto", "avx2" or "avx512"; throws std::invalid_argument otherwise.
void set_isa(const std::string& name);
bool cpu_has_avx512();
const char* isa_name(Isa isa);

}  // namespace s2::cpu
