#!/usr/bin/env bash
# demo.sh [OUT_DIR]: the whole job on a built-in default, on a fresh machine with no data and no GPU.
#   builds the seqnet program; draws synthetic fundus photographs with artery/vein labels; trains
#   a small SeqNet on them (CPU, or the GPU when present) unless a trained model ships in models/;
#   predicts held-out synthetic images; evaluates them; prints the metrics and where the pictures
#   are. Everything goes to demo-out/ (or OUT_DIR). SEQNET_DEMO_TRAIN=1 trains even when a model
#   ships. See docs/DEMO.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/demo-out}"
build="${SEQNET_BUILD_DIR:-$root/build}"
start=$(date +%s)
step_start=$start

# Prints how long the step that just ended took.
step_done() {
  local now
  now=$(date +%s)
  echo "   ($(( now - step_start )) s)"
  step_start=$now
}

# The images are drawn at the size the model works at, so nothing is resized.
size=192

echo "== 1/5 building seqnet in $build (only the program: no tests, no benchmarks)"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target seqnet -j "$(nproc)"
seqnet="$build/seqnet"
step_done

echo "== 2/5 drawing synthetic fundus photographs: 16 to train on, 4 held out (${size}x${size})"
mkdir -p "$out"
rm -rf "$out/data" "$out/run" "$out/pred"
"$seqnet" synth -o "$out/data/train" -n 16 --seed 1 --size "${size}x${size}"
"$seqnet" synth -o "$out/data/test" -n 4 --seed 2 --size "${size}x${size}"
step_done

weights="$root/models/seqnet-synth-demo.safetensors"
if [ -f "$weights" ] && [ "${SEQNET_DEMO_TRAIN:-0}" != 1 ]; then
  echo "== 3/5 using the trained model that ships with seqnet: $weights"
else
  # Width 8, one refiner iteration per branch: 257k parameters. 240 steps of 8 crops of 96x96 at
  # lr 5e-3 reach a vessel AUC near 0.99 on held-out synthetic images (docs/DEMO.md).
  echo "== 3/5 training a small SeqNet on the 16 photographs (240 steps; a few minutes on 2 CPU cores)"
  "$seqnet" train --data "$out/data/train" -o "$out/run" --width 8 --depth 4 --refine-depth 2 \
    --seg-iterations 1 --cls-iterations 1 --dropout 0 --size "$size" --crop 96 --batch 8 \
    --crops-per-image 4 --epochs 6 --steps-per-epoch 40 --lr 5e-3 --seed 1
  weights="$out/run/best.safetensors"
fi
step_done

echo "== 4/5 predicting the 4 held-out photographs"
"$seqnet" predict -i "$out/data/test/images" -o "$out/pred" --weights "$weights" --size "$size"
step_done

echo "== 5/5 evaluating them against their labels"
"$seqnet" evaluate --pred "$out/pred" --data "$out/data/test" --json "$out/metrics.json" | tee "$out/metrics.txt"
step_done

echo
echo "done in $(( $(date +%s) - start )) s. On the 4 held-out images:"
sed -n '/^Vessel segmentation/,/^  per image/p' "$out/metrics.txt" | grep -E '^  (roc_auc|f1) '
sed -n '/^Artery\/vein classification/,/^  per image/p' "$out/metrics.txt" | grep -E '^  (all|detected)\.accuracy '
echo "  (columns: pooled over all their pixels, mean over the images, std; vessel AUC = roc_auc, A/V accuracy = all.accuracy)"
echo "Pictures:"
echo "  photographs      $out/data/test/images/"
echo "  labels           $out/data/test/av/"
echo "  vessel maps      $out/pred/out_seg/"
echo "  artery/vein      $out/pred/out_final/"
echo "  overlays         $out/pred/overlay/"
if [ -d "$out/run" ]; then echo "  training curves  $out/run/curves.png"; fi
echo "  metrics          $out/metrics.txt, $out/metrics.json"
