#!/usr/bin/env bash
# Fourteenth schedule (written 2026-12-08 at the thirteenth session's end): what is left of
# driver12.sh and driver13.sh, in one script, two runs side by side, one thread each:
#   shipped-s2 (the shipped file's 12,000-step run again with --seed 2 --split-seed 1), resumed;
#   candidate-4k-s2 fold 2 (--seed 2 --ema-warmup), resumed or started.
# Every run resumable: rerun this script to continue. Without /work/cv (a new machine), first:
#   mkdir -p /work/cv/shipped-s2 && cp models/run-2026-12-07-s2/* /work/cv/shipped-s2/
#   cp build/seqnet /work/cv/seqnet-bin4; cp models/cv-2026-12-07/driver14.sh /work/cv/
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
train /work/cv/candidate-4k-s2/fold-2 $recipe --folds 4 --fold 2 --epochs 100 --seed 2 --ema-warmup >> /work/cv/fold-2.log 2>&1 &
wait
