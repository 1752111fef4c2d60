#include "kernels/cpu/parallel.h"

#include "kernels/cpu/isa.h"

namespace s2::cpu {

void init_threading() {
  (void)active_isa();
}

int max_threads() {
  return omp_get_max_threads();
}

}  // namespace s2::cpu
