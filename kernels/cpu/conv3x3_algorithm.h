// conv3x3_algorithm.h: which float 3x3 convolution runs a layer: im2col + GEMM (conv2d.cpp), the
// direct kernel (conv3x3_direct.h; for the weight gradient conv3x3_weight_direct.h) or Winograd
// F(2x2,3x3) (conv3x3_winograd.h; for the weight gradient conv3x3_winograd_weight.h), chosen per
// shape and pass by timing them on this machine, as cuDNN's find does.
//
// The first time a (pass, N, C, H, W, K) is met, every candidate runs on the caller's own buffers:
// one untimed run (it touches the scratch memory and warms the caches), then up to 5 timed runs
// until 50 ms are spent; the fastest minimum wins and is kept for the process. So no shape runs
// slower than its im2col + GEMM path, up to the noise of those few runs. Tiny shapes (under 1M
// multiply-adds, microseconds of work) are not timed: they take the direct kernel where the CPU
// has it, else im2col + GEMM, so that tiny models round the same way in every run.
//
// The environment variable SEQNET_CONV fixes one instead (tests, verification, benchmarks):
//   auto (or unset)  measure, as above
//   avx2             measure, with the direct kernel and the Winograd transforms in AVX2 (imitates an
//                    AVX2-only CPU on an AVX-512 one; add OPENBLAS_CORETYPE=Haswell for the GEMMs)
//   gemm             im2col + GEMM everywhere
//   direct           the direct kernel in the widest instruction set the CPU has
//   winograd         Winograd F(2x2,3x3)
// The direct kernel needs AVX2 + FMA (x86-64) or NEON (aarch64); asking for it on a CPU without
// them is an error.
#pragma once

#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace seqnet::cpu {

enum class Conv3x3Algorithm { gemm, direct, winograd };
enum class Conv3x3Pass { forward, input_gradient, weight_gradient };

const char* conv3x3_algorithm_name(Conv3x3Algorithm algorithm);
const char* conv3x3_pass_name(Conv3x3Pass pass);

// The algorithms this CPU can run, for every pass: the chooser's candidates. gemm, winograd, and
// direct where it has AVX2 + FMA or NEON.
std::vector<Conv3x3Algorithm> conv3x3_algorithms_available();

// Fixes the algorithm for every shape (nullopt: measure), overriding SEQNET_CONV. For tests.
void force_conv3x3_algorithm(std::optional<Conv3x3Algorithm> algorithm);
// The algorithm SEQNET_CONV or force_conv3x3_algorithm fixed, or nullopt when measuring.
// Throws std::invalid_argument for a SEQNET_CONV it does not know.
std::optional<Conv3x3Algorithm> forced_conv3x3_algorithm();

struct Conv3x3Shape {
  Conv3x3Pass pass;
  int N, C, H, W, K;
  auto operator<=>(const Conv3x3Shape&) const = default;
};

// A measured choice: the winner and each candidate's best time.
struct Conv3x3Choice {
  Conv3x3Shape shape;
  Conv3x3Algorithm algorithm;
  std::vector<std::pair<Conv3x3Algorithm, double>> seconds;
};

// The algorithm for `shape`: the forced one, or the fastest candidate; `run(a)` runs algorithm a
// once on the caller's buffers and is called only the first time the shape is met.
Conv3x3Algorithm conv3x3_algorithm(const Conv3x3Shape& shape, const std::function<void(Conv3x3Algorithm)>& run);

// Every choice measured (or preset) so far in this process, in the order the shapes were first met.
std::vector<Conv3x3Choice> conv3x3_choices();

// Makes `choices` this process's choices for their shapes, as if it had measured them. A resumed
// training run takes those of the run it continues (stored in its checkpoint), so that it rounds
// exactly as the uninterrupted run would have: the algorithms round differently, and a timed
// choice can fall either way on a busy machine. Shapes already chosen keep their choice; choices
// of an algorithm this CPU cannot run are left out. Returns how many were taken.
int preset_conv3x3_choices(const std::vector<Conv3x3Choice>& choices);

// What the timings depend on, as one line: the CPU model, the instruction set of the direct
// kernel and the thread count. Choices measured under another line are not preset.
std::string conv3x3_timing_machine();
// Its CPU model, from /proc/cpuinfo's text: x86's "model name"; aarch64 has none, so its
// "CPU implementer", "CPU part", "CPU variant" and "CPU revision" ("ARM implementer 0x41 part 0xd0c
// variant 0x3 revision 1": a Neoverse N1, Graviton2), without which every ARM machine would read
// "unknown CPU" and be preset with another's choices.
std::string cpu_model_from_cpuinfo(std::istream& cpuinfo);

// Parses an algorithm name ("gemm", "direct", "winograd"); nullopt for anything else.
std::optional<Conv3x3Algorithm> conv3x3_algorithm_from_name(const std::string& name);

}  // namespace seqnet::cpu
