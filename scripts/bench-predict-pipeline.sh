#!/usr/bin/env bash
# bench-predict-pipeline.sh: photographs per second of `seqnet predict` on the CPU, the pipeline
# (reader, model and writer threads) against one photograph at a time (--sequential) and against
# 2 photographs per forward (--batch 2), in interleaved rounds on synthetic 576x576 photographs
# or on a folder of real ones (docs/PERFORMANCE.md, "Cohort prediction"). Prints each run's
# summary and stage seconds. MODES narrows the runs, e.g. MODES=sequential for the stage times.
# PREDICT_OPTIONS adds options to every run: predict averages four mirror images by default since
# 2026-12-07, so PREDICT_OPTIONS=--no-flips measures as the figures before that date did.
#
#   scripts/bench-predict-pipeline.sh WEIGHTS [SEQNET] [PHOTOGRAPHS] [ROUNDS]   (defaults: build/seqnet 6 3)
#   PHOTOGRAPHS: a count of synthetic 576x576 photographs, or a folder of photographs, e.g.
#   /work/shared/data/LES_AV/training/images (1620x1444)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
weights="${1:?usage: $0 WEIGHTS [SEQNET] [PHOTOGRAPHS] [ROUNDS]}"
seqnet="${2:-$root/build/seqnet}"
photos="${3:-6}"
rounds="${4:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -d "$photos" ]; then
  images="$photos"
else
  "$seqnet" synth -o "$work/data" -n "$photos" --seed 21 --size 576x576 >/dev/null
  images="$work/data/images"
fi
echo "bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(date -u +%F)"
read -r -a predict_options <<< "${PREDICT_OPTIONS:-}"
for ((r = 1; r <= rounds; ++r)); do
  for mode in ${MODES:-pipeline sequential batch2}; do
    case $mode in pipeline) extra=() ;; sequential) extra=(--sequential) ;; batch2) extra=(--batch 2) ;; esac
    rm -rf "$work/out"
    load=$(cut -d' ' -f1 /proc/loadavg)
    "$seqnet" predict -i "$images" -o "$work/out" --weights "$weights" --device cpu "${extra[@]}" \
      ${predict_options[@]+"${predict_options[@]}"} 2>/dev/null |
      sed "s|^predict: |round $r $mode (load $load): |; s|$work/out|OUT|g"
  done
done
