#!/usr/bin/env bash
# The one script to run on the GPU machine (H100/H200: offline, Catch2 3, Google Benchmark and cuDNN installed):
#
#   scripts/gpu_check.sh OUTDIR                          e.g. scripts/gpu_check.sh "$OUT"
#   SKIP_BENCH=1 SKIP_SANITIZERS=1 scripts/gpu_check.sh "$OUT"    quick run: build, tests, fuzz, examples
#   SKIP_TESTS=1 SKIP_BENCH=1 scripts/gpu_check.sh "$OUT"         the sanitizers alone (tests, fuzz and examples
#                                                                  skipped), e.g. as a second call; where calls are
#                                                                  capped at 10 minutes, racecheck (~430 s on an H100
#                                                                  since the square tile) gets a call of its own:
#                                                                  SANITIZER_TOOLS=racecheck SANITIZER_TIMEOUT=560
#   BENCH_ARGS='--benchmark_filter=r50' scripts/gpu_check.sh "$OUT"
#   TILECONV_FUZZ_SEED=random scripts/gpu_check.sh "$OUT"          the fuzz step with a fresh seed (printed in fuzz.log)
#   SANITIZER_TOOLS='memcheck racecheck' scripts/gpu_check.sh "$OUT"  a subset of the four tools
#   SANITIZER_BUDGET=600 SANITIZER_TIMEOUT=300 ...      seconds for the whole sanitizer step (default 900) and for one
#                                                       tool run (default 560); what the budget leaves out FAILS
#   SANITIZER_FILTER='[conv2d]~[large]' ...             the Catch2 spec of the GPU tests run under the sanitizers
#
# Steps, each logging to OUTDIR/<log>; a failed step does not stop the later ones, but the script exits non-zero:
#   configure + build   preset gpu (sm_90a, Ninja, -j16)                                             build.log
#   tests               ctest without the fuzz label; the GPU tests must RUN (a skip is a failure)     tests.log
#   fuzz                tileconv_fuzz_tests: 2000 random problems of the fixed seed vs float64         fuzz.log
#   sanitizers          compute-sanitizer memcheck (--padding 32), racecheck, initcheck, synccheck,   sanitize.log
#                       each with --error-exitcode and zero findings required, over the GPU tests
#                       (without the tags below), the architecture test and 16 small fuzz cases
#   examples            the two examples                                                              demo.log
#   bench               bench/run_suite.sh, if the benchmark was built                                bench.log bench.json
# and summary.txt: at most 8 files in OUTDIR.
#
# Left out under the sanitizers, by Catch2 tag: [large] (network layers and the seed's 7.5 GB problem: hours under
# the tools; the fuzz covers their kernels at small sizes), [subprocess] (plants an illegal address in a child),
# [spin] (timing: a kernel that spins until the host releases it), [memory] (cudaMemGetInfo, which the tools' own
# allocations move) and the hidden tests (the sticky-error child).
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
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

# ctest without the fuzz (its own step), then make sure that every GPU test executable really ran on a GPU: exit
# code 77 (no usable device) is a skip for CTest, but a failure here.
run_tests() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  local result=$build/ctest-output.txt
  ctest --preset gpu --label-exclude fuzz --verbose 2>&1 | tee "$result"
  local rc=${PIPESTATUS[0]} test
  for test in tileconv_gpu_tests tileconv_arch_tests; do
    if ! grep -Eq "$test \.+ +Passed" "$result"; then
      echo "gpu_check: $test did not run and pass on this machine (skipped or failed)"
      rc=1
    fi
  done
  return "$rc"
}

# The randomized differential test at its full count; TILECONV_FUZZ_* from the environment pass through.
run_fuzz() {
  local fuzz=$build/tests/tileconv_fuzz_tests
  [[ -x $fuzz ]] || { echo "gpu_check: $fuzz was not built"; return 1; }
  "$fuzz"
  local rc=$?
  [[ $rc -eq 77 ]] && echo "gpu_check: tileconv_fuzz_tests found no usable GPU"
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

# ---- sanitizers ------------------------------------------------------------------------------------------------------

find_sanitizer() {
  local candidate
  for candidate in "$(command -v compute-sanitizer 2>/dev/null)" /usr/local/cuda/bin/compute-sanitizer \
    /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    if [[ -n $candidate && -x $candidate ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# Catch2 includes hidden tests ([.]) in a spec made of exclusions only: leave them out by name too. SANITIZER_FILTER
# in the environment replaces it (a Catch2 test spec for tileconv_gpu_tests).
readonly sanitizer_filter=${SANITIZER_FILTER:-'~[large]~[subprocess]~[spin]~[memory]~[.]~[sticky_child]'}
readonly SANITIZER_EXIT=86

# sanitize TOOL LABEL [VAR=value...] -- COMMAND...: COMMAND under `compute-sanitizer --tool TOOL`, with the
# environment assignments before `--`. Fails on a non-zero exit (the tool's --error-exitcode, a failed test, the
# timeout) and on any summary line that counts a finding, racecheck's warnings included. Prints the summary lines, and
# the whole output only on failure, so that sanitize.log stays short.
sanitize() {
  local tool=$1 label=$2
  shift 2
  local -a env_vars=()
  while [[ $1 != -- ]]; do
    env_vars+=("$1")
    shift
  done
  shift
  local -a options=(--tool "$tool" --error-exitcode "$SANITIZER_EXIT" --report-api-errors no
    --target-processes application-only)
  [[ $tool == memcheck ]] && options+=(--padding 32)
  local remaining=$((sanitizer_deadline - SECONDS))
  if ((remaining < 20)); then
    printf -- '---- FAIL %-9s %-44s not run: SANITIZER_BUDGET (%d s) spent\n' "$tool" "$label" "$sanitizer_budget"
    return 1
  fi
  local limit=${SANITIZER_TIMEOUT:-560}
  ((limit > remaining)) && limit=$remaining
  local capture t0=$SECONDS rc
  capture=$(mktemp)
  env "${env_vars[@]}" timeout --kill-after=10 "$limit" "$sanitizer" "${options[@]}" "$@" >"$capture" 2>&1
  rc=$?
  local summaries findings=0
  summaries=$(grep -E 'SUMMARY:' "$capture")
  if [[ -z $summaries ]]; then
    findings=1 # the tool did not finish
  elif grep -Eq '(^|[^0-9])[1-9][0-9]* (error|hazard|warning)' <<<"$summaries"; then
    findings=1
  fi
  local result=PASS
  if [[ $rc -ne 0 || $findings -ne 0 ]]; then
    result=FAIL
  fi
  printf -- '---- %s %-9s %-44s exit %3d, %4d s\n' "$result" "$tool" "$label" "$rc" $((SECONDS - t0))
  printf '%s\n' "$summaries" | sed 's/^/     /'
  grep -E '^(test cases|All tests passed)' "$capture" | tail -n 1 | sed 's/^/     /'
  if [[ $result == FAIL ]]; then
    [[ $rc -eq 124 || $rc -eq 137 ]] && echo "     timed out after $limit s (SANITIZER_TIMEOUT, SANITIZER_BUDGET)"
    echo "     ---- output (last 300 lines) of: ${env_vars[*]} $sanitizer ${options[*]} $*"
    tail -n 300 "$capture"
  fi
  rm -f "$capture"
  [[ $result == PASS ]]
}

run_sanitizers() {
  sanitizer=$(find_sanitizer) || { echo "gpu_check: compute-sanitizer not found (PATH, /usr/local/cuda)"; return 1; }
  sanitizer_budget=${SANITIZER_BUDGET:-900}
  sanitizer_deadline=$((SECONDS + sanitizer_budget))
  "$sanitizer" --version | tail -n 1
  local tools=${SANITIZER_TOOLS:-memcheck racecheck initcheck synccheck}
  local rc=0 tool index=0
  local tests=$build/tests
  for tool in $tools; do
    sanitize "$tool" "tileconv_gpu_tests $sanitizer_filter" -- "$tests/tileconv_gpu_tests" "$sanitizer_filter" || rc=1
    sanitize "$tool" "tileconv_arch_tests" -- "$tests/tileconv_arch_tests" || rc=1
    # a different slice of 16 small cases for each tool (test_host_fuzz_generator.cpp checks each slice's coverage)
    sanitize "$tool" "tileconv_fuzz_tests (sanitizer profile, from $((16 * index)))" \
      TILECONV_FUZZ_PROFILE=sanitizer TILECONV_FUZZ_FIRST=$((16 * index)) -- "$tests/tileconv_fuzz_tests" || rc=1
    index=$((index + 1))
  done
  return "$rc"
}

# ---- the steps -------------------------------------------------------------------------------------------------------

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
  if [[ ${SKIP_TESTS:-0} == 1 ]]; then
    skip_step tests "SKIP_TESTS=1"
    skip_step fuzz "SKIP_TESTS=1"
  else
    : >"$out/tests.log"
    step tests tests.log run_tests
    : >"$out/fuzz.log"
    step fuzz fuzz.log run_fuzz
  fi
  if [[ ${SKIP_SANITIZERS:-0} == 1 ]]; then
    skip_step sanitizers "SKIP_SANITIZERS=1"
  else
    : >"$out/sanitize.log"
    step sanitizers sanitize.log run_sanitizers
  fi
  if [[ ${SKIP_TESTS:-0} == 1 ]]; then
    skip_step examples "SKIP_TESTS=1"
  else
    : >"$out/demo.log"
    step examples demo.log run_examples
  fi
  if [[ ${SKIP_BENCH:-0} == 1 ]]; then
    skip_step bench "SKIP_BENCH=1"
  elif [[ -x $build/bench/tileconv_bench ]]; then
    : >"$out/bench.log"
    # run_suite.sh: the repetitions and medians the published results use. BENCH_ARGS is split into words on
    # purpose: it holds several --benchmark_* options.
    # shellcheck disable=SC2086
    step bench bench.log env TILECONV_BENCH="$build/bench/tileconv_bench" bench/run_suite.sh "$out" ${BENCH_ARGS:-}
  else
    skip_step bench "$build/bench/tileconv_bench was not built"
  fi
else
  for name in tests fuzz sanitizers examples bench; do
    skip_step "$name" "build failed"
  done
fi

{
  printf '\n==== gpu_check summary (%d s) ====\n' $((SECONDS - start))
  printf '%s\n' "${summary[@]}"
  if [[ $failed -eq 0 ]]; then echo "ALL PASSED"; else echo "SOME STEPS FAILED"; fi
} | tee "$out/summary.txt"
exit "$failed"
