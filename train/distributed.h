// distributed.h: data-parallel training over MPI ranks (`mpirun -np R seqnet train ...`).
//
// Every rank holds the whole model and optimizer. In a step rank r trains on its share of the
// global batch (BatchLoaderSettings::part: whole images of the batch, its own deterministic crop
// stream), the one gradient buffer is averaged over the ranks with one MPI_Allreduce, and every
// rank applies the same Adam step to the same weights, so the weights stay the same everywhere.
//
// Why the average: the loss is a mean over the B crops of a batch (model/loss.h), so rank r's
// gradient is R/B times the sum over its B/R crops, and the mean of the R gradients is 1/B times
// the sum over all B crops: the gradient of one process with the whole batch.
//
// distributed.cpp implements this with MPI; built without MPI (SEQNET_MPI=OFF, or no MPI found)
// there is one rank and distributed_single.cpp's collective calls return at once.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/tensor.h"

namespace seqnet {

class Communicator {
 public:
  int rank() const { return rank_; }
  int ranks() const { return ranks_; }
  bool root() const { return rank_ == 0; }

  // buffer = its element-wise mean over the ranks, in place (one MPI_Allreduce). A buffer on the
  // GPU is staged through host memory (copied out, reduced, copied back), so any MPI works,
  // CUDA-aware or not; docs/SCALING.md models the cost.
  void average(Tensor& buffer);
  double average(double value);
  // Returns once every rank has called it (what a benchmark uses to tell waiting from work).
  void barrier();
  // values[0..n) = their element-wise sums over the ranks.
  void sum(double* values, int64_t n);
  // Throws std::runtime_error naming `what` unless `buffer` is bit for bit the same on every rank.
  void expect_same_everywhere(const Tensor& buffer, const std::string& what);
  // Prints "seqnet (rank r of R): error: message" and ends every rank of the job (MPI_Abort):
  // the way out of an error that perhaps only this rank met, where the others would wait for it
  // forever in their next collective call.
  [[noreturn]] void abort(const std::string& message);

 private:
  friend Communicator& world();
  Communicator(int rank, int ranks) : rank_(rank), ranks_(ranks) {}
  int rank_, ranks_;
};

// This process's place in the job: MPI_COMM_WORLD when seqnet was built with MPI and started by a
// launcher (mpirun, srun), else a job of one rank. MPI starts on the first call and ends at exit.
Communicator& world();
// Whether this seqnet was built with MPI (the SEQNET_MPI build option).
bool built_with_mpi();

// This process's rank among the processes of its node, as the launcher says (the variable it
// came from: OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID or MPI_LOCALRANKID), or {0, ""} when
// started alone. Each rank trains on the GPU of this number (apps/device_option.cpp), so the R
// ranks of a node use R GPUs, not all GPU 0. Throws if the variable is not a number.
struct LocalRank {
  int rank;
  const char* from;  // the variable's name, "" when none is set
};
LocalRank local_rank();

}  // namespace seqnet
