#!/usr/bin/env bash
# ptx-mix.sh: the instruction mix of one main-loop step of every convolution kernel (conv2d.cu,
# conv_transpose2x2.cu, and the teaching steps of conv3x3_progression.cu), compiled for one
# architecture (default sm_90), with no GPU: per kernel,
# the instructions of its main loop by kind, the share of them that is math, and ptxas's
# registers and spills. docs/GPU.md's performance model is computed from this table.
#
# PTX, not SASS: this toolkit has nvcc and ptxas but no cuobjdump/nvdisasm to decode SASS. PTX
# counts differ from SASS in known directions: ptxas folds constant address offsets into loads
# (fewer integer instructions in SASS), while one PTX div/rem of an integer becomes ~20-40 SASS
# instructions (so the `div` column is counted apart: each is far dearer than one slot).
#
# The main loop: in each kernel's PTX, a loop is the span from a label to a later branch back to
# it. The main loop is the innermost loop that holds both a barrier (bar.sync: the tiled GEMMs'
# step) and math; in a kernel without barriers in loops (the thin 1x1 kernels) the loop with the
# most math. Its span is counted statically, every path (for interior tiles, where every gather
# is in bounds, the paths skipped at borders are one mov or none).
#
# Kinds: math = fma.f32 (FFMA) or mma.sync (one HMMA.1688 on sm_80/sm_90); lds/sts = shared
# loads/stores; ldg = global loads, cp.async included; int = integer and address arithmetic
# (integer add/mul/mad/shift/logic/compare/select/convert, mov of integers); div = integer div/rem
# (also counted in int); other = everything else (cvt.rna.tf32, float moves and compares,
# branches, the barrier). math % = math / all. For mma kernels, "tc busy <=" bounds the tensor
# pipe: at H100's dense TF32 rate a scheduler finishes one m16n8k8 (2,048 FLOP) per 4 cycles and
# issues one instruction per cycle, so a step takes at least max(all, 4 mma) cycles.
#
# Compiled as the build compiles the CUDA sources (C++17: CMakeLists.txt, CMAKE_CUDA_STANDARD).
#
# Usage: scripts/ptx-mix.sh [ARCH]
# Environment: NVCC (default /usr/local/cuda/bin/nvcc, then nvcc on PATH)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARCH=${1:-sm_90}
NVCC=${NVCC:-$(command -v /usr/local/cuda/bin/nvcc || command -v nvcc || true)}
[ -n "$NVCC" ] || { echo "ptx-mix.sh: nvcc not found (set NVCC)" >&2; exit 1; }
PTXAS=$(command -v "$(dirname "$NVCC")/ptxas" || command -v ptxas)
FILT=$(command -v "$(dirname "$NVCC")/cu++filt" || command -v c++filt || echo cat)
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

for name in conv2d conv_transpose2x2 conv3x3_progression; do
  "$NVCC" -arch="$ARCH" -std=c++17 -O3 -I"$ROOT" -ptx "$ROOT/kernels/cuda/$name.cu" -o "$SCRATCH/$name.ptx"
  "$PTXAS" -arch="$ARCH" -O3 -v "$SCRATCH/$name.ptx" -o /dev/null 2> "$SCRATCH/$name.ptxas"
done

python3 - "$SCRATCH" "$FILT" <<'EOF'
import re, subprocess, sys

scratch, filt = sys.argv[1], sys.argv[2]

def demangle(name):
    if filt == "cat":
        return name
    out = subprocess.run([filt], input=name, capture_output=True, text=True).stdout.strip()
    # void seqnet::cuda::implicit_gemm::gemm_kernel<seqnet::cuda::(anonymous namespace)::Conv<3, true>,
    # 64, 8, false>(float*, ...) -> gemm_kernel<Conv<3, true>, 64, 8, false>
    out = re.sub(r"^void ", "", out)
    out = out.replace("(anonymous namespace)::", "")
    out = re.sub(r"seqnet::cuda::([a-z_]+::)?", "", out)
    return re.sub(r"\([^()]*\)$", "", out)

def resources(log):
    # ptxas -v: "Compiling entry function 'X'", "... N bytes spill stores, M bytes spill loads",
    # "Used R registers, ...".
    table, kernel = {}, None
    for line in open(log):
        m = re.search(r"Compiling entry function '([^']*)'", line)
        if m:
            kernel = m.group(1)
            table[kernel] = [0, 0]
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m and kernel:
            table[kernel][1] = int(m.group(1)) + int(m.group(2))
        m = re.search(r"Used (\d+) registers", line)
        if m and kernel:
            table[kernel][0] = int(m.group(1))
    return table

INT = re.compile(r"\.(s|u|b)(8|16|32|64)$|\.pred$")

def kind(op):
    if op.startswith("mma.sync") or re.match(r"fma\.rn(\.ftz)?\.f32$", op):
        return "math"
    if op.startswith("ld.shared"):
        return "lds"
    if op.startswith("st.shared"):
        return "sts"
    if op.startswith("ld.global") or op.startswith("cp.async"):
        return "ldg"
    if op.startswith("cvt.rna.tf32") or op.startswith(("bra", "bar", "ret", "exit")):
        return "other"
    if op.startswith("cvt.") or op.startswith("cvta."):
        return "int" if not re.search(r"\.f(16|32|64)", op) else "other"
    if INT.search(op) or op.startswith(("setp.", "selp.")) and not re.search(r"\.f32$", op):
        return "int"
    return "other"

def main_loop(body):
    labels = {}
    loops = []
    for n, line in enumerate(body):
        m = re.match(r"^(\$L__\w+):", line)
        if m:
            labels[m.group(1)] = n
        m = re.search(r"\bbra(\.uni)?\s+(\$L__\w+);", line)
        if m and m.group(2) in labels:
            loops.append((labels[m.group(2)], n))
    def stats(span):
        text = body[span[0]:span[1] + 1]
        return sum(kind(op) == "math" for op in ops(text)), any("bar.sync" in l for l in text)
    candidates = [(s, stats(s)) for s in loops]
    barred = [c for c in candidates if c[1][0] > 0 and c[1][1]]
    if barred:
        return min(barred, key=lambda c: c[0][1] - c[0][0])[0]
    mathy = [c for c in candidates if c[1][0] > 0]
    return max(mathy, key=lambda c: c[1][0])[0] if mathy else None

def ops(lines):
    for line in lines:
        line = line.split("//")[0].strip()
        if not line or line.endswith(":") or line[0] in ".{}" or line.startswith("$"):
            continue
        line = re.sub(r"^@!?%\w+\s+", "", line)
        yield line.split()[0].rstrip(";")

print(f"{'file':<18} {'kernel':<52} {'math':>4} {'lds':>4} {'sts':>4} {'ldg':>4} {'int':>4} {'div':>4} "
      f"{'other':>5} {'all':>4} {'math%':>6} {'tc<=':>5} {'regs':>4} {'spill':>5}")
for name in ("conv2d", "conv_transpose2x2", "conv3x3_progression"):
    res = resources(f"{scratch}/{name}.ptxas")
    text = open(f"{scratch}/{name}.ptx").read().split("\n")
    entries = [n for n, l in enumerate(text) if l.startswith(".entry") or l.startswith(".visible .entry")]
    rows = []
    for k, start in enumerate(entries):
        end = entries[k + 1] if k + 1 < len(entries) else len(text)
        mangled = re.search(r"entry\s+(\w+)\(", text[start]).group(1)
        body = text[start:end]
        span = main_loop(body)
        if span is None or re.search(r"add_(splits|chunks)_kernel", mangled):
            continue  # not a convolution's main loop (the split and chunk sums add, never multiply)
        count = {"math": 0, "lds": 0, "sts": 0, "ldg": 0, "int": 0, "other": 0}
        divs = mmas = 0
        for op in ops(body[span[0]:span[1] + 1]):
            count[kind(op)] += 1
            divs += op.startswith(("div.", "rem."))
            mmas += op.startswith("mma.sync")
        total = sum(count.values())
        tc = f"{100 * 4 * mmas / max(total, 4 * mmas):.0f}%" if mmas else "-"
        regs, spill = res.get(mangled, ["?", "?"])
        rows.append((demangle(mangled), count, divs, total, tc, regs, spill))
    for kernel, c, divs, total, tc, regs, spill in sorted(rows):
        print(f"{name:<18} {kernel:<52} {c['math']:>4} {c['lds']:>4} {c['sts']:>4} {c['ldg']:>4} {c['int']:>4} "
              f"{divs:>4} {c['other']:>5} {total:>4} {100 * c['math'] / total:>5.0f}% {tc:>5} {regs:>4} {spill:>5}")
EOF
