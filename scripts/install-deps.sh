#!/usr/bin/env bash
# install-deps.sh: makes sure the Debian packages seqnet builds with are present.
# As root it installs what is missing with apt-get; otherwise it prints the exact command and
# fails, so nothing half-builds. The CUDA Toolkit is optional (the CUDA path is built when nvcc
# is found, e.g. /usr/local/cuda/bin/nvcc). libtbb-dev is for HIP-CPU, which runs the CUDA kernels on
# the CPU in the emulation build (docs/CUDA-EMULATION.md). Open MPI is optional for the build
# (SEQNET_MPI=AUTO builds data-parallel training when it is found) but installed here, so CI
# builds and tests it.
set -euo pipefail

# python3: scripts/cross-validate.sh reads its JSON with it (and its test runs it).
packages=(cmake ninja-build g++ pkg-config ccache libopenblas-dev nlohmann-json3-dev libstb-dev libtiff-dev
          libdeflate-dev libgtest-dev libbenchmark-dev libtbb-dev libopenmpi-dev openmpi-bin python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "seqnet: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "seqnet needs these Debian packages; install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
