#!/usr/bin/env bash
# Interleaved 4-fold cross-validation of two recipes (baseline, candidate), fold by fold, resumable.
set -u
seqnet=/work/cv/seqnet-bin
data="--data /work/shared/data/DRIVE_AV --data /work/shared/data/LES_AV"
common="--width 16 --depth 4 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 576 --lr 2e-3 --dropout 0 --seed 1 --av-loss vessel --epochs 40 --steps-per-epoch 40 --val-every 10 --device cpu"
baseline="--crop 128 --batch 8 --crops-per-image 4"
candidate="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.995 --select av"
for k in 1 2 3 4; do
  for recipe in baseline candidate; do
    run=/work/cv/$recipe/fold-$k
    opts=$baseline; [ $recipe = candidate ] && opts=$candidate
    if [ -f $run/last.safetensors ]; then $seqnet train -o $run --resume
    else mkdir -p /work/cv/$recipe; $seqnet train --folds 4 --fold $k -o $run $data $common $opts; fi
  done
done
