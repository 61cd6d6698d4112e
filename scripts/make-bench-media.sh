#!/usr/bin/env bash
# The clips of scripts/bench-shots.sh, made once into .cache/bench from the real test media
# (.cache/test-media) and ffmpeg's lavfi sources, with their cut frames known by construction
# and written next to each clip as JSON (see scripts/bench_media.py for the edits):
#
#   cuts-720p.mp4 / .json      1280x720, 25 fps, ~75 s of hard cuts between varied material
#   cuts-1080p.mp4 / .json     1920x1080, the same material in another order
#   newscast-720p.mp4 / .json  bars, then an anchor shot that returns between field segments
#
#   scripts/make-bench-media.sh               # builds what is missing or out of date
#   scripts/make-bench-media.sh cuts-720p     # only that clip
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
[[ -x "$python" ]] || python=python3
exec "$python" scripts/bench_media.py "$@"
