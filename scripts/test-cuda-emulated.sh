#!/usr/bin/env bash
# test-cuda-emulated.sh [--sanitize]: builds seqnet with the CUDA kernels emulated on the CPU
# (HIP-CPU, -DSEQNET_CUDA_EMULATION=ON; docs/CUDA-EMULATION.md) and runs the CUDA tests there:
# every kernel against its CPU twin, `seqnet verify --device cuda` on the golden dumps, training
# steps on both devices. Fails if any test skips: in this build none may.
#   --sanitize  the same under AddressSanitizer + UndefinedBehaviorSanitizer (build-emu-asan/).
# scripts/test.sh runs both. SEQNET_EMU_BUILD_DIR overrides the build folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
options=(-DSEQNET_CUDA_EMULATION=ON -DSEQNET_BENCH=OFF)
build="${SEQNET_EMU_BUILD_DIR:-$root/build-emu}"
if [ "${1:-}" = "--sanitize" ]; then
  build="${SEQNET_EMU_BUILD_DIR:-$root/build-emu-asan}"
  sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  # -O1: the usual level for ASan, and the emulated kernels compile several times faster than at -O3.
  options+=(-DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG"
            -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined")
  # HIP-CPU runs each GPU thread as a fiber on its own small stack: ASan must not take the stack
  # switches for overflows, and leaks of the runtime's thread pool at exit are not the kernels'.
  export ASAN_OPTIONS="detect_stack_use_after_return=0:detect_leaks=0:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--sanitize]" >&2
  exit 2
fi
start=$SECONDS
"$root/scripts/build.sh" "$build" "${options[@]}"
built=$SECONDS
cd "$build"
log="$build/ctest-output.txt"
ctest --output-on-failure -j "$(nproc)" 2>&1 | tee "$log"
if grep -q '\*\*\*Skipped' "$log"; then
  echo "test-cuda-emulated: some CUDA tests skipped in the emulated build, where every one must run:" >&2
  grep '\*\*\*Skipped' "$log" >&2
  exit 1
fi
echo "test-cuda-emulated${1:+ $1}: build $((built - start)) s, tests $((SECONDS - built)) s"
