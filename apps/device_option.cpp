// device_option.cpp: --device (device_option.h).
#include "apps/device_option.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "kernels/cuda/runtime.h"
#include "kernels/ops.h"
#include "train/distributed.h"

namespace seqnet::cli {

void add_device_option(Args& args) {
  args.option("device", "auto", "where to compute: cpu, cuda, or auto (cuda when a usable GPU is present)", "DEV");
  args.option("conv-engine", "custom", "GPU convolutions: custom (this project's kernels) or cudnn (comparison)",
              "ENGINE");
  args.option("conv-precision", "fp32",
              "fp32 (exact, both devices); tf32 (GPU: tensor cores, inputs rounded to a 10-bit mantissa, like "
              "PyTorch's allow_tf32; sm_80 and newer; with the custom engine the forward pass and the input "
              "gradient, with cudnn all three passes); or bf16 (CPU with AVX-512 BF16, e.g. AMD Zen 4: the 3x3 "
              "forward passes and input gradients with their operands rounded to bfloat16, sums in float32; "
              "inference about 1.3x faster there, docs/PERFORMANCE.md)",
              "P");
  args.option("gpu", "local",
              "which GPU this process uses with --device cuda: a number, or local: the launcher's local rank "
              "(OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID or MPI_LOCALRANKID), so that the ranks of a node each "
              "take their own GPU; 0 when started alone",
              "N");
}

namespace {

// Selects the GPU --gpu names (before anything touches the GPU) and says which and why.
std::string use_chosen_gpu(const Args& args) {
  const std::string want = args.str("gpu");
  int ordinal = 0;
  std::string why;
  if (want == "local") {
    const LocalRank local = local_rank();
    ordinal = local.rank;
    why = *local.from ? std::string("local rank, ") + local.from : "started alone";
  } else {
    char* end = nullptr;
    const long n = std::strtol(want.c_str(), &end, 10);
    if (want.empty() || *end != '\0' || n < 0 || n > 1 << 20)
      throw UsageError("--gpu must be a GPU number (0, 1, ...) or local, got '" + want + "'");
    ordinal = int(n);
    why = "--gpu";
  }
  cuda::use_device(ordinal);
  return "GPU " + std::to_string(ordinal) + " (" + why + ")";
}

}  // namespace

void use_conv_precision(const std::string& name) {
  if (name != "fp32" && name != "tf32" && name != "bf16")
    throw UsageError("--conv-precision must be fp32, tf32 or bf16, got '" + name + "'");
  try {
    ops::set_conv_precision(name == "tf32"   ? ops::ConvPrecision::tf32
                            : name == "bf16" ? ops::ConvPrecision::bf16
                                             : ops::ConvPrecision::fp32);
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
}

Device chosen_device(const Args& args) {
  const std::string want = args.str("device");
  const std::string engine = args.str("conv-engine");
  if (engine != "custom" && engine != "cudnn") throw UsageError("--conv-engine must be custom or cudnn, got '" + engine + "'");
  ops::set_conv_engine(engine == "cudnn" ? ops::ConvEngine::cudnn : ops::ConvEngine::custom);
  const std::string precision = args.str("conv-precision");
  if (precision == "tf32" && want == "cpu")
    throw UsageError("--conv-precision tf32 is the GPU's (tensor cores); on the CPU use fp32 or bf16");
  if (precision == "bf16" && want == "cuda")
    throw UsageError("--conv-precision bf16 is the CPU's (AVX-512 BF16); on the GPU use fp32 or tf32");
  use_conv_precision(precision);
  std::string why;
  if (want == "cpu") return Device::cpu;
  if (want == "cuda" && engine == "cudnn" && cuda::emulated())
    throw UsageError("--conv-engine cudnn needs a GPU: this seqnet emulates the CUDA kernels on the CPU "
                     "(SEQNET_CUDA_EMULATION), which has only the custom ones; use --conv-engine custom");
  if (want == "cuda") {
    if (!cuda::available(&why)) throw std::runtime_error("--device cuda: " + why);
    const std::string gpu = use_chosen_gpu(args);
    std::fprintf(stderr, "device: cuda, %s; %s\n", cuda::device_description().c_str(), gpu.c_str());
    return Device::cuda;
  }
  if (want != "auto") throw UsageError("--device must be cpu, cuda or auto, got '" + want + "'");
  // The emulated CUDA path is for tests (slow): auto chooses it only when asked for by name.
  if (cuda::emulated()) why = "the CUDA kernels are only emulated in this build; --device cuda runs them";
  else if (cuda::available(&why)) {
    const std::string gpu = use_chosen_gpu(args);
    std::fprintf(stderr, "device: cuda, %s; %s\n", cuda::device_description().c_str(), gpu.c_str());
    return Device::cuda;
  }
  std::fprintf(stderr, "device: cpu (%s)\n", why.c_str());
  return Device::cpu;
}

}  // namespace seqnet::cli
