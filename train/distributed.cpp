// distributed.cpp: Communicator over MPI_COMM_WORLD (distributed.h), built with SEQNET_MPI.
#include "train/distributed.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace seqnet {

namespace {

// Set by mpirun/srun (Open MPI, PMIx, MPICH's PMI): without one of them this process was started
// on its own and trains alone, without starting MPI at all.
bool started_by_a_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(name)) return true;
  return false;
}

// Ends MPI at exit, after every rank has left its last collective call.
struct MpiSession {
  MpiSession() {
    int provided = 0;
    // Only the main thread calls MPI (the batch loader's threads never do).
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  ~MpiSession() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
};

MPI_Datatype mpi_type(DType dtype) { return dtype == DType::f64 ? MPI_DOUBLE : MPI_FLOAT; }

// FNV-1a over the bytes: equal buffers give equal hashes; unequal ones differ but for chance.
uint64_t fnv1a(const void* data, size_t bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace

Communicator& world() {
  static Communicator* communicator = [] {
    if (!started_by_a_launcher()) return new Communicator(0, 1);
    static MpiSession session;
    int rank = 0, ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    return new Communicator(rank, ranks);
  }();
  return *communicator;
}

bool built_with_mpi() { return true; }

void Communicator::average(Tensor& buffer) {
  if (ranks_ == 1) return;
  Tensor host = buffer.device() == Device::cpu ? buffer : buffer.to(Device::cpu);
  MPI_Allreduce(MPI_IN_PLACE, host.raw(), int(host.numel()), mpi_type(host.dtype()), MPI_SUM, MPI_COMM_WORLD);
  const double scale = 1.0 / ranks_;
  if (host.dtype() == DType::f64)
    for (int64_t i = 0; i < host.numel(); ++i) host.f64()[i] *= scale;
  else
    for (int64_t i = 0; i < host.numel(); ++i) host.f32()[i] = float(host.f32()[i] * scale);
  if (buffer.device() != Device::cpu) buffer.copy_from(host);
}

double Communicator::average(double value) {
  if (ranks_ == 1) return value;
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return value / ranks_;
}

void Communicator::barrier() {
  if (ranks_ > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void Communicator::sum(double* values, int64_t n) {
  if (ranks_ > 1) MPI_Allreduce(MPI_IN_PLACE, values, int(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

void Communicator::expect_same_everywhere(const Tensor& buffer, const std::string& what) {
  if (ranks_ == 1) return;
  const Tensor host = buffer.device() == Device::cpu ? buffer : buffer.to(Device::cpu);
  const uint64_t hash = fnv1a(host.raw(), host.bytes());
  // One call for both ends: max(hash) and max(~hash) = ~min(hash).
  uint64_t extremes[2] = {hash, ~hash};
  MPI_Allreduce(MPI_IN_PLACE, extremes, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  if (extremes[0] != ~extremes[1])
    throw std::runtime_error("the " + what + " differ between the ranks (they must stay identical: every rank "
                             "applies the same averaged gradient)");
}

void Communicator::abort(const std::string& message) {
  std::fprintf(stderr, "seqnet (rank %d of %d): error: %s\nseqnet: ending all %d ranks of the job\n", rank_, ranks_,
               message.c_str(), ranks_);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);  // MPI_Abort does not return; this keeps the promise of [[noreturn]] if it did
}

}  // namespace seqnet
