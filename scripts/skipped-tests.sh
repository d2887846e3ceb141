#!/usr/bin/env bash
# skipped-tests.sh BUILD_DIR: the tests that the last ctest run in BUILD_DIR skipped, one a line,
# as NAME<tab>KIND<tab>REASON, KIND being
#   gpu    no usable GPU (SEQNET_REQUIRE_GPU, tests/cuda/cuda_test_support.h)
#   data   the photographs are not there (SEQNET_REQUIRE_DATA, tests/test_support.h): they stay
#          outside the repository, so a clone without ../shared/data skips these
#   other  anything else (no MPI, a CPU without AVX2, ...)
# It reads the skip messages from ctest's log, so those two macros' words are what it matches.
set -euo pipefail
log="${1:?usage: $0 BUILD_DIR}/Testing/Temporary/LastTest.log"
[ -f "$log" ] || { echo "skipped-tests: no ctest log at $log: run ctest in that folder first" >&2; exit 2; }
awk '
  /^[0-9]+\/[0-9]+ Test: / { name = $3; reason = ""; after_skip = 0; next }
  /^\[  SKIPPED \] [^ ]+ \(/ {
    kind = reason ~ /^no usable GPU/ ? "gpu" : reason ~ /^needs the photographs/ ? "data" : "other"
    printf "%s\t%s\t%s\n", name, kind, reason
    after_skip = 0
    next
  }
  after_skip { reason = reason == "" ? $0 : reason " " $0; next }
  /: Skipped$/ { after_skip = 1 }
' "$log"
