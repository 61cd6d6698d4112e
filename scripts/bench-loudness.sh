#!/usr/bin/env bash
# EBU R128 loudness, side by side with ffmpeg's ebur128 filter on the same files, from one run:
# integrated loudness (|Δ| ≤ 0.1 LU is the aim), loudness range, true peak, and wall time of
# `mediasift loudness FILE --json` vs `ffmpeg -af ebur128=peak=true -f null -`.
#
#   scripts/bench-loudness.sh             # builds and uses target/release/mediasift
#   BENCH_MINUTES=2 scripts/bench-loudness.sh
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${BENCH_MINUTES:-10}
target=${CARGO_TARGET_DIR:-target}
# Built every time (a no-op when fresh): a stale binary would measure old code.
[[ -n "${MEDIASIFT_BIN:-}" ]] || cargo build --release -q
bin=${MEDIASIFT_BIN:-$target/release/mediasift}
work=.cache/bench
mkdir -p "$work"
seconds=$((minutes * 60))

# Programme-like material: pink noise whose level moves every few seconds (loudness range),
# stereo AAC; and a 1 kHz tone at -23 LUFS as 8 mono tracks, 2 live and 6 silent (the loudness
# map), as PCM in a MOV.
programme="$work/loudness-${minutes}min-stereo.m4a"
tracks="$work/loudness-8tracks-1min.mov"
if [[ ! -s "$programme" ]]; then
  echo "generating $programme (once)"
  ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:duration=$seconds:seed=7" \
    -af "volume='0.05+0.2*abs(sin(t/7))':eval=frame,aformat=channel_layouts=stereo" \
    -c:a aac -b:a 160k "$programme.tmp.m4a"
  mv "$programme.tmp.m4a" "$programme"
fi
if [[ ! -s "$tracks" ]]; then
  echo "generating $tracks (once)"
  args=()
  for i in 1 2; do args+=(-f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=60"); done
  for i in 3 4 5 6 7 8; do args+=(-f lavfi -i "anullsrc=channel_layout=mono:sample_rate=48000:d=60"); done
  maps=()
  for i in 0 1 2 3 4 5 6 7; do maps+=(-map "$i:a"); done
  ffmpeg -nostdin -hide_banner -loglevel error -y "${args[@]}" "${maps[@]}" \
    -c:a pcm_s16le "$tracks.tmp.mov"
  mv "$tracks.tmp.mov" "$tracks"
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Track 1's summary from ffmpeg: "I: -23.0 LUFS", "LRA: 5.1 LU", "Peak: -20.0 dBFS" (the true
# peak, with peak=true). ffmpeg configures the graph once before it runs, and that empty
# instance prints a summary too: the last summary of the first filter is the measurement.
ffmpeg_summary() {
  awk '/Summary:/ { mine = /Parsed_ebur128_0 /; if (mine) { i = r = p = "" } }
       mine && /^ +I:/ {i=$2} mine && /^ +LRA:/ {r=$2} mine && /^ +Peak:/ {p=$2}
       END {printf "%s %s %s", i, r, p}' "$1"
}

echo
echo "Loudness ($(nproc) cores): mediasift vs ffmpeg -af ebur128=peak=true, the same files, one run"
echo
echo "| file | mediasift I / LRA / TP | ffmpeg I / LRA / TP | Δ I (LU) | mediasift s | ffmpeg s | speed ratio |"
echo "|---|---|---|---|---|---|---|"
for file in "$programme" "$tracks"; do
  start=$(now)
  "$bin" loudness "$file" --json > "$tmp/ours.json"
  ours_s=$(since "$start")
  # ffmpeg: one ebur128 filter per audio track, in one process, as mediasift measures them all.
  count=$(ffprobe -v error -select_streams a -show_entries stream=index -of csv=p=0 "$file" | wc -l)
  graph=""
  outputs=()
  for ((n = 0; n < count; n++)); do
    graph+="[0:a:$n]ebur128=peak=true:framelog=verbose[m$n];"
    outputs+=(-map "[m$n]" -f null -)
  done
  start=$(now)
  ffmpeg -nostdin -hide_banner -nostats -i "$file" -filter_complex "${graph%;}" "${outputs[@]}" \
    2> "$tmp/ffmpeg.txt"
  ffmpeg_s=$(since "$start")
  read -r f_i f_lra f_tp <<< "$(ffmpeg_summary "$tmp/ffmpeg.txt")"
  read -r o_i o_lra o_tp <<< "$(jq -r '.tracks[0] | "\(.integratedLufs // "-inf") \(.loudnessRangeLu) \(.truePeakDbtp // "-inf")"' "$tmp/ours.json")"
  delta=$(awk -v a="$o_i" -v b="$f_i" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.2f", d }')
  ratio=$(awk -v a="$ours_s" -v b="$ffmpeg_s" 'BEGIN { printf "%.2f", b / a }')
  printf '| %s | %.1f / %.1f / %.1f | %s / %s / %s | %s | %s | %s | %s× |\n' \
    "$(basename "$file")" "$o_i" "$o_lra" "$o_tp" "$f_i" "$f_lra" "$f_tp" "$delta" "$ours_s" "$ffmpeg_s" "$ratio"
done
echo
echo "- the map of $(basename "$tracks"): $(jq -c '.map' "$tmp/ours.json") ($(jq -r '.description' "$tmp/ours.json"))"
echo "- both measure every audio track in one process (ffmpeg: one ebur128 filter per track); the figures compared are track 1's"
