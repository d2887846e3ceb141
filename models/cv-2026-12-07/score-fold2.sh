#!/usr/bin/env bash
# Scores fold 2 of candidate-4k (and of candidate-4k-s2 when ARGS say s2) (thirteenth session).
# Flips are predict's default since 2026-12-07: "no-flips" rows compare with the older one-pass summaries.
set -u
cd /work/main
CV="bash scripts/cross-validate.sh"
export SEQNET=/work/tmp/seqnet-after
case "${1:-4k}" in
bf16) ;;
4k)
  SCORE_ONLY=1 WEIGHTS=trained SCORE_NAME=trained-flips $CV /work/cv/candidate-4k 2
  SCORE_ONLY=1 PARTS=validation WEIGHTS=trained SCORE_NAME=trained PREDICT_OPTIONS="--no-flips" $CV /work/cv/candidate-4k 2 ;;
s2)
  s1=/work/cv/candidate-4k/fold-{fold}/model-trained.safetensors
  SCORE_ONLY=1 WEIGHTS=trained SCORE_NAME=trained-flips $CV /work/cv/candidate-4k-s2 2
  SCORE_ONLY=1 PARTS=validation WEIGHTS=trained SCORE_NAME=trained PREDICT_OPTIONS="--no-flips" $CV /work/cv/candidate-4k-s2 2
  SCORE_ONLY=1 SCORE_NAME=ema-flips PREDICT_OPTIONS="--flips" $CV /work/cv/candidate-4k-s2 2
  SCORE_ONLY=1 PARTS=validation SCORE_NAME=ema-no-flips PREDICT_OPTIONS="--no-flips" $CV /work/cv/candidate-4k-s2 2
  SCORE_ONLY=1 PARTS=validation WEIGHTS=trained SCORE_NAME=trained-with-s2-ema PREDICT_OPTIONS="--weights /work/cv/candidate-4k-s2/fold-{fold}/model.safetensors" $CV /work/cv/candidate-4k 2 ;;
esac
# bf16: candidate-bf16 fold 2 (its weight average, one pass, as fold 1's no-flips/; fp32 candidate A fold 2: 0.711)
if [ "${1:-}" = bf16 ]; then
  SEQNET=/work/cv/seqnet-bin6 SCORE_ONLY=1 SCORE_NAME=no-flips PREDICT_OPTIONS="--no-flips" bash scripts/cross-validate.sh /work/cv/candidate-bf16 2
fi
