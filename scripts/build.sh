#!/usr/bin/env bash
# build.sh [BUILD_DIR]: installs what is missing, then configures and builds seqnet (Release;
# the CUDA path too when nvcc is found).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"
