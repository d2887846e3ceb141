#!/usr/bin/env bash
# Eighth schedule (2026-12-07, tenth session): driver7.sh's recipes with candidate-4k's folds 3-4
# moved up (its fold 1 showed training length to be the lever: 0.833 at 1,600 steps, 0.868 at
# 4,000 on the same photographs), in this order: candidate-4k folds 1-4 (A at 4,000 steps with the
# shipped file's tail), candidates C, D and E fold 1 (E: A with one 384x384 crop a step, about A's
# pixels with 2.25x the context of each crop), their fold 2, then the baseline's folds 3-4 and
# B/C/D/E folds 3-4.
# Every run resumable (a finished one returns at once); waits for a run already in flight.
set -u
seqnet=/work/cv/seqnet-bin2
data="--data /work/shared/data/DRIVE_AV --data /work/shared/data/LES_AV"
common="--width 16 --depth 4 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 576 --lr 2e-3 --dropout 0 --seed 1 --av-loss vessel --steps-per-epoch 40 --val-every 10 --device cpu"
baseline="--crop 128 --batch 8 --crops-per-image 4"
candidate="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.995 --select av"
candidate_b="$candidate --cls-width 32"
candidate_c="$candidate --augment strong"
candidate_d="$candidate --cls-iterations 3 --head-weights rising"
candidate_e="--crop 384 --batch 1 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.995 --select av"
candidate_4k="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.999 --select av --lr-schedule cosine"
while pgrep -f "seqnet-bin2? train" >/dev/null; do sleep 30; done
fold() {  # fold RECIPE K
  local run=/work/cv/$1/fold-$2 opts=$baseline epochs=40
  [ $1 = candidate ] && opts=$candidate
  [ $1 = candidate-b ] && opts=$candidate_b
  [ $1 = candidate-c ] && opts=$candidate_c
  [ $1 = candidate-d ] && opts=$candidate_d
  [ $1 = candidate-e ] && opts=$candidate_e
  [ $1 = candidate-4k ] && opts=$candidate_4k && epochs=100
  if [ -f $run/last.safetensors ]; then $seqnet train -o $run --resume
  else mkdir -p /work/cv/$1; $seqnet train --folds 4 --fold $2 -o $run $data $common --epochs $epochs $opts; fi
}
for k in 1 2 3 4; do fold candidate-4k $k; done
for k in 1 2; do for r in candidate-c candidate-d candidate-e; do fold $r $k; done; done
for k in 3 4; do fold baseline $k; done
for k in 3 4; do for r in candidate-b candidate-c candidate-d candidate-e; do fold $r $k; done; done
