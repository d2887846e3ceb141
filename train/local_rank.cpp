// local_rank.cpp: this process's rank on its node, from the launcher (distributed.h).
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "train/distributed.h"

namespace seqnet {

LocalRank local_rank() {
  // Open MPI's mpirun, Slurm's srun, MPICH's Hydra: each names the rank among its node's processes.
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"}) {
    const char* value = std::getenv(name);
    if (!value) continue;
    char* end = nullptr;
    const long rank = std::strtol(value, &end, 10);
    if (end == value || *end != '\0' || rank < 0 || rank > 1 << 20)
      throw std::runtime_error(std::string("the launcher set ") + name + "='" + value +
                               "', which is not a local rank (a number >= 0)");
    return {int(rank), name};
  }
  return {0, ""};
}

}  // namespace seqnet
