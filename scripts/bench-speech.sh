#!/usr/bin/env bash
# Speech to text with the local engines on the LibriVox clips of Debian's pocketsphinx-testdata
# (fetched by scripts/test-media.sh): word error rate against their transcripts, and real-time
# factor (processing seconds / audio seconds) of `mediasift transcribe FILE --json --engine E`,
# one process per file as the audio service runs it (Python start and model loading included).
# Each engine also transcribes one long file, the clips joined and repeated (BENCH_REPEAT times,
# default 8: about 3.3 minutes), where the start-up cost is spread thin.
#
#   scripts/bench-speech.sh               # builds and uses target/release/mediasift
#   BENCH_ENGINES=whisper scripts/bench-speech.sh
set -euo pipefail
cd "$(dirname "$0")/.."
engines=${BENCH_ENGINES:-whisper pocketsphinx}
repeat=${BENCH_REPEAT:-8}
target=${CARGO_TARGET_DIR:-target}
# Built every time (a no-op when fresh): a stale binary would measure old code.
[[ -n "${MEDIASIFT_BIN:-}" ]] || cargo build --release -q
bin=${MEDIASIFT_BIN:-$target/release/mediasift}
cargo build --release -q -p mediasift-media --example wer
wer_bin=$target/release/examples/wer
clips=.cache/test-media/librivox
[[ -s $clips/fileids ]] || { echo "bench-speech: $clips is missing: run scripts/setup.sh" >&2; exit 1; }
work=.cache/bench
mkdir -p "$work"
mapfile -t ids < "$clips/fileids"

# The long file: every clip in order, the whole set $repeat times; its reference likewise.
long="$work/librivox-x$repeat.wav"
long_ref="$work/librivox-x$repeat.txt"
if [[ ! -s $long || ! -s $long_ref ]]; then
  echo "generating $long (once)"
  inputs=() refs=()
  for ((r = 0; r < repeat; r++)); do
    for id in "${ids[@]}"; do inputs+=(-i "$clips/$id.wav"); refs+=("$(cat "$clips/$id.txt")"); done
  done
  n=$(( ${#inputs[@]} / 2 ))
  ffmpeg -nostdin -hide_banner -loglevel error -y "${inputs[@]}" \
    -filter_complex "concat=n=$n:v=0:a=1" -ac 1 -ar 16000 -c:a pcm_s16le "$long.tmp.wav"
  mv "$long.tmp.wav" "$long"
  printf '%s\n' "${refs[@]}" > "$long_ref"
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
seconds_of() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# transcribe ENGINE WAV REFERENCE -> "errors words wall_seconds audio_seconds"
transcribe() {
  local start wall
  start=$(now)
  "$bin" transcribe "$2" --json --engine "$1" > "$tmp/out.json"
  wall=$(since "$start")
  jq -r '.text' "$tmp/out.json" > "$tmp/hyp.txt"
  read -r errors words _ < <("$wer_bin" "$3" "$tmp/hyp.txt")
  echo "$errors $words $wall $(seconds_of "$2")"
}

echo
echo "Speech to text ($(nproc) cores): the local engines on the LibriVox clips of pocketsphinx-testdata"
echo
echo "| engine | clips | audio s | WER | wall s | RTF per clip | long file: audio s | WER | wall s | RTF |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for engine in $engines; do
  total_e=0 total_w=0 total_wall=0 total_audio=0 name=""
  for id in "${ids[@]}"; do
    read -r e w wall audio < <(transcribe "$engine" "$clips/$id.wav" "$clips/$id.txt")
    [[ -n $name ]] || name=$(jq -r '.engine' "$tmp/out.json")
    total_e=$((total_e + e)) total_w=$((total_w + w))
    total_wall=$(awk -v a="$total_wall" -v b="$wall" 'BEGIN { print a + b }')
    total_audio=$(awk -v a="$total_audio" -v b="$audio" 'BEGIN { print a + b }')
    printf '  %s %s: %s/%s errors, %.1f s of audio in %.1f s\n' "$engine" "$id" "$e" "$w" "$audio" "$wall" >&2
  done
  read -r le lw lwall laudio < <(transcribe "$engine" "$long" "$long_ref")
  awk -v n="$name" -v c="${#ids[@]}" -v a="$total_audio" -v e="$total_e" -v w="$total_w" \
      -v t="$total_wall" -v la="$laudio" -v le="$le" -v lw="$lw" -v lt="$lwall" 'BEGIN {
    printf "| %s | %d | %.1f | %.1f %% | %.1f | %.2f | %.1f | %.1f %% | %.1f | %.2f |\n",
      n, c, a, 100 * e / w, t, t / a, la, 100 * le / lw, lt, lt / la }'
done
echo
echo "- WER: word-level Levenshtein after mediasift_media::wer's normalisation (case, punctuation, numbers as words), errors over reference words"
echo "- RTF: wall time of \`mediasift transcribe FILE --json\` (ffmpeg decode, Python start, model load, decoding) over audio seconds"
