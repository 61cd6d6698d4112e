#!/usr/bin/env bash
# The whole local pipeline on a 10-minute 720p video, with and without the proxy encode (see
# scripts/bench_pipeline.py). Writes .cache/bench/results/pipeline.md.
#
#   scripts/bench-pipeline.sh            # builds and uses target/release/mediasift
#   BENCH_MINUTES=2 scripts/bench-pipeline.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
# Built every time (a no-op when fresh): a stale binary would measure old code.
[[ -n "${MEDIASIFT_BIN:-}" ]] || cargo build --release -q
bin=${MEDIASIFT_BIN:-$target/release/mediasift}
python=.venv/bin/python
[[ -x "$python" ]] || python=python3
exec "$python" scripts/bench_pipeline.py "$bin" "${BENCH_MINUTES:-10}"
