#!/usr/bin/env bash
# The one script to run on the GPU machine (H100/H200: offline, Catch2 3, Google Benchmark and cuDNN installed):
#
#   scripts/gpu_check.sh OUTDIR        e.g. scripts/gpu_check.sh "$OUT"
#   BENCH_ARGS='--benchmark_filter=r50' scripts/gpu_check.sh "$OUT"
#
# Steps: configure + build (preset gpu: sm_90, Ninja, -j16), ctest (the GPU tests must RUN, a skip is a failure),
# the two examples, the benchmark if it was built (JSON to OUTDIR/bench.json). Each step logs to OUTDIR/<step>.log;
# a failed step does not stop the later ones, but the script exits non-zero. OUTDIR gets at most 6 files:
# build.log tests.log demo.log bench.log bench.json summary.txt
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

build=build-gpu
start=$SECONDS
declare -a summary=()
failed=0

# step NAME LOG COMMAND...: runs COMMAND, appends its output to OUTDIR/LOG and to stdout, records the result.
step() {
  local name=$1 logname=$2
  local log=$out/$logname
  shift 2
  local t0=$SECONDS
  printf '\n==== %s: %s ====\n' "$name" "$*" | tee -a "$log"
  "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  if [[ $rc -eq 0 ]]; then
    summary+=("PASS  $name ($((SECONDS - t0)) s)")
  else
    summary+=("FAIL  $name (exit $rc, $((SECONDS - t0)) s, see $logname)")
    failed=1
  fi
  return "$rc"
}
skip_step() {
  summary+=("SKIP  $1 ($2)")
  printf '\n==== %s: skipped, %s ====\n' "$1" "$2"
}

# ctest, then make sure the GPU tests really ran on a GPU: exit code 77 (no usable device) is a skip for CTest, but a
# failure here.
run_tests() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  local result=$build/ctest-output.txt
  ctest --preset gpu --verbose 2>&1 | tee "$result"
  local rc=${PIPESTATUS[0]}
  if ! grep -Eq 'tileconv_gpu_tests \.+ +Passed' "$result"; then
    echo "gpu_check: tileconv_gpu_tests did not run and pass on this machine (skipped or failed)"
    return 1
  fi
  return "$rc"
}

# The ten slowest build steps, from Ninja's log (milliseconds: start, end, mtime, output, hash).
slowest_steps() {
  [[ -f $build/.ninja_log ]] || return 0
  echo "---- slowest build steps (seconds)"
  awk -F'\t' 'NR > 1 { printf "%8.1f  %s\n", ($2 - $1) / 1000, $4 }' "$build/.ninja_log" | sort -rn | head -n 10
}

run_examples() {
  local rc=0 example
  for example in conv2d_demo custom_policy; do
    echo "---- $build/examples/$example"
    "$build/examples/$example" || { echo "gpu_check: $example exited with $?"; rc=1; }
  done
  return "$rc"
}

: >"$out/build.log"
configured=0
built=0
step configure build.log cmake --preset gpu && configured=1
if [[ $configured -eq 1 ]]; then
  # -k 0: on an error keep compiling the other files, so that one log shows every failure.
  step build build.log cmake --build --preset gpu -j 16 -- -k 0 && built=1
  slowest_steps | tee -a "$out/build.log"
else
  skip_step build "configure failed"
fi

if [[ $built -eq 1 ]]; then
  : >"$out/tests.log"
  step tests tests.log run_tests
  : >"$out/demo.log"
  step examples demo.log run_examples
  if [[ -x $build/bench/tileconv_bench ]]; then
    : >"$out/bench.log"
    # run_suite.sh: the repetitions and medians the published results use. BENCH_ARGS is split into words on
    # purpose: it holds several --benchmark_* options.
    # shellcheck disable=SC2086
    step bench bench.log env TILECONV_BENCH="$build/bench/tileconv_bench" bench/run_suite.sh "$out" ${BENCH_ARGS:-}
  else
    skip_step bench "$build/bench/tileconv_bench was not built"
  fi
else
  skip_step tests "build failed"
  skip_step examples "build failed"
  skip_step bench "build failed"
fi

{
  printf '\n==== gpu_check summary (%d s) ====\n' $((SECONDS - start))
  printf '%s\n' "${summary[@]}"
  if [[ $failed -eq 0 ]]; then echo "ALL PASSED"; else echo "SOME STEPS FAILED"; fi
} | tee "$out/summary.txt"
exit "$failed"
