#!/usr/bin/env bash
# Runs one benchmark command and keeps what it printed as the body of its section of
# docs/performance.md (.cache/bench/results/NAME.md; scripts/bench_report.py puts it in the
# page). Criterion's output is reduced to each benchmark's estimate lines.
#
#   scripts/bench-record.sh NAME COMMAND [ARG...]
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
shift
results=.cache/bench/results
mkdir -p "$results"
machine=$(python3 scripts/bench_common.py machine)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" | tee "$out"
{
  printf 'Measured %s:\n\n```sh\n%s\n```\n\n' "$machine" "$*"
  if [[ "$1" == cargo && "$2" == bench ]]; then
    # Criterion: each benchmark's name and its time/throughput estimates [low best high].
    printf '```text\n'
    grep -v -E '^(Benchmarking|Gnuplot|Found|Warning|Running|running|test )|^[[:space:]]+[0-9]+ \(|change:|No change|Change within|Performance has|^[[:space:]]*$' "$out" || true
    printf '```\n'
  elif grep -q '^|' "$out"; then
    # The scripts print Markdown (tables, lists) after their own progress lines.
    grep -v -E '^(generating|running:|\(written to)' "$out" || true
  else
    printf '```text\n'
    grep -v -E '^(generating|running:)' "$out" || true
    printf '```\n'
  fi
} > "$results/$name.md"
echo "(recorded in $results/$name.md)"
