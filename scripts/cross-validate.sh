#!/usr/bin/env bash
# cross-validate.sh OUT FOLDS [TRAIN OPTION...]: one recipe, cross-validated (docs/MODEL.md's rows).
#
# Trains fold 1..FOLDS of the recipe (`seqnet train --folds FOLDS --fold K -o OUT/fold-K` plus the
# options given, which must include the --data folders), each resumable: a fold already trained to
# its end is not trained again, an interrupted one continues with --resume. Then scores every fold
# at the photographs' own resolution with the default post-processing, as a user's `seqnet predict`
# would: the fold's model (its last checkpoint: the weight average when trained with --ema; set
# CHECKPOINT=best for the selected one) predicts its validation photographs and its training
# photographs, and `seqnet evaluate` scores each set. Prints per fold and the mean and spread over
# folds: vessel ROC AUC, A/V "all" and "detected" on validation, A/V "all" on the training
# photographs (underfitting against overfitting), and the worst validation photograph; writes the
# same as OUT/summary.json.
#
#   nice -n 19 bash scripts/cross-validate.sh cv/baseline 4 --data ../shared/data/DRIVE_AV \
#     --data ../shared/data/LES_AV --width 16 --depth 4 ... --epochs 40 --steps-per-epoch 40
#
# JOBS=N trains N folds at a time, each on nproc / N threads (OMP_NUM_THREADS overrides), its output
# in OUT/fold-K.log: on 2 cores JOBS=2 gets 1.2x (a quiet machine) to about 2x (a busy one) the
# steps done, since one step does not use two threads well (docs/PERFORMANCE.md, twelfth session).
#
# SCORE_ONLY=1 skips training (scores what is there); TRAIN_ONLY=1 skips scoring. Needs python3
# (reads the JSON files). SEQNET=path/to/seqnet picks the program (default build/).
#
# A variant of the prediction, cross-validated with the same folds: PREDICT_OPTIONS adds options to
# `seqnet predict` and SCORE_NAME names the variant, whose maps and scores go to RUN/NAME/ instead
# of RUN/score/ and whose summary is OUT/summary-NAME.json (the default scores stay as they are).
#   SCORE_ONLY=1 SCORE_NAME=flips PREDICT_OPTIONS=--flips bash scripts/cross-validate.sh cv/candidate 4
# A variant's scores are kept until the fold's model changes; delete RUN/NAME to score it again.
# In PREDICT_OPTIONS, {fold} stands for the fold's number: an ensemble of this recipe's fold model
# and another recipe's model of the same fold (trained on the same split) is
#   SCORE_ONLY=1 SCORE_NAME=with-b PREDICT_OPTIONS="--weights cv/candidate-b/fold-{fold}/model.safetensors" \
#     bash scripts/cross-validate.sh cv/candidate 4
# PARTS=validation scores the validation photographs only (a quarter of the time; the summary's
# training column is then left out). WEIGHTS=trained scores, for a run trained with --ema, the
# weights of its last step instead of their average (`seqnet export --trained-weights`, into
# RUN/model-trained.safetensors); it too needs a SCORE_NAME.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: cross-validate.sh OUT FOLDS [TRAIN OPTION...]}"
folds="${2:?usage: cross-validate.sh OUT FOLDS [TRAIN OPTION...]}"
shift 2
seqnet="${SEQNET:-$root/build/seqnet}"
checkpoint="${CHECKPOINT:-last}"
name="${SCORE_NAME:-score}"
read -r -a predict_options <<< "${PREDICT_OPTIONS:-}"
if [ ${#predict_options[@]} -gt 0 ] && [ "$name" = score ]; then
  echo "cross-validate.sh: PREDICT_OPTIONS=\"${PREDICT_OPTIONS}\" needs SCORE_NAME (e.g. SCORE_NAME=flips), so that the" \
    "variant's scores do not replace the default ones in RUN/score/" >&2
  exit 1
fi
case "$name" in *[!A-Za-z0-9_-]*|"") echo "cross-validate.sh: SCORE_NAME must be letters, digits, - or _, got '$name'" >&2; exit 1 ;; esac
parts="${PARTS:-validation training}"
weights="${WEIGHTS:-average}"
case "$weights" in
  average) model_name=model; export_options=() ;;
  trained) model_name=model-trained; export_options=(--trained-weights) ;;
  *) echo "cross-validate.sh: WEIGHTS must be 'trained' (or unset: the run's weight average when it has one), got '$weights'" >&2; exit 1 ;;
esac
if [ "$weights" = trained ] && [ "$name" = score ]; then
  echo "cross-validate.sh: WEIGHTS=trained needs SCORE_NAME (e.g. SCORE_NAME=trained), so that its scores do not replace the default ones" >&2
  exit 1
fi
case "$parts" in "validation training" | validation) ;; *) echo "cross-validate.sh: PARTS must be 'validation' (or unset), got '$parts'" >&2; exit 1 ;; esac
jobs_at_once="${JOBS:-1}"
case "$jobs_at_once" in ""|*[!0-9]*|0*) echo "cross-validate.sh: JOBS must be a whole number from 1, got '$jobs_at_once'" >&2; exit 1 ;; esac
command -v python3 >/dev/null || { echo "cross-validate.sh needs python3 (apt-get install -y python3)" >&2; exit 1; }
mkdir -p "$out"

train_options=("$@")
train_fold() {  # train_fold K: trains fold K, or continues it where it stopped
  local run="$out/fold-$1"
  if [ -f "$run/last.safetensors" ]; then
    echo "cross-validate: fold $1 of $folds: resuming $run" >&2
    "$seqnet" train -o "$run" --resume
  else
    echo "cross-validate: fold $1 of $folds: training $run" >&2
    "$seqnet" train --folds "$folds" --fold "$1" -o "$run" ${train_options[@]+"${train_options[@]}"}
  fi
}

if [ -z "${SCORE_ONLY:-}" ] && [ "$jobs_at_once" -eq 1 ]; then
  for k in $(seq 1 "$folds"); do train_fold "$k"; done
elif [ -z "${SCORE_ONLY:-}" ]; then
  # JOBS folds at a time, each with its share of the cores (OMP_NUM_THREADS when set), its output
  # in OUT/fold-K.log and its exit status in OUT/fold-K.status; an interrupted script stops them
  # (seqnet train saves its state on SIGTERM, so the next run resumes every fold).
  threads="${OMP_NUM_THREADS:-$(( $(nproc) / jobs_at_once ))}"
  [ "$threads" -ge 1 ] || threads=1
  stop_folds() {  # each fold's seqnet (a child of the fold's subshell), then the subshells
    for p in $(jobs -rp); do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    wait
    exit 130
  }
  trap stop_folds INT TERM
  for k in $(seq 1 "$folds"); do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_at_once" ]; do wait -n || true; done
    echo "cross-validate: fold $k of $folds: started beside the others, $threads thread(s) (log: $out/fold-$k.log)" >&2
    rm -f "$out/fold-$k.status"
    {
      if OMP_NUM_THREADS="$threads" train_fold "$k" > "$out/fold-$k.log" 2>&1; then status=0; else status=$?; fi
      echo "$status" > "$out/fold-$k.status"
      echo "cross-validate: fold $k of $folds: finished, exit status $status" >&2
    } &
  done
  wait
  trap - INT TERM
  failed=""
  for k in $(seq 1 "$folds"); do
    [ "$(cat "$out/fold-$k.status" 2>/dev/null)" = 0 ] || failed="$failed $k"
  done
  if [ -n "$failed" ]; then
    for k in $failed; do
      echo "cross-validate.sh: fold $k failed (exit status $(cat "$out/fold-$k.status" 2>/dev/null || echo unknown)); the end of $out/fold-$k.log:" >&2
      tail -n 5 "$out/fold-$k.log" >&2 || true
    done
    exit 1
  fi
fi
[ -n "${TRAIN_ONLY:-}" ] && exit 0

# held_set RUN PART: a dataset folder per source (images/, av/, mask/) holding links to the
# photographs of split.json's PART ("validation" or "training"), under RUN/score/PART/.
held_set() {
  python3 - "$1" "$2" <<'PY'
import json, os, sys, glob
run, part = sys.argv[1], sys.argv[2]
split = json.load(open(os.path.join(run, "split.json")))
base = os.path.join(run, "score", part)
for image in split[part]:
    images_dir = os.path.dirname(image)
    source = os.path.dirname(images_dir)                 # DATASET/training
    name = os.path.basename(os.path.dirname(source)) or os.path.basename(source)
    stem = os.path.splitext(os.path.basename(image))[0]
    for sub in ("images", "av", "mask"):
        os.makedirs(os.path.join(base, name, sub), exist_ok=True)
    def link(path, sub):
        target = os.path.join(base, name, sub, os.path.basename(path))
        if not os.path.lexists(target):
            os.symlink(os.path.abspath(path), target)
    link(image, "images")
    labels = glob.glob(os.path.join(source, "av", stem + ".*"))
    if not labels:
        sys.exit(f"cross-validate: no label for {image} in {source}/av")
    link(labels[0], "av")
    for mask in glob.glob(os.path.join(source, "mask", stem + "[._]*")):
        link(mask, "mask")
print(base)
PY
}

for k in $(seq 1 "$folds"); do
  run="$out/fold-$k"
  [ -f "$run/split.json" ] || { echo "cross-validate: $run has no split.json (not trained by this version)" >&2; exit 1; }
  # Exported (and so scored) again only when the checkpoint changed since.
  model="$run/$model_name.safetensors"
  if [ ! -f "$model" ] || [ "$run/$checkpoint.safetensors" -nt "$model" ] ||
     [ "$(cat "$run/$model_name.checkpoint" 2>/dev/null)" != "$checkpoint" ]; then
    rm -f "$model"  # export refuses to write over a file a run folder needs only by name; start clean
    "$seqnet" export "$run/$checkpoint.safetensors" -o "$model" ${export_options[@]+"${export_options[@]}"} >/dev/null
    echo "$checkpoint" > "$run/$model_name.checkpoint"
  fi
  for part in $parts; do
    scores="$run/$name"
    if [ -f "$scores/$part.json" ] && [ "$scores/$part.json" -nt "$model" ]; then continue; fi
    rm -rf "$run/score/$part" "$scores/$part-maps"
    base="$(held_set "$run" "$part")"
    inputs=() data=()
    for d in "$base"/*/; do inputs+=(-i "${d%/}/images"); data+=(--data "${d%/}"); done
    echo "cross-validate: fold $k: predicting and scoring its $part photographs${PREDICT_OPTIONS:+ (${PREDICT_OPTIONS})}" >&2
    mkdir -p "$scores"
    fold_options=()
    for option in ${predict_options[@]+"${predict_options[@]}"}; do fold_options+=("${option//\{fold\}/$k}"); done
    "$seqnet" predict "${inputs[@]}" -o "$scores/$part-maps" --weights "$model" \
      ${fold_options[@]+"${fold_options[@]}"} >/dev/null 2>&1
    "$seqnet" evaluate --pred "$scores/$part-maps" "${data[@]}" --json "$scores/$part.json" >/dev/null
  done
done

python3 - "$out" "$folds" "$checkpoint" "$name" "${PREDICT_OPTIONS:-}" "$model_name" <<'PY'
import json, statistics, sys
out, folds, checkpoint, name, options, model_name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
summary_file = f"{out}/summary.json" if name == "score" else f"{out}/summary-{name}.json"
def predicted_with_flips(record):  # predict's flips (its default since 2026-12-07); None: maps not kept
    try:
        return json.load(open(record)).get("flips", False)
    except FileNotFoundError:
        return None
rows = []
for k in range(1, folds + 1):
    v = json.load(open(f"{out}/fold-{k}/{name}/validation.json"))
    try:
        t = json.load(open(f"{out}/fold-{k}/{name}/training.json"))
    except FileNotFoundError:  # PARTS=validation
        t = None
    # The step of the scored weights: the "training" metadata of the exported file.
    with open(f"{out}/fold-{k}/{model_name}.safetensors", "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    steps = json.loads(header["__metadata__"]["training"])["step"]
    images = v["artery_vein"]["images"]
    worst = min(images, key=lambda i: i["scores"]["all"]["accuracy"])
    rows.append({"fold": k, "steps": steps,
                 "vessel_auc": v["vessel"]["pooled"]["roc_auc"],
                 "av_all": v["artery_vein"]["pooled"]["all"]["accuracy"],
                 "av_detected": v["artery_vein"]["pooled"]["detected"]["accuracy"],
                 "train_av_all": t["artery_vein"]["pooled"]["all"]["accuracy"] if t else None,
                 "worst_image": worst["name"], "worst_av_all": worst["scores"]["all"]["accuracy"],
                 "flips": predicted_with_flips(f"{out}/fold-{k}/{name}/validation-maps/predict.json"),
                 "per_image": {i["name"]: i["scores"]["all"]["accuracy"] for i in images}})
keys = [k for k in ("vessel_auc", "av_all", "av_detected", "train_av_all") if all(r[k] is not None for r in rows)]
summary = {"checkpoint": checkpoint, "weights": "trained" if model_name == "model-trained" else "average",
           "predict_options": options, "folds": rows,
           "mean": {k: statistics.mean(r[k] for r in rows) for k in keys},
           "sd": {k: statistics.stdev(r[k] for r in rows) if len(rows) > 1 else 0.0 for k in keys},
           "min": {k: min(r[k] for r in rows) for k in keys}, "max": {k: max(r[k] for r in rows) for k in keys}}
json.dump(summary, open(summary_file, "w"), indent=2)
print(f"| fold | steps | vessel AUC | A/V all (val) | A/V detected (val) | A/V all (training photographs) | worst validation photograph |")
print("| --- | --- | --- | --- | --- | --- | --- |")
def number(value):
    return "-" if value is None else f"{value:.4f}"
for r in rows:
    print(f"| {r['fold']} | {r['steps']} | {r['vessel_auc']:.4f} | {r['av_all']:.4f} | {r['av_detected']:.4f} | "
          f"{number(r['train_av_all'])} | {r['worst_image']} {r['worst_av_all']:.3f} |")
m, s = summary["mean"], summary["sd"]
spread = lambda k: f"{m[k]:.4f} +- {s[k]:.4f}" if k in m else "-"
print(f"| mean +- sd | | {spread('vessel_auc')} | {spread('av_all')} | {spread('av_detected')} | {spread('train_av_all')} | "
      f"{min(r['worst_av_all'] for r in rows):.3f} |")
print(f"\n(checkpoint: {checkpoint}{', its last step' if model_name == 'model-trained' else ''}"
      f"{'; predict ' + options if options else ''}; {summary_file})")
PY
