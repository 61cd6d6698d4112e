#!/usr/bin/env bash
# Lambda cold start of every service's function under a loopback Runtime API, with moto as
# AWS (see scripts/bench_lambda.py). Writes .cache/bench/results/lambda.md.
#
#   scripts/bench-lambda.sh              # builds the release binaries for this machine
#   BENCH_RUNS=10 scripts/bench-lambda.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
# One release build of the workspace gives every `mediasift-<service>-lambda` (and the CLI).
[[ -n "${MEDIASIFT_LAMBDA_BIN_DIR:-}" ]] || cargo build --release --workspace --all-features --bins -q
exec .venv/bin/python scripts/bench_lambda.py "${MEDIASIFT_LAMBDA_BIN_DIR:-$target/release}" \
  "${BENCH_RUNS:-5}"
