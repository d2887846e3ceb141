#!/usr/bin/env bash
# test.sh: builds seqnet and runs the whole test suite (CTest over GoogleTest). Tests that need
# a GPU skip, saying so; tests that need ../shared skip when it is absent, except under CI=true,
# where its absence is a failure. Then the CUDA path, emulated on the CPU in build-emu/ (none of
# its tests may skip), and the same under ASan + UBSan (docs/CUDA-EMULATION.md).
#
# scripts/test.sh --sanitize: the same suite built with AddressSanitizer + UBSan (scripts/sanitize.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ "${1:-}" == "--sanitize" ]]; then exec "$root/scripts/sanitize.sh"; fi
build="${SEQNET_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh" "$build"
cd "$build"
ctest --output-on-failure -j "$(nproc)"
"$root/scripts/test-cuda-emulated.sh"
"$root/scripts/test-cuda-emulated.sh" --sanitize
