#!/usr/bin/env bash
# test-arm64.sh [--quick | --emulated] [BUILD_DIR]: cross-builds seqnet for aarch64 Linux on this
# x86-64 Debian machine (cmake/aarch64-linux-gnu.cmake: g++-aarch64-linux-gnu and the :arm64
# libraries of multiarch) and runs the test suite under qemu-aarch64, which ctest starts
# (CMAKE_CROSSCOMPILING_EMULATOR). No CUDA (there is no aarch64 nvcc here) and no MPI (the
# data-parallel tests skip, saying so). Installs what is missing when run as root.
#   (none)      the CPU test suite in build-arm64/, NEON direct kernels and golden dumps included
#   --quick     its subset for CI: the CPU kernels against the float64 reference (every remainder
#               shape, every algorithm), the chooser, and the golden dumps with each algorithm forced
#   --emulated  the CUDA tests with the kernels emulated on the CPU (HIP-CPU, portable C++;
#               docs/CUDA-EMULATION.md) in build-arm64-emu/
# Every skip is listed with its reason. Allowed: no MPI (not in this build), and outside CI the
# photographs (../shared/data, not in the repository). Any other skip fails the run, as does a
# CUDA test that skips for lack of a GPU under --emulated (the emulation is one).
# Time on the 2-core development machine: docs/PERFORMANCE.md, "aarch64 and NEON".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode=full
case "${1:-}" in
  --quick) mode=quick; shift ;;
  --emulated) mode=emulated; shift ;;
  -*) echo "usage: $0 [--quick | --emulated] [BUILD_DIR]" >&2; exit 2 ;;
esac
options=(-DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" -DSEQNET_CUDA=OFF -DSEQNET_MPI=OFF
         -DSEQNET_BENCH=OFF)
if [ "$mode" = emulated ]; then
  build="${1:-$root/build-arm64-emu}"
  options+=(-DSEQNET_CUDA_EMULATION=ON)
else
  build="${1:-$root/build-arm64}"
fi

# The cross toolchain, qemu and the :arm64 versions of install-deps.sh's libraries.
packages=(cmake ninja-build pkg-config ccache perl g++-aarch64-linux-gnu qemu-user libc6:arm64 nlohmann-json3-dev libstb-dev
          libopenblas-dev:arm64 libtiff-dev:arm64 libdeflate-dev:arm64 libgtest-dev:arm64 libtbb-dev:arm64)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-arm64 needs these Debian packages; install them with:" >&2
    echo "  sudo dpkg --add-architecture arm64 && sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "test-arm64: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

start=$SECONDS
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${options[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
built=$SECONDS
cd "$build"
log="$build/ctest-output.txt"
filter=()
[ "$mode" = quick ] && filter=(-R '^(CpuKernel|Golden|Conv3x3Choices)')
status=0
ctest --output-on-failure -j "$(nproc)" "${filter[@]}" 2>&1 | tee "$log" || status=1

skipped=$("$root/scripts/skipped-tests.sh" "$build")
if [ "$(grep -c '\*\*\*Skipped' "$log" || true)" != "$(printf '%s' "$skipped" | grep -c . || true)" ]; then
  echo "test-arm64: FAIL: ctest reports skips whose reason scripts/skipped-tests.sh did not find:" >&2
  grep '\*\*\*Skipped' "$log" >&2
  status=1
fi
if [ -n "$skipped" ]; then
  echo "test-arm64: skipped tests (name, why):" >&2
  printf '%s\n' "$skipped" | awk -F'\t' '{ printf "  %s  [%s] %s\n", $1, $2, $3 }' >&2
  mpi=$(printf '%s\n' "$skipped" | grep -c 'built without MPI' || true)
  data=$(printf '%s\n' "$skipped" | cut -f2 | grep -cx data || true)
  gpu=$(printf '%s\n' "$skipped" | cut -f2 | grep -cx gpu || true)
  other=$(( $(printf '%s\n' "$skipped" | grep -c . ) - mpi - data - gpu ))
  [ "$mpi" -gt 0 ] && echo "test-arm64: $mpi skipped for lack of MPI, which this build leaves out: allowed" >&2
  if [ "$gpu" -gt 0 ]; then
    echo "test-arm64: FAIL: $gpu skipped for lack of a GPU; under --emulated the emulation is one" >&2
    status=1
  fi
  if [ "$other" -gt 0 ]; then
    echo "test-arm64: FAIL: $other skipped for another reason; none may here" >&2
    status=1
  fi
  if [ "$data" -gt 0 ] && [ "${CI:-}" = "true" ]; then
    echo "test-arm64: FAIL: $data skipped for lack of the photographs, which CI=true must have" >&2
    status=1
  elif [ "$data" -gt 0 ]; then
    echo "test-arm64: $data skipped for lack of the photographs (../shared/data): allowed outside CI" >&2
  fi
fi
echo "test-arm64 ($mode): build $((built - start)) s, tests $((SECONDS - built)) s, status $status"
exit $status
