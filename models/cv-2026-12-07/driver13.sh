#!/usr/bin/env bash
# Thirteenth schedule (2026-12-08, thirteenth session): driver12's second slot, reordered. After
# candidate-4k fold 2 (left running when driver12's slot was stopped): candidate-bf16 fold 2
# (candidate A, 1,600 steps, --conv-precision bf16; seqnet-bin6 = this session's build) for issue
# #32 item 3's second fold (fp32 candidate A fold 2: 0.711), then candidate-4k-s2 fold 2.
# Every run resumable: rerun this script to continue.
set -u
seqnet=/work/cv/seqnet-bin4
data="--data /work/shared/data/DRIVE_AV --data /work/shared/data/LES_AV"
common="--width 16 --depth 4 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 576 --lr 2e-3 --dropout 0 --split-seed 1 --av-loss vessel --steps-per-epoch 40 --val-every 10 --device cpu --workers 1"
recipe="--crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.999 --select av --lr-schedule cosine"
while pgrep -f "candidate-4k/fold-2" >/dev/null; do sleep 30; done
train() {  # train RUN [OPTIONS...]: trains RUN, or continues it
  local run=$1; shift
  if [ -f $run/last.safetensors ]; then OMP_NUM_THREADS=1 $seqnet train -o $run --resume
  else mkdir -p $(dirname $run); OMP_NUM_THREADS=1 $seqnet train -o $run $data $common "$@"; fi
}
{
  [ -f /work/cv/candidate-4k/fold-2/model.safetensors ] || train /work/cv/candidate-4k/fold-2
  seqnet=/work/cv/seqnet-bin6 train /work/cv/candidate-bf16/fold-2 --folds 4 --fold 2 --epochs 40 --seed 1 \
    --crop 256 --batch 2 --crops-per-image 1 --input-norm fov --av-targets both --ema 0.995 --select av \
    --conv-precision bf16
  train /work/cv/candidate-4k-s2/fold-2 $recipe --folds 4 --fold 2 --epochs 100 --seed 2 --ema-warmup
} >> /work/cv/fold-2.log 2>&1
