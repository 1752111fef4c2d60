#pragma once
// How many ranks a launcher (mpirun, srun) says this process is one of, from the environment it sets
// for each rank; 0 when no launcher started it.
#include <cstdlib>
#include <initializer_list>

namespace s2::dist {

inline int launched_ranks() {
  // Open MPI's mpirun; srun and MPICH's Hydra with PMI-1/2; srun with PMIx sets the step's task count.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return std::atoi(v);
  }
  if (std::getenv("PMIX_RANK") != nullptr) {
    const char* tasks = std::getenv("SLURM_STEP_NUM_TASKS");
    return tasks != nullptr ? std::atoi(tasks) : 1;
  }
  return 0;
}

}  // namespace s2::dist
