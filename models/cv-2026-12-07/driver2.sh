#!/usr/bin/env bash
# Second schedule (2026-12-07, seventh session): candidate fold 1 already beat the baseline by 0.20
# A/V, so the candidate's folds 2-4 first, then its long run on the default split, then the
# baseline's folds 3-4. Every run resumable; waits for a run already in flight.
set -u
seqnet=/work/cv/seqnet-bin
data="--data /work/shared/data/DRIVE_AV --data /work/shared/data/LES_AV"
common="--width 16 --depth 4 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 576 --lr 2e-3 --dropout 0 --seed 1 --av-loss vessel --steps-per-epoch 40 --val-every 10 --device cpu"
baseline="--crop 128 --batch 8 --crops-per-image 4"
candidate="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.995 --select av"
long="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.999 --select av --lr-schedule cosine --epochs 300"
while pgrep -f "seqnet-bin train" >/dev/null; do sleep 30; done
fold() {  # fold RECIPE K
  local run=/work/cv/$1/fold-$2 opts=$baseline; [ $1 = candidate ] && opts=$candidate
  if [ -f $run/last.safetensors ]; then $seqnet train -o $run --resume
  else mkdir -p /work/cv/$1; $seqnet train --folds 4 --fold $2 -o $run $data $common --epochs 40 $opts; fi
}
for k in 2 3 4; do fold candidate $k; done
if [ -f /work/cv/long/last.safetensors ]; then $seqnet train -o /work/cv/long --resume
else $seqnet train -o /work/cv/long $data $common $long; fi
for k in 3 4; do fold baseline $k; done
