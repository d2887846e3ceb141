#!/usr/bin/env bash
# score-validation.sh WEIGHTS [OUT] : one row of docs/MODEL.md's experiment table for a model.
#
# Predicts the validation photographs of the training split (at their own resolution) with and
# without the artery/vein post-processing, and with and without --flips, scores each with
# `seqnet evaluate` (docs/ARCHITECTURE.md's protocol), and prints the pooled numbers as a
# markdown row: vessel ROC AUC, A/V accuracy "all" and "detected", each without -> with
# post-processing; then the per-image numbers of the plain run with post-processing. Each run's
# folder OUT/NAME holds the maps and, in errors/, where its artery/vein calls are right (green)
# and wrong (red) (`seqnet evaluate --errors`).
#
# The validation photographs default to the split `seqnet train --seed 1` makes of DRIVE-AV +
# LES-AV (25_training, 38_training, 12); set VALIDATION="DIR:STEM ..." for another split.
# Needs python3 (reads evaluate's JSON). SEQNET=path/to/seqnet picks the program (default build/).
# PREDICT_OPTIONS adds options to every prediction (e.g. "--conv-precision bf16").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
weights="${1:?usage: score-validation.sh WEIGHTS [OUT]}"
out="${2:-$(mktemp -d)}"
seqnet="${SEQNET:-$root/build/seqnet}"
data="$root/../shared/data"
validation="${VALIDATION:-$data/DRIVE_AV/training:25_training $data/DRIVE_AV/training:38_training $data/LES_AV/training:12}"
command -v python3 >/dev/null || { echo "score-validation.sh needs python3 (apt-get install -y python3)" >&2; exit 1; }

# A dataset folder per source holding links to just the validation photographs.
held="$out/held"
rm -rf "$held"
datasets=()
for entry in $validation; do
  dir="${entry%%:*}" stem="${entry##*:}"
  name="$(basename "$(dirname "$dir")")"
  mkdir -p "$held/$name/images" "$held/$name/av" "$held/$name/mask"
  ln -sf "$(ls "$dir"/images/"$stem".* | head -1)" "$held/$name/images/"
  ln -sf "$(ls "$dir"/av/"$stem".* | head -1)" "$held/$name/av/"
  mask="$(ls "$dir"/mask/"$stem"[._]* 2>/dev/null | head -1 || true)"
  [ -n "$mask" ] && ln -sf "$mask" "$held/$name/mask/"
  [[ " ${datasets[*]:-} " == *" $held/$name "* ]] || datasets+=("$held/$name")
done
read -r -a predict_options <<< "${PREDICT_OPTIONS:-}"
inputs=() data_args=()
for d in "${datasets[@]}"; do inputs+=(-i "$d/images"); data_args+=(--data "$d"); done

score() {  # score NAME [predict options]: predicts, evaluates, leaves NAME.json
  local name="$1"; shift
  "$seqnet" predict "${inputs[@]}" -o "$out/$name" --weights "$weights" "$@" ${predict_options[@]+"${predict_options[@]}"} >/dev/null 2>&1
  "$seqnet" evaluate --pred "$out/$name" "${data_args[@]}" --json "$out/$name.json" --errors "$out/$name/errors" >/dev/null
}
score raw --no-postprocess --no-flips
score pp --no-flips
score raw-flips --no-postprocess --flips
score pp-flips --flips

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
r = {n: json.load(open(f"{out}/{n}.json")) for n in ("raw", "pp", "raw-flips", "pp-flips")}
def av(n, variant): return r[n]["artery_vein"]["pooled"][variant]["accuracy"]
print("| predict | vessel ROC AUC | A/V all, no -> with post-processing | A/V detected, no -> with |")
print("| --- | --- | --- | --- |")
for flips in ("", "-flips"):
    print(f"| {'flips' if flips else 'plain'} | {r['raw' + flips]['vessel']['pooled']['roc_auc']:.4f} "
          f"| {av('raw' + flips, 'all'):.4f} -> {av('pp' + flips, 'all'):.4f} "
          f"| {av('raw' + flips, 'detected'):.4f} -> {av('pp' + flips, 'detected'):.4f} |")
print()
print("| image (plain, with post-processing) | vessel ROC AUC | A/V all | A/V detected |")
print("| --- | --- | --- | --- |")
vessel = {i["name"]: i["scores"] for i in r["pp"]["vessel"]["images"]}
for i in r["pp"]["artery_vein"]["images"]:
    s = i["scores"]
    print(f"| {i['name']} | {vessel[i['name']]['roc_auc']:.4f} | {s['all']['accuracy']:.4f} | {s['detected']['accuracy']:.4f} |")
print(f"\nmaps and error maps in {out}/<run>/ (runs: raw, pp, raw-flips, pp-flips)")
PY
