#!/usr/bin/env bash
# Tenth schedule (2026-12-07, twelfth session). The machine of the eleventh session is gone, and
# with it /work/cv (every fold model: only scores were committed). This schedule trains the two
# equal members of fold 1 side by side, one thread each (two single-threaded runs get more done on
# 2 cores than one two-threaded run after the other: docs/PERFORMANCE.md, thread scaling):
#   candidate-4k fold 1      (--seed 1; it scored 0.868 on its validation photographs before)
#   candidate-4k-s2 fold 1   (--seed 2 --split-seed 1 --ema-warmup: the same folds, other weights)
# so that the ensemble of two equal members and `predict --flips` can be scored on one fold.
# Every run resumable (a finished one returns at once): rerun this script to continue.
set -u
seqnet=/work/cv/seqnet-bin4
data="--data /work/shared/data/DRIVE_AV --data /work/shared/data/LES_AV"
common="--width 16 --depth 4 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 576 --lr 2e-3 --dropout 0 --split-seed 1 --av-loss vessel --steps-per-epoch 40 --val-every 10 --device cpu --workers 1"
candidate_4k="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.999 --select av --lr-schedule cosine --epochs 100"
fold() {  # fold RECIPE K SEED [EXTRA...]
  local recipe=$1 k=$2 seed=$3; shift 3
  local run=/work/cv/$recipe/fold-$k
  if [ -f $run/last.safetensors ]; then OMP_NUM_THREADS=1 $seqnet train -o $run --resume
  else mkdir -p /work/cv/$recipe; OMP_NUM_THREADS=1 $seqnet train --folds 4 --fold $k -o $run $data $common $candidate_4k --seed $seed "$@"; fi
}
fold candidate-4k 1 1 > /work/cv/candidate-4k-fold-1.log 2>&1 &
fold candidate-4k-s2 1 2 --ema-warmup > /work/cv/candidate-4k-s2-fold-1.log 2>&1 &
wait
