#!/usr/bin/env bash
# demo.sh: the whole job on a built-in default, on a fresh machine with no data and no GPU.
#   builds seqnet; draws synthetic fundus photographs with artery/vein labels; trains a small
#   SeqNet on them (CPU, or the GPU when present) unless a trained model ships in models/;
#   predicts held-out synthetic images; evaluates them; prints the metrics and where the
#   pictures are. Everything goes to demo-out/ (or $1).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/demo-out}"
build="${SEQNET_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh" "$build"
seqnet="$build/seqnet"
mkdir -p "$out"
start=$(date +%s)

echo "== 1/4 drawing synthetic fundus photographs"
"$seqnet" synth -o "$out/data/train" -n 16 --seed 1 --size 288x288
"$seqnet" synth -o "$out/data/test" -n 4 --seed 2 --size 288x288

weights="$root/models/seqnet-synth-demo.safetensors"
if [ -f "$weights" ]; then
  echo "== 2/4 using the trained model that ships with seqnet: $weights"
else
  echo "== 2/4 training a small SeqNet on them (a few minutes on 2 CPU cores)"
  "$seqnet" train --data "$out/data/train" -o "$out/run" --width 8 --depth 4 --refine-depth 2 \
    --seg-iterations 1 --cls-iterations 1 --size 288 --crop 96 --batch 8 --crops-per-image 4 \
    --epochs 6 --steps-per-epoch 40 --lr 3e-3 --dropout 0 --seed 1
  weights="$out/run/best.safetensors"
fi

echo "== 3/4 predicting the held-out images"
"$seqnet" predict -i "$out/data/test/images" -o "$out/pred" --weights "$weights" --size 288

echo "== 4/4 evaluating"
"$seqnet" evaluate --pred "$out/pred" --data "$out/data/test" --json "$out/metrics.json"

echo
echo "done in $(( $(date +%s) - start )) s. Pictures:"
echo "  photographs      $out/data/test/images/"
echo "  vessel maps      $out/pred/out_seg/"
echo "  artery/vein      $out/pred/out_final/"
echo "  overlays         $out/pred/overlay/"
echo "  metrics          $out/metrics.json"
