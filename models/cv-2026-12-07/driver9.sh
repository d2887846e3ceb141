#!/usr/bin/env bash
# Ninth schedule (2026-12-07, eleventh session): driver8.sh with, after candidate-4k's folds 3-4,
# a second member of candidate-4k on folds 1-2 (`--seed 2 --split-seed 1`: the same folds, other
# initial weights and batches; seqnet-bin3, the first with --split-seed), so that an ensemble of
# two equally strong models can be cross-validated (the ensembles of 4k with the weaker A and B
# models: fold 1 up 0.868 -> 0.889, fold 2 down 0.831 -> 0.772). It also keeps its weight average with
# --ema-warmup, which tells whether a warmed-up 0.999 average beats the last step at 4,000 steps.
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
candidate_4k_s2_extra="--seed 2 --split-seed 1 --ema-warmup"
candidate_4k="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.999 --select av --lr-schedule cosine"
while pgrep -f "seqnet-bin[0-9]? train" >/dev/null; do sleep 30; done
fold() {  # fold RECIPE K
  local run=/work/cv/$1/fold-$2 opts=$baseline epochs=40
  [ $1 = candidate ] && opts=$candidate
  [ $1 = candidate-b ] && opts=$candidate_b
  [ $1 = candidate-c ] && opts=$candidate_c
  [ $1 = candidate-d ] && opts=$candidate_d
  [ $1 = candidate-e ] && opts=$candidate_e
  [ $1 = candidate-4k ] && opts=$candidate_4k && epochs=100
  local program=$seqnet
  if [ $1 = candidate-4k-s2 ]; then opts="$candidate_4k $candidate_4k_s2_extra"; epochs=100; program=/work/cv/seqnet-bin3; fi
  if [ -f $run/last.safetensors ]; then $program train -o $run --resume
  else mkdir -p /work/cv/$1; $program train --folds 4 --fold $2 -o $run $data $common --epochs $epochs $opts; fi
}
for k in 1 2 3 4; do fold candidate-4k $k; done
for k in 1 2; do fold candidate-4k-s2 $k; done
for k in 1 2; do for r in candidate-c candidate-d candidate-e; do fold $r $k; done; done
for k in 3 4; do fold baseline $k; done
for k in 3 4; do for r in candidate-b candidate-c candidate-d candidate-e; do fold $r $k; done; done
