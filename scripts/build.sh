#!/usr/bin/env bash
# build.sh [BUILD_DIR [CMAKE_OPTION...]]: installs what is missing, then configures and builds
# seqnet (Release; the CUDA path too when nvcc is found). Options go to cmake, e.g.
# -DSEQNET_CUDA_EMULATION=ON.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
shift $(( $# > 0 ? 1 : 0 ))
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
