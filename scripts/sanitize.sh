#!/usr/bin/env bash
# sanitize.sh [BUILD_DIR]: builds seqnet with AddressSanitizer and UndefinedBehaviorSanitizer
# (CPU path only, GCC) into its own folder (default build-asan/) and runs the test suite there.
# Any memory error, leak or undefined behaviour fails the test that triggers it (UB aborts rather
# than warns). Tests that need a GPU skip as usually. Also reached as `scripts/test.sh --sanitize`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-asan}"
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEQNET_CUDA=OFF -DSEQNET_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
start=$(date +%s)
cmake --build "$build" -j "$(nproc)"
built=$(date +%s)
cd "$build"
# detect_leaks: leaks fail too. The sanitizers' reports go to the failing test's output.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
ctest --output-on-failure -j "$(nproc)" -E '^Distributed\.' || status=$?
# The data-parallel tests run seqnet under mpiexec. Open MPI leaves allocations at exit in plugins
# it has unloaded by then, so LeakSanitizer reports them without a name a suppression could match;
# those tests run with leak detection off (memory errors and undefined behaviour still abort).
ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}" ctest --output-on-failure -j "$(nproc)" -R '^Distributed\.' ||
  status=$?
echo "sanitize.sh: build $((built - start)) s, tests $(($(date +%s) - built)) s, status $status"
exit $status
