#!/usr/bin/env bash
# test-cuda-emulated.sh [--sanitize]: builds seqnet with the CUDA kernels emulated on the CPU
# (HIP-CPU, -DSEQNET_CUDA_EMULATION=ON; docs/CUDA-EMULATION.md) and runs the CUDA tests there:
# every kernel against its CPU twin, `seqnet verify --device cuda` on the golden dumps, training
# steps on both devices. The emulation is the GPU, so a test that skips for lack of one fails the
# run; so does any other skip, except one for lack of the photographs (../shared/data, not in the
# repository), which is allowed outside CI and a failure under CI=true. It says which and why.
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
skipped=$("$root/scripts/skipped-tests.sh" "$build")
# Every skip ctest counted must have been read with its reason, or one could slip through unread.
if [ "$(grep -c '\*\*\*Skipped' "$log" || true)" != "$(printf '%s' "$skipped" | grep -c . || true)" ]; then
  echo "test-cuda-emulated: FAIL: ctest reports skips whose reason scripts/skipped-tests.sh did not find:" >&2
  grep '\*\*\*Skipped' "$log" >&2
  exit 1
fi
if [ -n "$skipped" ]; then
  echo "test-cuda-emulated: skipped tests (name, why):" >&2
  printf '%s\n' "$skipped" | awk -F'\t' '{ printf "  %s  [%s] %s\n", $1, $2, $3 }' >&2
  count() { printf '%s\n' "$skipped" | cut -f2 | grep -cx "$1" || true; }
  gpu=$(count gpu) other=$(count other) data=$(count data)
  [ "$gpu" -gt 0 ] && echo "test-cuda-emulated: FAIL: $gpu skipped for lack of a GPU; the emulation is one, so none may" >&2
  [ "$other" -gt 0 ] && echo "test-cuda-emulated: FAIL: $other skipped for another reason; none may here" >&2
  if [ "$data" -gt 0 ] && [ "${CI:-}" = "true" ]; then
    echo "test-cuda-emulated: FAIL: $data skipped for lack of the photographs, which CI=true must have" >&2
    data_fails=1
  elif [ "$data" -gt 0 ]; then
    echo "test-cuda-emulated: $data skipped for lack of the photographs (../shared/data, not in the repository):" \
         "allowed outside CI" >&2
  fi
  [ "$gpu" -eq 0 ] && [ "$other" -eq 0 ] && [ -z "${data_fails:-}" ] || exit 1
fi
echo "test-cuda-emulated${1:+ $1}: build $((built - start)) s, tests $((SECONDS - built)) s"
