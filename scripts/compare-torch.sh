#!/usr/bin/env bash
# compare-torch.sh: seqnet against the PyTorch peer, side by side on this machine (issue #8).
#
#   bash scripts/compare-torch.sh [ROUNDS]        (default 3 rounds)
#
# Each round runs ../shared/peer/bench_torch.py and then `seqnet bench` on the same configuration
# (width 16, depth 5, 3 iterations, batch norm, 4 crops of 128x128, inference on one 576x576
# image, 2 threads) and prints one row: both times, their ratio (seqnet / PyTorch: below 1 means
# seqnet is faster) and both peak resident memories. The last rows are the medians.
# Environment: SEQNET (the binary, default build/seqnet), PEER (default ../shared/peer),
# THREADS (default 2), STEPS (timed repeats per program, default 3). Needs python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-3}
seqnet=${SEQNET:-build/seqnet}
peer=${PEER:-../shared/peer}
threads=${THREADS:-2}
steps=${STEPS:-3}
python=/usr/bin/python3

[[ -x $seqnet ]] || { echo "compare-torch: no seqnet binary at $seqnet (build first: bash scripts/build.sh)" >&2; exit 2; }
[[ -f $peer/bench_torch.py ]] || { echo "compare-torch: no $peer/bench_torch.py (set PEER)" >&2; exit 2; }
if ! $python -c "import torch" 2>/dev/null; then
  echo "compare-torch: PyTorch is missing: apt-get install -y python3-torch" >&2
  exit 2
fi

# One JSON field of a one-line JSON object.
field() { $python -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F)"
echo "seqnet $(git rev-parse --short HEAD 2>/dev/null || echo '(not a git checkout)'), $threads threads"
printf '%-6s %-12s %10s %10s %7s %10s %10s %7s %9s %9s\n' round load torch_train seqnet_train ratio torch_infer seqnet_infer ratio torch_MB seqnet_MB
rows=()
for round in $(seq 1 "$rounds"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  torch=$($python "$peer/bench_torch.py" --width 16 --depth 5 --iterations 3 --norm batch --batch 4 --crop 128 \
    --threads "$threads" --infer 576 --steps "$steps" | tail -1)
  ours=$(OMP_NUM_THREADS=$threads "$seqnet" bench --width 16 --depth 5 --seg-iterations 3 --cls-iterations 3 \
    --norm batch --batch 4 --crop 128 --infer 576 --steps "$steps" --device cpu --json | tail -1)
  row=$($python - "$torch" "$ours" <<'EOF'
import json, sys
t, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(t["train_step_s_median"], s["train_step_s"], s["train_step_s"] / t["train_step_s_median"],
      t["infer_s"], s["infer_s"], s["infer_s"] / t["infer_s"], t["peak_rss_mb"], s["peak_rss_mb"])
EOF
)
  rows+=("$row")
  read -r tt st rt ti si ri tm sm <<<"$row"
  printf '%-6s %-12s %10.3f %10.3f %7.2f %10.3f %10.3f %7.2f %9.0f %9.0f\n' "$round" "$load" "$tt" "$st" "$rt" "$ti" "$si" "$ri" "$tm" "$sm"
done
$python - "${rows[@]}" <<'EOF'
import statistics, sys
cols = list(zip(*[map(float, r.split()) for r in sys.argv[1:]]))
m = [statistics.median(c) for c in cols]
print(f"{'median':<6} {'':<12} {m[0]:10.3f} {m[1]:10.3f} {m[2]:7.2f} {m[3]:10.3f} {m[4]:10.3f} {m[5]:7.2f} {m[6]:9.0f} {m[7]:9.0f}")
EOF
echo "seqnet ran with: $(field "$ours" cpu)"
