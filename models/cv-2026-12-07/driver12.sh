#!/usr/bin/env bash
# Twelfth schedule (2026-12-08, thirteenth session): driver11 without its finished candidate-bf16 run.
# by side, one thread each:
#   shipped-s2: the shipped file's run (models/run-2026-12-07: 12,000 steps, the default split)
#     again with --seed 2 --split-seed 1: the same split and recipe, other initial weights and
#     batches; the second member of a shipped ensemble if cross-validation says ensembles pay
#     (about 3.5 hours on one thread; its state is committed at each session's end);
#   candidate-bf16 fold 1 (candidate A, 1,600 steps, with --conv-precision bf16: its 3x3 forwards
#     and input gradients in bfloat16; seqnet-bin5, the first build with it; a CPU with AVX-512 BF16
#     only), a first look at training in bf16 against candidate A's fold 1 (0.833, a float32 run
#     of an older build); then candidate-4k fold 2 and candidate-4k-s2 fold 2: the ensemble and
#     --flips measured on a second fold.
# Every run resumable: rerun this script to continue.
set -u
seqnet=/work/cv/seqnet-bin4
data="--data /work/shared/data/DRIVE_AV --data /work/shared/data/LES_AV"
common="--width 16 --depth 4 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 576 --lr 2e-3 --dropout 0 --split-seed 1 --av-loss vessel --steps-per-epoch 40 --val-every 10 --device cpu --workers 1"
recipe="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.999 --select av --lr-schedule cosine"
while pgrep -f "seqnet-bin[0-9]? train" >/dev/null; do sleep 30; done
train() {  # train RUN [OPTIONS...]: trains RUN, or continues it
  local run=$1; shift
  if [ -f $run/last.safetensors ]; then OMP_NUM_THREADS=1 $seqnet train -o $run --resume
  else mkdir -p $(dirname $run); OMP_NUM_THREADS=1 $seqnet train -o $run $data $common "$@"; fi
}
train /work/cv/shipped-s2 $recipe --epochs 300 --seed 2 >> /work/cv/shipped-s2.log 2>&1 &
{
  train /work/cv/candidate-4k/fold-2 $recipe --folds 4 --fold 2 --epochs 100 --seed 1
  train /work/cv/candidate-4k-s2/fold-2 $recipe --folds 4 --fold 2 --epochs 100 --seed 2 --ema-warmup
} >> /work/cv/fold-2.log 2>&1 &
wait
