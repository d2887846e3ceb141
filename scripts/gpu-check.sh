#!/usr/bin/env bash
# gpu-check.sh: everything worth checking on a GPU machine, in one command that fits in about
# 10 minutes on an H100: the machine and libraries, a build (or a prebuilt one), the CUDA tests,
# compute-sanitizer memcheck and racecheck, `seqnet verify --device cuda` on the golden dumps, the
# custom-vs-cuDNN convolution benchmarks, and `seqnet bench --device cuda` on the default model
# (custom and cuDNN convolutions). It keeps going past failures and prints a summary
# table last; the exit status is non-zero when anything failed.
#
# Usage
#   scripts/gpu-check.sh                 configure and build build-gpu/ here (cmake + ninja, sm_90)
#   scripts/gpu-check.sh BUILD_DIR       use a prebuilt build folder (or BUILD_DIR=... in the environment)
# Environment
#   OUT          where logs and benchmark JSON go (default ./gpu-check-out)
#   GOLDEN_DIR   folder of golden *.safetensors (default tests/golden; the CUDA tests read it too)
#   SEQNET_LIB_DIR  extra shared libraries, put first on LD_LIBRARY_PATH (default BUILD_DIR/carried-libs)
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

# ---- CUDA tests ---------------------------------------------------------------------------------
section "CUDA tests"
if [ -x "$TESTS" ]; then
  "$TESTS" --gtest_filter='Cuda*' --gtest_output="json:$OUT_DIR/cuda-tests.json" 2>&1 | tee "$OUT_DIR/cuda-tests.log"
  status=${PIPESTATUS[0]}
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$OUT_DIR/cuda-tests.log" | tail -1)
  failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$OUT_DIR/cuda-tests.log" | tail -1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$OUT_DIR/cuda-tests.log" | tail -1)
  detail="passed ${passed:-0}, failed ${failed:-0}, skipped ${skipped:-0}"
  # A skip here means the GPU was not usable: that is a failure of this check.
  if [ "$status" -eq 0 ] && [ "${skipped:-0}" -eq 0 ]; then note "tests Cuda*" OK "$detail"; else note "tests Cuda*" FAIL "$detail (exit $status)"; fi
else
  note "tests Cuda*" FAIL "no $TESTS"
fi

# ---- compute-sanitizer --------------------------------------------------------------------------
# Short filters: the custom kernels only (cuDNN is not ours, and slow under the tools).
MEMCHECK_FILTER='CudaKernelConv2d.*:Cuda/CudaKernelConv2dOn.*:*CudaKernelConvTranspose2x2*:*CudaKernelBiasBackward*:CudaKernelMaxPool2x2.*:CudaKernelBatchNorm.*:Cuda/CudaKernelGridStride.*:CudaKernelEmpty.*'
RACECHECK_FILTER='CudaKernelConv2d.*:CudaKernelBatchNorm.*:Cuda/CudaKernelGridStride.Bce*'
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck; do
  section "compute-sanitizer $tool"
  filter=$MEMCHECK_FILTER
  [ "$tool" = racecheck ] && filter=$RACECHECK_FILTER
  if [ -x "$SANITIZER" ] && [ -x "$TESTS" ]; then
    "$SANITIZER" --tool "$tool" "$TESTS" --gtest_filter="$filter" > "$OUT_DIR/sanitizer-$tool.log" 2>&1
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

# ---- Benchmarks ---------------------------------------------------------------------------------
section "Kernel benchmarks"
declare -a RATIOS=()
if [ -x "$BENCH" ]; then
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
    function ratio(a, b, key) { return (key in a) && (key in b) && b[key] > 0 ? sprintf(" %6.2f", a[key] / b[key]) : sprintf(" %6s", "-") }
    function cell(table, key, f) { return (key in table) ? sprintf(" %10.3f %8.1f", table[key], f / table[key] / 1e9) : sprintf(" %10s %8s", "-", "-") }
    $1 ~ /^BM_conv_/ && $1 !~ /ERROR/ {
      split($1, part, "/"); key = part[1] "/" part[3]; t = ms($2, $3)
      if (part[2] == "custom") custom[key] = t; else if (part[2] == "tf32") tf32[key] = t
      else if (part[2] == "cudnn") cudnn[key] = t; else if (part[2] == "cudnn_tf32") cudnn_tf32[key] = t
      else if (part[2] == "naive") naive[key] = t
      if (!(key in order)) { order[key] = ++n; keys[n] = key; shape[key] = part[3] }
    }
    $1 ~ /^BM_sgemm_cublas/ { sgemm = $0 }
    END {
      if (n > 0) printf "  %-38s %10s %8s %10s %8s %6s %10s %8s %10s %8s %6s %10s\n", "pass/shape", "custom ms",
        "TFLOP/s", "cuDNN ms", "TFLOP/s", "ratio", "tf32 ms", "TFLOP/s", "cuDNN tf32", "TFLOP/s", "ratio", "naive ms"
      for (i = 1; i <= n; ++i) {
        key = keys[i]; k = key; f = flops(shape[key]); sub(/^BM_conv_/, "", k)
        slow = (key in naive) ? sprintf(" %10.3f", naive[key]) : sprintf(" %10s", "-")
        printf "  %-38s%s%s%s%s%s%s%s\n", k, cell(custom, key, f), cell(cudnn, key, f), ratio(custom, cudnn, key),
          cell(tf32, key, f), cell(cudnn_tf32, key, f), ratio(tf32, cudnn_tf32, key), slow
      }
      if (sgemm != "") printf "  cuBLAS SGEMM 8192: %s\n", sgemm
    }' "$OUT_DIR/bench_cuda_kernels.log")
else
  note "benchmarks" FAIL "no $BENCH"
fi

# ---- End to end: the default model (issue #6's inference timing) -------------------------------
section "seqnet bench --device cuda (default model: training step on 4 x 128x128, inference on 576x576)"
json_number() { sed -nE "s/.*\"$1\":([-0-9.eE+]+).*/\1/p" "$2"; }
if [ -x "$SEQNET" ]; then
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
  echo "convolutions, custom and cuDNN (ratio = custom/cuDNN time, lower is better; expected figures: docs/GPU.md):"
  printf '%s\n' "${RATIOS[@]}"
fi
if [ "$FAILED" -ne 0 ]; then echo "RESULT: FAILED"; else echo "RESULT: OK"; fi
exit "$FAILED"
