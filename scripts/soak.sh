#!/usr/bin/env bash
# `make soak`: 200 distinct assets submitted at once to the local runtime (one `mediasift run`
# over a folder of 120 images, 40 audio clips, 30 videos and 10 PDFs, all generated here, each
# different so none is a duplicate of another). Passes when every asset finishes (completed,
# or failed with a cause for the one kind expected to fail: none here), and prints the wall
# time and the process's peak RSS. Not part of `make test` (it takes minutes).
# Usage: scripts/soak.sh [ASSETS=200]
set -euo pipefail
cd "$(dirname "$0")/.."

assets=${1:-200}
images=$((assets * 60 / 100))
audio=$((assets * 20 / 100))
videos=$((assets * 15 / 100))
pdfs=$((assets - images - audio - videos))

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
media="$work/media"
mkdir -p "$media"

step() { printf '\033[1msoak:\033[0m %s\n' "$*"; }

step "generating $assets assets ($images images, $audio audio, $videos videos, $pdfs PDFs)"
for i in $(seq 1 "$images"); do
  ffmpeg -v error -f lavfi -i "testsrc2=s=320x240:d=1,hue=h=$((i * 7 % 360))" \
    -vf "drawbox=x=$((i % 280)):y=$((i * 3 % 200)):w=40:h=40:color=white:t=fill" \
    -frames:v 1 "$media/image-$i.png"
done
for i in $(seq 1 "$audio"); do
  ffmpeg -v error -f lavfi -i "sine=frequency=$((200 + i * 20)):duration=3" \
    -c:a aac -b:a 64k "$media/tone-$i.m4a"
done
for i in $(seq 1 "$videos"); do
  ffmpeg -v error -f lavfi -i "testsrc2=s=320x240:r=25:d=4,hue=h=$((i * 11 % 360))" \
    -f lavfi -i "sine=frequency=$((300 + i * 10)):duration=4" \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$media/clip-$i.mp4"
done
for i in $(seq 1 "$pdfs"); do
  # The same leaflet with a distinct trailing comment: a valid PDF, a distinct checksum.
  cp .cache/samples/leaflet.pdf "$media/leaflet-$i.pdf"
  printf '%% soak copy %d\n' "$i" >>"$media/leaflet-$i.pdf"
done

# The test build's binary (dependencies optimised, `[profile.dev.package."*"]`), so the soak
# shares the test build's cache; MEDIASIFT_BIN runs another (a release build, say).
if [ -z "${MEDIASIFT_BIN:-}" ]; then
  step "building the binary"
  cargo build --workspace --all-features --bins -q
fi
bin=${MEDIASIFT_BIN:-${CARGO_TARGET_DIR:-target}/debug/mediasift}

step "running all $assets at once"
start=$(date +%s%N)
set +e
/usr/bin/time -v -o "$work/time.txt" "$bin" run --json --data-dir "$work/data" "$media" >"$work/run.jsonl" 2>"$work/run.err"
status=$?
set -e
end=$(date +%s%N)

peak_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
wall_ms=$(((end - start) / 1000000))
wall="$((wall_ms / 1000)).$(printf %03d $((wall_ms % 1000)))"
lines=$(wc -l <"$work/run.jsonl")
by_status=$(jq -r '.status' "$work/run.jsonl" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
step "assets reported: $lines of $assets (${by_status%, })"
step "wall time: ${wall}s; peak RSS: $((peak_kb / 1024)) MiB ($(nproc) cores)"
if [ "$lines" -ne "$assets" ] || [ "$status" -ne 0 ]; then
  tail -20 "$work/run.err" >&2
  echo "soak: FAILED: not every asset completed (exit $status)" >&2
  exit 1
fi
unfinished=$(jq -r 'select(.status != "completed") | "\(.key): \(.status) \(.cause // .reason // "")"' "$work/run.jsonl")
if [ -n "$unfinished" ]; then
  echo "$unfinished" >&2
  echo "soak: FAILED: some assets did not complete" >&2
  exit 1
fi
step "passed: $assets/$assets completed"
