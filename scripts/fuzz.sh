#!/usr/bin/env bash
# Builds the cargo-fuzz targets of fuzz/ once and runs each for SECONDS, starting from the seed
# corpus in fuzz/corpus/<target>/. Prints one summary line per target and exits non-zero when
# any target crashed (a panic, a hang over FUZZ_TIMEOUT seconds, or running out of memory); the
# crashing input is kept under fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [--record] SECONDS [TARGET...]
#
# --record adds the runs to fuzz/ledger.tsv and rewrites the fuzz section of
# docs/reliability.md from it (`make fuzz` does; the short run of `make test` does not).
#
# The machine has a stable toolchain only: cargo-fuzz's -Z flags work with RUSTC_BOOTSTRAP=1.
# The build goes to its own target dir, so its instrumented crates never evict the main build's.
# FUZZ_SANITIZER (default none) picks cargo-fuzz's sanitizer: the targets are safe Rust, where a
# memory error cannot happen, so AddressSanitizer would only slow the build and every run.
set -euo pipefail
cd "$(dirname "$0")/.."

record=false
if [ "${1:-}" = "--record" ]; then
  record=true
  shift
fi
seconds=${1:?usage: scripts/fuzz.sh [--record] SECONDS [TARGET...]}
shift
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a whole number, got '$seconds'" >&2; exit 2; }

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/mediasift/fuzz-target}
sanitizer=${FUZZ_SANITIZER:-none}
timeout=${FUZZ_TIMEOUT:-10}
work_corpus=${FUZZ_CORPUS_DIR:-$HOME/.cache/mediasift/fuzz-corpus}

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

build_start=$SECONDS
nice -n 10 cargo fuzz build --sanitizer "$sanitizer" >/dev/null 2>"$log_dir/build.log" \
  || { cat "$log_dir/build.log" >&2; exit 1; }
echo "fuzz: built the targets (sanitizer $sanitizer) in $((SECONDS - build_start)) s"

bin_dir="$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"
failed=()
ledger_lines=()
for target in "${targets[@]}"; do
  seeds="fuzz/corpus/$target"
  artifacts="fuzz/artifacts/$target"
  mkdir -p "$work_corpus/$target" "$artifacts"
  before=$(find "$artifacts" -type f | wc -l)
  # The first corpus folder receives what libFuzzer finds; the committed seeds stay as they are.
  status=0
  started=$SECONDS
  nice -n 10 "$bin_dir/$target" "$work_corpus/$target" "$seeds" \
    -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log_dir/$target.log" 2>&1 || status=$?
  elapsed=$((SECONDS - started))
  stat() { sed -n "s/^stat::$1: *//p" "$log_dir/$target.log" | tail -1; }
  runs=$(stat number_of_executed_units)
  speed=$(stat average_exec_per_sec)
  corpus=$(find "$work_corpus/$target" -type f | wc -l)
  crashes=$(($(find "$artifacts" -type f | wc -l) - before))
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    # libFuzzer failed without leaving an input behind (bad flags, a crash while loading).
    crashes=1
  fi
  echo "fuzz: $target: ${elapsed} s, ${runs:-0} runs, ${speed:-0} execs/s, corpus $corpus, $crashes crashes"
  if [ "$crashes" -gt 0 ]; then
    failed+=("$target")
    grep -m1 -A12 -E "panicked at|ERROR: libFuzzer|==ERROR" "$log_dir/$target.log" >&2 || tail -20 "$log_dir/$target.log" >&2
    find "$artifacts" -type f -newer "$log_dir/build.log" -printf 'fuzz: crashing input %p\n' >&2
  fi
  ledger_lines+=("$(date -u +%Y-%m-%d)	$target	$elapsed	${runs:-0}	$crashes	$sanitizer")
done

if $record; then
  printf '%s\n' "${ledger_lines[@]}" >>fuzz/ledger.tsv
  python3 scripts/fuzz_report.py fuzz/ledger.tsv fuzz/crashes.tsv docs/reliability.md
  echo "fuzz: recorded in fuzz/ledger.tsv and docs/reliability.md"
fi

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]} (inputs under fuzz/artifacts/; make each a regression test)" >&2
  exit 1
fi
