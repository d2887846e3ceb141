#!/usr/bin/env bash
# count-arm64-instructions.sh [BUILD_DIR]: instruction counts of the NEON 3x3 kernels under
# qemu-aarch64, from the cross build of scripts/test-arm64.sh (build-arm64/ by default). Counts, not
# times: qemu translates each instruction, so they say what a kernel executes (how many fused
# multiply-adds, how many other instructions around them), never how fast a real core runs it.
# For each pass and shape (K = C, one thread, one run): the instructions in the kernel's own
# functions (the NEON tile's, or the weight gradient's), how many of them are fmla (4 multiply-adds
# each), and the multiply-adds the convolution needs.
# Needs: gcc (the plugin, bench/qemu_insn_count.c), g++-aarch64-linux-gnu, qemu-user (7.2 or an API
# version 1 compatible one). Time: under a minute on the 2-core development machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-arm64}"
if [ ! -f "$build/libseqnet_core.a" ]; then
  echo "count-arm64-instructions: $build/libseqnet_core.a is missing: run scripts/test-arm64.sh first" >&2
  exit 1
fi
gcc -O2 -shared -fPIC -o "$build/qemu_insn_count.so" "$root/bench/qemu_insn_count.c"
openblas=/usr/lib/aarch64-linux-gnu/openblas-pthread
aarch64-linux-gnu-g++ -O2 -std=gnu++20 -fopenmp -I"$root" -o "$build/count_conv3x3" "$root/bench/count_conv3x3.cpp" \
  "$build/libseqnet_core.a" "$openblas/libopenblas.so" -Wl,-rpath,"$openblas"

# SeqNet's widths at a few rows each: 576 wide at C = 16 and 32, 144 wide at 128.
for pass in forward input weight; do
  if [ "$pass" = weight ]; then match=(match=weight_gradient_direct match=accumulate_neon); else match=(match=NeonTile); fi
  plugin="$build/qemu_insn_count.so,$(IFS=,; echo "${match[*]}"),mnemonic=fmla"
  for shape in "1 16 576 8" "1 32 576 8" "1 128 144 4"; do
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 qemu-aarch64 -d plugin -plugin "$plugin" "$build/count_conv3x3" $pass $shape 2>&1 |
      tr '\n' ' ' | sed 's/ $/\n/'
  done
done
