// test_cuda_distributed.cpp: data-parallel training on the CUDA path: two ranks of `seqnet train
// --device cuda` under mpirun give the weights of one process with the same global batch (the
// gradients all-reduced from device buffers, through host memory), and each rank takes the GPU
// of its local rank. In the emulated build (docs/CUDA-EMULATION.md) both "GPUs" are this CPU, so
// the test runs everywhere the CUDA tests do; skipped, saying so, without MPI.
#include <string>

#include "cuda/cuda_test_support.h"
#include "distributed_support.h"
#include "synth/fundus.h"
#include "test_support.h"

namespace seqnet {
namespace {

TEST(CudaDistributed, TwoRanksGiveTheWeightsOfOneProcessEachOnItsLocalGpu) {
  SEQNET_REQUIRE_GPU();
  SEQNET_REQUIRE_MPI();
  test::TempDir dir;
  write_synthetic_set(dir.str("data"), 5, 3, 128, 128);
  // On a real GPU both ranks take GPU 0 (the machine may have one); emulated, each its local rank's.
  const bool emulated = cuda::emulated();
  const std::string run =
      test::tiny_run(dir.str("data"), std::string("--device cuda --norm none --dropout 0 ") + (emulated ? "" : "--gpu 0 ") + "-o ");
  ASSERT_EQ(test::run_alone(run + dir.str("one"), dir.str("one.log")), 0) << test::read_text(dir.str("one.log"));
  ASSERT_EQ(test::run_on_ranks(2, run + dir.str("two"), dir.str("two.log")), 0) << test::read_text(dir.str("two.log"));
  // The same tolerance as on the CPU: only the order of summing the gradients differs.
  test::expect_same_weights(dir.str("one/last.safetensors"), dir.str("two/last.safetensors"), 6,
                            test::kNoNormRelativeError);
  const std::string alone = test::read_text(dir.str("one.log")), two = test::read_text(dir.str("two.log"));
  EXPECT_NE(two.find("through host memory"), std::string::npos) << two;
  if (!emulated) return;
  EXPECT_NE(alone.find("GPU 0 (started alone)"), std::string::npos) << alone;
  for (const char* gpu : {"GPU 0 (local rank, OMPI_COMM_WORLD_LOCAL_RANK)", "GPU 1 (local rank, OMPI_COMM_WORLD_LOCAL_RANK)"})
    EXPECT_NE(two.find(gpu), std::string::npos) << two;
}

}  // namespace
}  // namespace seqnet
