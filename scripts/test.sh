#!/usr/bin/env bash
# test.sh: builds seqnet and runs the whole test suite (CTest over GoogleTest), the comparisons
# with PyTorch's golden dumps (tests/golden) included. Tests that need a GPU skip, saying so; tests
# that need the real photographs (../shared/data, or SEQNET_DATA_DIR; not in the repository) skip
# without them, except under CI=true, where their absence is a failure. Then the CUDA path,
# emulated on the CPU in build-emu/, where no test may skip for lack of a GPU
# (docs/CUDA-EMULATION.md).
#
# scripts/test.sh --sanitize: the CPU suite and the emulated CUDA tests built with AddressSanitizer
# + UBSan (scripts/sanitize.sh, scripts/test-cuda-emulated.sh --sanitize). Not part of the default
# run (so not of CI) until its time on a 2-core machine is measured (docs/SANITIZERS.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ "${1:-}" == "--sanitize" ]]; then
  "$root/scripts/sanitize.sh"
  exec "$root/scripts/test-cuda-emulated.sh" --sanitize
fi
build="${SEQNET_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh" "$build"
cd "$build"
ctest --output-on-failure -j "$(nproc)"
"$root/scripts/test-cuda-emulated.sh"
