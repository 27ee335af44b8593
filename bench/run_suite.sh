#!/usr/bin/env bash
# Runs the whole benchmark suite (every row of bench/shapes.csv x every contender) and writes
#   OUTDIR/bench.json  Google Benchmark JSON: the median of the repetitions of each benchmark (input of render.py)
# The console table goes to stdout (tee it where a log is wanted).
#
# usage: bench/run_suite.sh OUTDIR [more tileconv_bench flags, e.g. --benchmark_filter=r50]
# env:   TILECONV_BENCH              the executable (default: the first of build-gpu, build-bench, build-default,
#                                    build under the repository root that holds bench/tileconv_bench)
#        TILECONV_BENCH_REPETITIONS  repetitions of each benchmark (default 5)
# About 90 s on an H100 (13 shapes x 5 contenders x 5 repetitions, set-up, cuDNN algorithm search and autotuning
# included).
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
outdir=$1
shift

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=${TILECONV_BENCH:-}
if [[ -z $bench ]]; then
  for dir in build-gpu build-bench build-default build; do
    if [[ -x $root/$dir/bench/tileconv_bench ]]; then
      bench=$root/$dir/bench/tileconv_bench
      break
    fi
  done
fi
if [[ -z $bench || ! -x $bench ]]; then
  echo "run_suite.sh: tileconv_bench not found; build it first, e.g." >&2
  echo "  cmake --preset gpu -DTILECONV_BUILD_TESTS=OFF && cmake --build build-gpu --target tileconv_bench" >&2
  echo "or name it with TILECONV_BENCH=path/to/tileconv_bench" >&2
  exit 1
fi

mkdir -p "$outdir"
rm -f "$outdir/bench.json"
echo "run_suite.sh: $bench -> $outdir/bench.json" >&2
"$bench" \
  --benchmark_out="$outdir/bench.json" \
  --benchmark_out_format=json \
  --benchmark_repetitions="${TILECONV_BENCH_REPETITIONS:-5}" \
  --benchmark_report_aggregates_only=true \
  --benchmark_counters_tabular=true \
  "$@"

if [[ ! -s $outdir/bench.json ]]; then
  echo "run_suite.sh: no results written (no GPU?)" >&2
  exit 1
fi
