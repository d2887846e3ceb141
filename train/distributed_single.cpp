// distributed_single.cpp: the Communicator of a build without MPI (distributed.h): one rank, and
// every collective call leaves its argument as it is.
#include "train/distributed.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace seqnet {

namespace {

// Started as one of several processes by mpirun or srun, this build would train a separate copy
// of the model in each, all writing the same run folder: refused.
int launched_processes() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* value = std::getenv(name)) return std::atoi(value);
  return 1;
}

}  // namespace

Communicator& world() {
  if (const int processes = launched_processes(); processes > 1)
    throw std::runtime_error("this seqnet was built without MPI (SEQNET_MPI) but started as one of " +
                             std::to_string(processes) +
                             " processes: each would train alone. Install libopenmpi-dev and rebuild, or start one "
                             "process");
  static Communicator communicator(0, 1);
  return communicator;
}

bool built_with_mpi() { return false; }

void Communicator::average(Tensor&) {}
double Communicator::average(double value) { return value; }
void Communicator::barrier() {}
void Communicator::sum(double*, int64_t) {}
void Communicator::expect_same_everywhere(const Tensor&, const std::string&) {}

void Communicator::abort(const std::string& message) {
  std::fprintf(stderr, "seqnet: error: %s\n", message.c_str());
  std::exit(1);
}

}  // namespace seqnet
