#!/usr/bin/env bash
# Wall time to ingest a 10-minute 720p video with `mediasift run` (local runtime: fixity, type,
# technical metadata, proxy, audio proxy, speech WAV, 1-fps frame captures, thumbnails),
# side by side with plain ffmpeg writing the same media outputs in one invocation, plus
# md5sum for the checksum. Prints both and their ratio.
#
#   scripts/bench-ingest.sh            # builds and uses target/release/mediasift
#   BENCH_MINUTES=2 scripts/bench-ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${BENCH_MINUTES:-10}
target=${CARGO_TARGET_DIR:-target}
# Built every time (a no-op when fresh): a stale binary would measure old code.
[[ -n "${MEDIASIFT_BIN:-}" ]] || cargo build --release -q
bin=${MEDIASIFT_BIN:-$target/release/mediasift}
work=.cache/bench
mkdir -p "$work"
source_file="$work/test-${minutes}min-720p.mp4"

if [[ ! -s "$source_file" ]]; then
  echo "generating $source_file (${minutes} min 1280x720 25 fps H.264 + stereo AAC; once)"
  ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=1280x720:rate=25:duration=$((minutes * 60))" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$((minutes * 60))" \
    -c:v libx264 -preset veryfast -crf 23 -g 50 -c:a aac -b:a 128k -ac 2 \
    -movflags +faststart "$source_file.tmp.mp4"
  mv "$source_file.tmp.mp4" "$source_file"
fi
size=$(stat -c %s "$source_file")

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# mediasift: a fresh data dir each run, so nothing is reused. `run` goes on to the analyses;
# the ingest stage is upload (`Object Created`) to `Video Ingested`, from the bus's event times.
data=$(mktemp -d)
plain=$(mktemp -d)
trap 'rm -rf "$data" "$plain"' EXIT
"$bin" run --data-dir "$data" "$source_file" --json > "$data/result.json"
jq -e '.status == "completed"' "$data/result.json" > /dev/null \
  || { echo "mediasift did not complete the file:"; cat "$data/result.json"; exit 1; }
mediasift_s=$(python3 scripts/bench_common.py stage "$bin" "$data" "Object Created" "Video Ingested")

# Plain ffmpeg: the same outputs (960x540 H.264 CRF 23 fast + AAC 128k, AAC .m4a, 16 kHz mono
# WAV, 1-fps 960x540 JPEG captures) from one decode, plus md5sum.
mkdir -p "$plain/frames"
start=$(now)
md5sum "$source_file" > /dev/null
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$source_file" \
  -filter_complex "[0:v]split=2[p][f];[p]scale=960:540,setsar=1,format=yuv420p[pv];[f]select='isnan(prev_selected_t)+gte(t-prev_selected_t\,1)',scale=960:540[fv];[0:a]asplit=3[a1][a2][a3];[a3]aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono[sp]" \
  -map "[pv]" -map "[a1]" -c:v libx264 -preset fast -crf 23 -pix_fmt yuv420p -c:a aac -b:a 128k -movflags +faststart "$plain/proxy.mp4" \
  -map "[a2]" -c:a aac -b:a 128k "$plain/audio.m4a" \
  -map "[sp]" -c:a pcm_s16le "$plain/speech.wav" \
  -map "[fv]" -fps_mode:v passthrough -c:v mjpeg -q:v 4 "$plain/frames/frame-%05d.jpg"
plain_s=$(since "$start")

frames=$(ls "$plain/frames" | wc -l)
echo "Ingest of $source_file ($size bytes, $minutes min), $(nproc) cores"
echo
echo "| | wall time |"
echo "|---|---|"
printf '| mediasift ingest stage (`Object Created` → `Video Ingested`: store, MD5, type, ffprobe + mediainfo, technical.json, the single-pass ffmpeg proxies, captures with exact frame numbers, thumbnails, uploads) | %.1f s |\n' \
  "$mediasift_s"
printf '| `md5sum` + one plain `ffmpeg` (proxy, m4a, wav, %d captures) | %.1f s |\n' "$frames" "$plain_s"
printf '| ratio mediasift / plain | **%.2f** |\n' "$(awk -v a="$mediasift_s" -v b="$plain_s" 'BEGIN { print a / b }')"
