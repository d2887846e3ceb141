#!/usr/bin/env bash
# local-array.sh: the job array of predict-array.sbatch without Slurm, as a check of the whole
# cohort recipe on one machine (docs/COHORT.md): draws PHOTOS small synthetic photographs, makes a
# tiny model (a few training steps), runs SHARDS processes with the array variables set, kills
# one with SIGKILL partway, runs it again, merges the tables, and compares every map with one
# uninterrupted process's. Exits 0 only when all of that holds.
#
#   scripts/slurm/local-array.sh [SEQNET] [PHOTOS] [SHARDS]     (defaults: build/seqnet 300 4)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seqnet="${1:-$root/build/seqnet}"
photos="${2:-300}"
shards="${3:-4}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1
size=64
common=(--size $size --device cpu)
say() { echo "local-array: $*"; }
now() { date +%s.%N; }

say "drawing $photos synthetic ${size}x${size} photographs and training a tiny model"
"$seqnet" synth -o "$work/data" -n "$photos" --seed 11 --size ${size}x${size} >/dev/null
"$seqnet" synth -o "$work/train" -n 4 --seed 12 --size 96x96 >/dev/null
"$seqnet" train --data "$work/train" -o "$work/run" --width 4 --depth 3 --refine-depth 2 --seg-iterations 1 \
  --cls-iterations 1 --size 96 --crop 48 --batch 4 --crops-per-image 2 --epochs 1 --steps-per-epoch 8 \
  --dropout 0 --workers 1 --seed 3 --device cpu >/dev/null
weights="$work/run/best.safetensors"
predict_to() {  # predict_to OUT [extra args]
  local out="$1"
  shift
  "$seqnet" predict -i "$work/data/images" -o "$out" --weights "$weights" "${common[@]}" "$@"
}

task() {  # (task K): shard K as Slurm would start it (array 1..SHARDS), the subshell becoming seqnet
  export SLURM_ARRAY_TASK_ID=$(($1 + 1)) SLURM_ARRAY_TASK_COUNT="$shards" SLURM_ARRAY_TASK_MIN=1
  exec "$seqnet" predict -i "$work/data/images" -o "$work/sharded" --weights "$weights" "${common[@]}"
}

say "$shards shard processes; shard 0 is killed (SIGKILL) after 5 photographs"
start=$(now)
pids=()
for ((k = 1; k < shards; ++k)); do
  (task "$k" >"$work/shard$k.log" 2>&1) &
  pids+=($!)
done
(task 0 >"$work/shard0.log" 2>&1) &
victim=$!  # the seqnet process itself (the subshell exec'd it)
journal="$work/sharded/manifest/shard-0-of-$shards.partial.csv"
until [[ -f "$journal" && $(wc -l <"$journal") -gt 5 ]]; do sleep 0.01; done
kill -9 "$victim"
wait "$victim" 2>/dev/null && { say "FAIL: shard 0 finished before it was killed"; exit 1; }
killed_after=$(($(wc -l <"$journal") - 1))
for pid in "${pids[@]}"; do wait "$pid"; done
say "shard 0 killed after $killed_after photographs; merging now names it:"
if "$seqnet" predict --merge-manifests "$work/sharded" | sed 's/^/local-array:   /'; then
  say "FAIL: the merge did not report the unfinished shard"
  exit 1
fi
say "running shard 0 again"
(task 0 >"$work/rerun.log" 2>&1)
resumed=$(grep -o "[0-9]* done earlier, [0-9]* to predict" "$work/rerun.log")
say "rerun: $resumed"
[[ $resumed != *" 0 to predict" ]] || { say "FAIL: the killed shard had nothing left to do"; exit 1; }
end=$(now)

"$seqnet" predict --merge-manifests "$work/sharded" -i "$work/data/images" | sed 's/^/local-array: /'
rows=$(($(wc -l <"$work/sharded/manifest/all.csv") - 1))
unique=$(tail -n +2 "$work/sharded/manifest/all.csv" | cut -d, -f1 | sort -u | wc -l)
[[ $rows -eq $photos && $unique -eq $photos ]] || { say "FAIL: $rows rows, $unique distinct, $photos photographs"; exit 1; }

say "one uninterrupted process for comparison"
single_start=$(now)
predict_to "$work/single" --sequential >/dev/null 2>&1
single_end=$(now)
if ! diff -r "$work/sharded" "$work/single" -x manifest -x predict.json >/dev/null; then
  say "FAIL: the maps differ from the uninterrupted run's"
  exit 1
fi
say "every photograph once in the table; all $((photos * 5)) maps identical to the uninterrupted run's"
awk -v a="$start" -v b="$end" -v c="$single_start" -v d="$single_end" -v n="$photos" -v s="$shards" 'BEGIN {
  printf "local-array: %d shards (one killed and rerun): %.1f s wall; one process, one at a time: %.1f s (%.3f s a photograph)\n",
         s, b - a, d - c, (d - c) / n }'
