#!/usr/bin/env bash
# ptxas-resources.sh: registers, shared memory and spills of every kernel in kernels/cuda, as ptxas
# reports them for one architecture (default sm_90, the H100/H200), one row per kernel. No GPU
# needed: only nvcc. docs/GPU.md quotes this table next to its performance model.
#
# Usage: scripts/ptxas-resources.sh [ARCH]      e.g. scripts/ptxas-resources.sh sm_80
# Environment: NVCC (default /usr/local/cuda/bin/nvcc, then nvcc on PATH)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARCH=${1:-sm_90}
NVCC=${NVCC:-$(command -v /usr/local/cuda/bin/nvcc || command -v nvcc || true)}
[ -n "$NVCC" ] || { echo "ptxas-resources.sh: nvcc not found (set NVCC)" >&2; exit 1; }
FILT=$(command -v "$(dirname "$NVCC")/cu++filt" || command -v c++filt || echo cat)  # demangler
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

printf '%-16s %-58s %5s %8s %6s\n' "file" "kernel" "regs" "smem B" "spill"
for source in "$ROOT"/kernels/cuda/*.cu; do
  name=$(basename "$source" .cu)
  case "$name" in cudnn_conv | cublas_gemm | runtime | launch) continue ;; esac  # no kernels of ours
  "$NVCC" -arch="$ARCH" -std=c++17 -O3 -I"$ROOT" -Xptxas -v -c "$source" -o "$SCRATCH/$name.o" 2> "$SCRATCH/$name.log" ||
    { cat "$SCRATCH/$name.log" >&2; exit 1; }
  # ptxas prints per entry: "Compiling entry function 'MANGLED'", then "... N bytes spill stores,
  # M bytes spill loads", then "Used R registers, ..., S bytes smem".
  awk -v file="$name" '
    /Compiling entry function/ { match($0, /'"'"'[^'"'"']*'"'"'/); kernel = substr($0, RSTART + 1, RLENGTH - 2); smem = 0; spill = 0 }
    /spill stores/ { for (i = 1; i <= NF; ++i) if ($(i + 1) == "bytes" && ($(i + 2) == "spill")) spill += $i }
    /Used [0-9]+ registers/ {
      for (i = 1; i <= NF; ++i) { if ($(i + 1) == "registers,") regs = $i; if ($(i + 1) == "bytes" && $(i + 2) == "smem") smem = $i }
      print file "\t" kernel "\t" regs "\t" smem "\t" spill
    }' "$SCRATCH/$name.log"
done | while IFS=$'\t' read -r file kernel regs smem spill; do
  # void seqnet::cuda::implicit_gemm::gemm_kernel<seqnet::cuda::(anonymous namespace)::Conv<3, true>, 64, 8,
  # false>(float*, ...) -> gemm_kernel<Conv<3, true>, 64, 8, false>: namespaces, "void" and the
  # argument list (the last parenthesised group) dropped.
  short=$(echo "$kernel" | "$FILT" |
    sed -E 's/^void //; s/\(anonymous namespace\):://g; s/seqnet::cuda::([a-z_]+::)?//g; s/\([^()]*\)$//')
  printf '%-16s %-58s %5s %8s %6s\n' "$file" "$short" "$regs" "$smem" "$spill"
done
