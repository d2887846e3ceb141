#!/usr/bin/env bash
# gpu-check.sh: everything worth checking on a GPU machine, in one command that fits in about
# 4 minutes on an H100 with a prebuilt folder, most telling first: the machine and libraries, the
# TF32 mma tests (the real fragment layout), the convolution tests, the other CUDA tests,
# compute-sanitizer synccheck and racecheck on the tiled kernels, `seqnet verify --device cuda` on
# the golden dumps, 200 training steps against the CPU's losses, the custom-vs-cuDNN convolution
# benchmarks (FP32 and TF32) and the forward convolution's five steps (conv3x3_progression.h),
# and, time allowing, `seqnet bench --device cuda` on the default
# model. It keeps going past failures, skips what would overrun the budget (saying so), and prints
# a summary and one table of convolution timings, laid out for docs/GPU.md, last; the exit status
# is non-zero when anything failed.
#
# Usage
#   scripts/gpu-check.sh                 configure and build build-gpu/ here (cmake + ninja, sm_90)
#   scripts/gpu-check.sh BUILD_DIR       use a prebuilt build folder (or BUILD_DIR=... in the environment)
# Environment
#   OUT          where logs and benchmark JSON go (default ./gpu-check-out)
#   GOLDEN_DIR   folder of golden *.safetensors (default tests/golden; the CUDA tests read it too)
#   SEQNET_LIB_DIR  extra shared libraries, put first on LD_LIBRARY_PATH (default BUILD_DIR/carried-libs)
#   BUDGET_S     seconds after which the optional last steps are skipped (default 210)
#
# Carrying a build made elsewhere. The GPU machine may lack libgtest, libbenchmark, libopenblas or
# libtiff. Build on the development machine, then collect the non-system libraries the three
# programs need beside them (cuDNN and cuBLAS are too large to carry; they come from the GPU
# machine's CUDA toolkit, and libcuda from its driver):
#   scripts/gpu-check.sh --pack build-cuda
# and carry only these paths (about the size of the three programs plus a few MB of libraries):
#   build-cuda/tests/seqnet_tests  build-cuda/bench/seqnet_bench_cuda_kernels  build-cuda/seqnet
#   build-cuda/carried-libs        (the golden dumps come with the tree: tests/golden)
# then on the GPU machine: scripts/gpu-check.sh build-cuda
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# ---- --pack: gather the shared libraries a prebuilt folder needs --------------------------------
if [ "${1:-}" = "--pack" ]; then
  build=${2:?usage: gpu-check.sh --pack BUILD_DIR}
  mkdir -p "$build/carried-libs"
  for program in "$build/tests/seqnet_tests" "$build/bench/seqnet_bench_cuda_kernels" "$build/seqnet"; do
    [ -x "$program" ] || { echo "missing $program: build it first" >&2; exit 1; }
    # Everything resolved to a file except the C library, the loader, the driver and the CUDA
    # toolkit's own libraries (present wherever a GPU is).
    ldd "$program" | awk '/=> \// {print $3}' |
      grep -vE '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*|libcuda|libnvidia[^/]*|libcudnn[^/]*|libcublas[^/]*|libcudart)\.so' |
      while read -r lib; do cp -Lu "$lib" "$build/carried-libs/"; done
  done
  du -sh "$build/carried-libs"
  exit 0
fi

BUILD_DIR=${1:-${BUILD_DIR:-}}
OUT_DIR=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT_DIR"
# NVIDIA_TF32_OVERRIDE is left alone: set to 0 it would turn TF32 off inside cuDNN and cuBLAS too,
# so the cudnn_tf32 column would run float32 and its ratio would mean nothing. The float32 rows ask
# cuDNN for FMA math (no tensor cores) explicitly (kernels/cuda/cudnn_conv.cu).
unset NVIDIA_TF32_OVERRIDE

declare -a SUMMARY=()
FAILED=0
note() {  # note NAME STATUS DETAIL: one summary row; STATUS FAIL marks the run failed
  SUMMARY+=("$(printf '%-28s %-5s %s' "$1" "$2" "$3")")
  [ "$2" = "FAIL" ] && FAILED=1
  return 0
}
section() { printf '\n==== %s ====\n' "$1"; }
BUDGET_S=${BUDGET_S:-210}
within_budget() { [ "$SECONDS" -lt "$BUDGET_S" ]; }  # SECONDS: since the script started

# ---- The machine and the libraries --------------------------------------------------------------
section "GPU"
if command -v nvidia-smi > /dev/null; then
  nvidia-smi || note "nvidia-smi" FAIL "exit $?"
else
  note "nvidia-smi" FAIL "not found"
fi

# The driver must support the CUDA runtime the build uses (CUDA 13.0 needs driver 580 or newer).
# An older one makes every CUDA call fail with "insufficient driver": say so with both versions.
version_lt() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$1" ]; }
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2> /dev/null | head -1)
driver_cuda=$(nvidia-smi 2> /dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)
runtime=$({ /usr/local/cuda/bin/nvcc --version || nvcc --version; } 2> /dev/null | sed -n 's/.*release \([0-9.]*\),.*/\1/p' | head -1)
echo "NVIDIA driver: ${driver:-none} (supports CUDA up to ${driver_cuda:-unknown}); CUDA runtime of the build: ${runtime:-unknown}"
if [ -z "$driver" ]; then
  note "driver" FAIL "no NVIDIA driver answered (nvidia-smi); CUDA runtime ${runtime:-unknown}"
elif [ -n "$driver_cuda" ] && [ -n "$runtime" ] && version_lt "$driver_cuda" "$runtime"; then
  note "driver" FAIL "driver $driver supports CUDA $driver_cuda, older than the CUDA $runtime runtime: upgrade the driver (CUDA 13.0 needs 580+) or build with a CUDA $driver_cuda toolkit"
else
  note "driver" OK "driver $driver (CUDA up to ${driver_cuda:-?}), runtime ${runtime:-?}"
fi

section "Libraries"
have_header() { [ -e "/usr/include/$1" ] || [ -e "/usr/local/include/$1" ]; }
have_lib() { ldconfig -p 2> /dev/null | grep -q "$1"; }
for entry in "gtest:gtest/gtest.h:libgtest" "benchmark:benchmark/benchmark.h:libbenchmark" \
  "openblas:openblas/cblas.h:libopenblas" "tiff:tiffio.h:libtiff" "nlohmann-json:nlohmann/json.hpp:-" \
  "stb:stb/stb_image.h:-" "cudnn:cudnn.h:libcudnn"; do
  IFS=: read -r name header lib <<< "$entry"
  state=""
  have_header "$header" || [ -e "/usr/local/cuda/include/$header" ] && state="headers"
  if [ "$lib" != "-" ] && { have_lib "$lib" || ls /usr/local/cuda/lib64/"$lib"* > /dev/null 2>&1; }; then
    state="${state:+$state+}library"
  fi
  printf '  %-14s %s\n' "$name" "${state:-absent}"
done

# cuDNN may come as the Python wheel nvidia-cudnn-cu13 rather than inside the toolkit: find it.
PIP_CUDNN=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2> /dev/null || true)
declare -a CUDNN_HINTS=()
if [ -n "$PIP_CUDNN" ] && [ -d "$PIP_CUDNN/lib" ]; then
  echo "cuDNN from the Python wheel: $PIP_CUDNN"
  cudnn_lib=$(find "$PIP_CUDNN/lib" -maxdepth 1 -name "libcudnn.so*" | head -1)
  [ -n "$cudnn_lib" ] && CUDNN_HINTS=(-DCUDNN_LIBRARY="$cudnn_lib" -DCUDNN_INCLUDE_DIR="$PIP_CUDNN/include")
fi

# ---- Build or prebuilt --------------------------------------------------------------------------
section "Build"
if [ -n "$BUILD_DIR" ] && [ -d "$BUILD_DIR" ]; then
  BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
  echo "using the prebuilt folder $BUILD_DIR"
  note "build" "-" "prebuilt $BUILD_DIR"
else
  BUILD_DIR=$ROOT/build-gpu
  if cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEQNET_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DSEQNET_BENCH=ON "${CUDNN_HINTS[@]}" > "$OUT_DIR/configure.log" 2>&1 &&
    ninja -C "$BUILD_DIR" seqnet seqnet_tests seqnet_bench_cuda_kernels > "$OUT_DIR/build.log" 2>&1; then
    note "build" OK "$BUILD_DIR"
  else
    tail -30 "$OUT_DIR/configure.log" "$OUT_DIR/build.log" 2> /dev/null
    note "build" FAIL "see $OUT_DIR/build.log"
  fi
fi
LIB_DIR=${SEQNET_LIB_DIR:-$BUILD_DIR/carried-libs}
export LD_LIBRARY_PATH="$LIB_DIR:/usr/local/cuda/lib64${PIP_CUDNN:+:$PIP_CUDNN/lib}:${LD_LIBRARY_PATH:-}"
TESTS=$BUILD_DIR/tests/seqnet_tests
BENCH=$BUILD_DIR/bench/seqnet_bench_cuda_kernels
SEQNET=$BUILD_DIR/seqnet
# The tests find the dumps through SEQNET_GOLDEN_DIR: a carried build's own source path is not here.
GOLDEN=${GOLDEN_DIR:-$ROOT/tests/golden}
export SEQNET_GOLDEN_DIR=$GOLDEN

# ---- CUDA tests, in the order that tells most first ---------------------------------------------
# 1. the TF32 mma tests: the one place where the emulated build cannot stand in for the GPU (the
#    real tensor core's fragment layout); 2. the convolutions (custom tiles, cuDNN); 3. the rest.
# CudaDistributed starts mpirun, which a GPU machine given a carried build may lack: it runs in
# the emulated build (scripts/test-cuda-emulated.sh) and on a multi-GPU node, not here.
run_tests() {  # run_tests NAME FILTER
  local log="$OUT_DIR/tests-$1.log"
  if [ ! -x "$TESTS" ]; then note "tests $1" FAIL "no $TESTS"; return; fi
  "$TESTS" --gtest_filter="$2" --gtest_output="json:$OUT_DIR/tests-$1.json" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]} passed failed skipped
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  local detail="passed ${passed:-0}, failed ${failed:-0}, skipped ${skipped:-0}"
  # A skip here means the GPU was not usable: that is a failure of this check.
  if [ "$status" -eq 0 ] && [ "${skipped:-0}" -eq 0 ] && [ "${passed:-0}" -gt 0 ]; then
    note "tests $1" OK "$detail"
  else
    note "tests $1" FAIL "$detail (exit $status)"
  fi
}
# The CPU half of the training comparison (below) runs meanwhile on the CPU cores.
TRAIN_DIR=$OUT_DIR/train-200
rm -rf "$TRAIN_DIR"
mkdir -p "$TRAIN_DIR"
TRAIN_ARGS="--width 8 --depth 3 --refine-depth 2 --seg-iterations 1 --cls-iterations 1 --size 128 --crop 64
  --batch 4 --crops-per-image 1 --epochs 1 --steps-per-epoch 200 --seed 7 --log-every 1 --val-fraction 0.25
  --dropout 0 --workers 2"
CPU_TRAIN_PID=""
if [ -x "$SEQNET" ] && "$SEQNET" synth -o "$TRAIN_DIR/data" -n 8 --seed 3 --size 128x128 > "$TRAIN_DIR/synth.log" 2>&1; then
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=8 "$SEQNET" train --data "$TRAIN_DIR/data" $TRAIN_ARGS --device cpu -o "$TRAIN_DIR/cpu" \
    > "$TRAIN_DIR/cpu.log" 2>&1 &
  CPU_TRAIN_PID=$!
fi

section "CUDA tests 1/3: TF32 mma (the real fragment layout)"
run_tests tf32 'CudaTf32*'
section "CUDA tests 2/3: convolutions"
CONV_FILTER='CudaKernelConv*:*/CudaKernelConv*:CudaKernelCudnn*'
run_tests conv "$CONV_FILTER"
section "CUDA tests 3/3: the rest"
run_tests rest "Cuda*:*/Cuda*-CudaTf32*:$CONV_FILTER:CudaDistributed*"

# ---- compute-sanitizer --------------------------------------------------------------------------
# synccheck (barriers every thread of a block reaches) and racecheck (shared-memory hazards) on
# the tiled kernels: the implicit GEMMs (FP32 and TF32, every tile height, split-K, the weight
# gradient) at the launch shapes of 132 and 1 multiprocessors, and the forward progression's
# tiled steps (conv3x3_progression.cu). memcheck is left to the emulated build under
# AddressSanitizer (scripts/test-cuda-emulated.sh --sanitize), to fit the time.
TILED_FILTER='Cuda/CudaKernelConv2dOn.MatchesCpu*:Cuda/CudaKernelConvTranspose2x2On.MatchesCpu*:CudaTf32On*'
TILED_FILTER+=':Steps/CudaKernelConv3x3Progression.*'
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in synccheck racecheck; do
  section "compute-sanitizer $tool (tiled kernels)"
  if [ -x "$SANITIZER" ] && [ -x "$TESTS" ]; then
    "$SANITIZER" --tool "$tool" "$TESTS" --gtest_filter="$TILED_FILTER" > "$OUT_DIR/sanitizer-$tool.log" 2>&1
    status=$?
    tail -5 "$OUT_DIR/sanitizer-$tool.log"
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) error.*/\1/p' "$OUT_DIR/sanitizer-$tool.log" | tail -1)
    hazards=$(sed -n 's/.*RACECHECK SUMMARY: \([0-9]*\) hazard.*/\1/p' "$OUT_DIR/sanitizer-$tool.log" | tail -1)
    errors=$((${errors:-0} + ${hazards:-0}))
    if [ "$status" -eq 0 ] && [ "$errors" -eq 0 ]; then note "sanitizer $tool" OK "0 errors"; else note "sanitizer $tool" FAIL "$errors errors (exit $status)"; fi
  else
    note "sanitizer $tool" FAIL "compute-sanitizer or the tests missing"
  fi
done

# ---- Golden verification ------------------------------------------------------------------------
section "seqnet verify --device cuda"
if [ ! -x "$SEQNET" ] || ! "$SEQNET" help 2>&1 | grep -qE '^[[:space:]]+verify'; then
  note "verify cuda" "-" "no 'seqnet verify' in this build"
elif ! ls "$GOLDEN"/*.safetensors > /dev/null 2>&1; then
  note "verify cuda" "-" "no golden *.safetensors (set GOLDEN_DIR)"
else
  "$SEQNET" verify --device cuda "$GOLDEN"/*.safetensors 2>&1 | tee "$OUT_DIR/verify-cuda.log"
  status=${PIPESTATUS[0]}
  if [ "$status" -eq 0 ]; then note "verify cuda" OK "$GOLDEN"; else note "verify cuda" FAIL "exit $status"; fi
fi

# ---- 200 training steps against the CPU's losses -----------------------------------------------
# The same tiny model, synthetic data and seed on both devices (dropout off). The kernels agree
# to ~1e-6 per operation, so the first losses agree to 1e-4 relative (as in the CUDA end-to-end
# test); over 200 Adam steps such differences grow (batch-norm and Adam amplify rounding in
# directions the loss does not care about), so the check on the end is the mean of the last 20
# losses within 5%: a wrong kernel moves the first loss by percents or stops the loss falling.
section "200 training steps, CUDA (custom FP32) against the CPU"
losses() { sed -n 's/.*"event":"step".*"loss":\([-0-9.eE+]*\).*/\1/p' "$1/log.jsonl" 2> /dev/null; }
if [ -n "$CPU_TRAIN_PID" ]; then
  # shellcheck disable=SC2086
  "$SEQNET" train --data "$TRAIN_DIR/data" $TRAIN_ARGS --device cuda -o "$TRAIN_DIR/cuda" > "$TRAIN_DIR/cuda.log" 2>&1
  cuda_status=$?
  wait "$CPU_TRAIN_PID"
  cpu_status=$?
  comparison=$(paste <(losses "$TRAIN_DIR/cpu") <(losses "$TRAIN_DIR/cuda") | awk '
    { n++; c[n] = $1; g[n] = $2 }
    END {
      if (n < 200) { print "FAIL only " n " steps logged on both"; exit }
      first = (g[1] - c[1]) / c[1]; if (first < 0) first = -first
      for (i = n - 19; i <= n; ++i) { lc += c[i] / 20; lg += g[i] / 20 }
      last = (lg - lc) / lc; if (last < 0) last = -last
      ok = first <= 1e-4 && last <= 0.05 && lc < 0.8 * c[1]
      printf "%s first loss cpu %.6g cuda %.6g (rel %.1e); last 20 mean cpu %.4g cuda %.4g (rel %.1e)\n",
        ok ? "OK" : "FAIL", c[1], g[1], first, lc, lg, last
    }')
  echo "$comparison"
  if [ "$cuda_status" -ne 0 ] || [ "$cpu_status" -ne 0 ]; then
    note "train 200 cuda vs cpu" FAIL "exit cuda $cuda_status, cpu $cpu_status ($TRAIN_DIR/*.log)"
  else
    note "train 200 cuda vs cpu" "${comparison%% *}" "${comparison#* }"
  fi
else
  note "train 200 cuda vs cpu" FAIL "no $SEQNET, or seqnet synth failed ($TRAIN_DIR/synth.log)"
fi

# ---- Benchmarks ---------------------------------------------------------------------------------
section "Kernel benchmarks"
declare -a RATIOS=() PROGRESSION=()
if ! within_budget; then
  note "benchmarks" FAIL "skipped: ${SECONDS} s gone of the ${BUDGET_S} s budget"
elif [ -x "$BENCH" ]; then
  "$BENCH" --benchmark_color=false --benchmark_out="$OUT_DIR/bench_cuda_kernels.json" \
    --benchmark_out_format=json 2>&1 | tee "$OUT_DIR/bench_cuda_kernels.log"
  status=${PIPESTATUS[0]}
  bench_errors=$(grep -c 'ERROR OCCURRED' "$OUT_DIR/bench_cuda_kernels.log")
  if [ "$status" -eq 0 ] && [ "$bench_errors" -eq 0 ]; then
    note "benchmarks" OK "$OUT_DIR/bench_cuda_kernels.json"
  else
    note "benchmarks" FAIL "exit $status, $bench_errors benchmarks reported an error"
  fi
  # Lines "BM_conv_fwd/custom/SHAPE/manual_time  1.23 ms ..." -> custom and cuDNN times per
  # (pass, shape), FP32 and TF32, their TFLOP/s (2 N H W K C 9 FLOPs, from SHAPE =
  # N1_C32_576x576_K32) and ratios (custom / cuDNN): the columns of docs/GPU.md's convolution
  # table, so measured rows sit beside expected ones.
  mapfile -t RATIOS < <(awk '
    function ms(v, unit) { return unit == "ns" ? v / 1e6 : unit == "us" ? v / 1e3 : unit == "s" ? v * 1e3 : v }
    function flops(shape,   f) { split(shape, f, /[_NCxK]+/); return 2 * f[2] * f[3] * f[4] * f[5] * f[6] * 9 }
    function ratio(a, b, key) { return (key in a) && (key in b) && b[key] > 0 ? sprintf(" %.2f |", a[key] / b[key]) : " - |" }
    function cell(table, key, f) { return (key in table) ? sprintf(" %.3f | %.1f |", table[key], f / table[key] / 1e9) : " - | - |" }
    $1 ~ /^BM_conv_/ && $1 !~ /ERROR/ {
      split($1, part, "/"); key = part[1] "/" part[3]; t = ms($2, $3)
      if (part[2] == "custom") custom[key] = t; else if (part[2] == "tf32") tf32[key] = t
      else if (part[2] == "cudnn") cudnn[key] = t; else if (part[2] == "cudnn_tf32") cudnn_tf32[key] = t
      else if (part[2] == "naive") naive[key] = t
      if (!(key in order)) { order[key] = ++n; keys[n] = key; shape[key] = part[3] }
    }
    $1 ~ /^BM_sgemm_cublas/ { sgemm = $0 }
    END {
      if (n > 0) {
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", "pass/shape", "custom ms",
          "TFLOP/s", "cuDNN ms", "TFLOP/s", "ratio", "tf32 ms", "TFLOP/s", "cuDNN tf32 ms", "TFLOP/s", "ratio", "naive ms"
        printf "|%s\n", " --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
      }
      for (i = 1; i <= n; ++i) {
        key = keys[i]; k = key; f = flops(shape[key]); sub(/^BM_conv_/, "", k)
        slow = (key in naive) ? sprintf(" %.3f |", naive[key]) : " - |"
        printf "| %s |%s%s%s%s%s%s%s\n", k, cell(custom, key, f), cell(cudnn, key, f), ratio(custom, cudnn, key),
          cell(tf32, key, f), cell(cudnn_tf32, key, f), ratio(tf32, cudnn_tf32, key), slow
      }
      if (sgemm != "") printf "  cuBLAS SGEMM 8192: %s\n", sgemm
    }' "$OUT_DIR/bench_cuda_kernels.log")
  # Lines "BM_conv3x3_progression/STEP/SHAPE/manual_time  1.23 ms ...": the forward convolution's
  # five steps (kernels/cuda/conv3x3_progression.h), one row per shape, ms and TFLOP/s per step:
  # the measured column of docs/KERNELS.md's progression table.
  mapfile -t PROGRESSION < <(awk '
    function ms(v, unit) { return unit == "ns" ? v / 1e6 : unit == "us" ? v / 1e3 : unit == "s" ? v * 1e3 : v }
    function flops(shape,   f) { split(shape, f, /[_NCxK]+/); return 2 * f[2] * f[3] * f[4] * f[5] * f[6] * 9 }
    $1 ~ /^BM_conv3x3_progression\// && $1 !~ /ERROR/ {
      split($1, part, "/"); t[part[3] "/" part[2]] = ms($2, $3)
      if (!(part[2] in seen_step)) { seen_step[part[2]] = 1; steps[++ns] = part[2] }
      if (!(part[3] in seen_shape)) { seen_shape[part[3]] = 1; shapes[++nh] = part[3] }
    }
    END {
      if (ns == 0) exit
      line = "| shape |"; rule = "| --- |"
      for (i = 1; i <= ns; ++i) { line = line " " steps[i] " ms (TFLOP/s) |"; rule = rule " --- |" }
      print line; print rule
      for (h = 1; h <= nh; ++h) {
        line = "| " shapes[h] " |"
        for (i = 1; i <= ns; ++i) {
          key = shapes[h] "/" steps[i]
          line = line ((key in t) ? sprintf(" %.3f (%.1f) |", t[key], flops(shapes[h]) / t[key] / 1e9) : " - |")
        }
        print line
      }
    }' "$OUT_DIR/bench_cuda_kernels.log")
else
  note "benchmarks" FAIL "no $BENCH"
fi

# ---- End to end: the default model (issue #6's inference timing) -------------------------------
section "seqnet bench --device cuda (default model: training step on 4 x 128x128, inference on 576x576)"
json_number() { sed -nE "s/.*\"$1\":([-0-9.eE+]+).*/\1/p" "$2"; }
if ! within_budget; then
  note "bench default" "-" "skipped: ${SECONDS} s gone of the ${BUDGET_S} s budget"
elif [ -x "$SEQNET" ]; then
  for engine in custom cudnn; do
    result=$OUT_DIR/bench-default-$engine.json
    if "$SEQNET" bench --device cuda --conv-engine "$engine" --steps 5 --json > "$result" 2> "$result.err"; then
      note "bench default $engine" OK \
        "train step $(json_number train_step_s "$result") s, inference 576 $(json_number infer_s "$result") s, GPU peak $(json_number peak_gpu_mb "$result") MB"
    else
      note "bench default $engine" FAIL "$(tail -1 "$result.err")"
    fi
  done
else
  note "bench default" FAIL "no $SEQNET"
fi

# ---- Summary (last, so the end of the output carries it) ----------------------------------------
section "Summary"
printf '%s\n' "${SUMMARY[@]}"
if [ "${#RATIOS[@]}" -gt 0 ]; then
  echo "convolutions, custom and cuDNN, for docs/GPU.md (ratio = custom/cuDNN time, lower is better; device: $(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -1)):"
  printf '%s\n' "${RATIOS[@]}"
fi
if [ "${#PROGRESSION[@]}" -gt 0 ]; then
  echo "the forward convolution in five steps, for docs/KERNELS.md (device: $(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -1)):"
  printf '%s\n' "${PROGRESSION[@]}"
fi
if [ "$FAILED" -ne 0 ]; then echo "RESULT: FAILED"; else echo "RESULT: OK"; fi
exit "$FAILED"
