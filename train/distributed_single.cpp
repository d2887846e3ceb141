// distributed_single.cpp: the Communicator of a build without MPI (distributed.h): one rank, and
// every collective call leaves its argument as it is.
#include "train/distributed.h"

#include <cstdio>
#include <cstdlib>

namespace seqnet {

Communicator& world() {
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
