#!/usr/bin/env bash
# Fourth schedule (2026-12-07, eighth session): the long run to its end, then candidate B (A
# with a classification branch of width 32) folds 1-2, candidate C (A with --augment strong) folds
# 1-2, the baseline's folds 3-4, then B's and C's folds 3-4. The program is the build with
# --augment (seqnet-bin2; it resumes the older runs exactly). Every run resumable; waits for a run
# already in flight.
set -u
seqnet=/work/cv/seqnet-bin2
data="--data /work/shared/data/DRIVE_AV --data /work/shared/data/LES_AV"
common="--width 16 --depth 4 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 576 --lr 2e-3 --dropout 0 --seed 1 --av-loss vessel --steps-per-epoch 40 --val-every 10 --device cpu"
baseline="--crop 128 --batch 8 --crops-per-image 4"
candidate="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.995 --select av"
candidate_b="$candidate --cls-width 32"
candidate_c="$candidate --augment strong"
long="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.999 --select av --lr-schedule cosine --epochs 300"
while pgrep -f "seqnet-bin train" >/dev/null; do sleep 30; done
fold() {  # fold RECIPE K
  local run=/work/cv/$1/fold-$2 opts=$baseline
  [ $1 = candidate ] && opts=$candidate
  [ $1 = candidate-b ] && opts=$candidate_b
  [ $1 = candidate-c ] && opts=$candidate_c
  if [ -f $run/last.safetensors ]; then $seqnet train -o $run --resume
  else mkdir -p /work/cv/$1; $seqnet train --folds 4 --fold $2 -o $run $data $common --epochs 40 $opts; fi
}
if [ -f /work/cv/long/last.safetensors ]; then $seqnet train -o /work/cv/long --resume
else $seqnet train -o /work/cv/long $data $common $long; fi
for k in 1 2; do fold candidate-b $k; done
for k in 1 2; do fold candidate-c $k; done
for k in 3 4; do fold baseline $k; done
for k in 3 4; do fold candidate-b $k; done
for k in 3 4; do fold candidate-c $k; done
