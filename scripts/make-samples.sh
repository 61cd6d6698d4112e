#!/usr/bin/env bash
# Generates the bundled samples `make run` ingests: small files made here with ffmpeg,
# exiftool and a few lines of Python, never downloaded. Idempotent: a sample is made once.
#
#   newsreel.mp4   12 s 640x360 25 fps: four shots with hard cuts at frames 75, 150 and 225,
#                  a 440 Hz tone with one second of silence at each cut
#   tone.m4a       5 s stereo 1 kHz tone (audio only)
#   briefing.m4a   a short spoken news briefing by espeak-ng (speech for the audio service)
#   photo.jpg      a 1280x720 test card with EXIF: camera, date, GPS, orientation 6
#   leaflet.pdf    a two-page PDF with a text layer
set -euo pipefail

out="${1:-$(cd "$(dirname "$0")/.." && pwd)/.cache/samples}"
mkdir -p "$out"
ff=(ffmpeg -nostdin -hide_banner -loglevel error -y)

make_one() { # name, then the command that writes "$tmp"
  local name="$1"; shift
  [[ -s "$out/$name" ]] && return 0
  local tmp="$out/.${name}.tmp.${name##*.}"
  "$@" "$tmp"
  mv "$tmp" "$out/$name"
  echo "made $out/$name"
}

newsreel() {
  "${ff[@]}" \
    -f lavfi -i "testsrc2=size=640x360:rate=25:duration=3" \
    -f lavfi -i "smptebars=size=640x360:rate=25:duration=3" \
    -f lavfi -i "mandelbrot=size=640x360:rate=25,trim=duration=3" \
    -f lavfi -i "color=c=0x1f4e79:size=640x360:rate=25:duration=3,drawtext=text='mediasift':fontsize=64:fontcolor=white:x=(w-tw)/2:y=(h-th)/2" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=12,volume='if(lt(mod(t,3),0.5)*gt(t,1),0,1)':eval=frame" \
    -filter_complex "[0:v][1:v][2:v][3:v]concat=n=4:v=1:a=0,format=yuv420p[v]" \
    -map "[v]" -map 4:a -c:v libx264 -preset veryfast -crf 23 -g 50 -c:a aac -b:a 96k \
    -ac 2 -movflags +faststart -f mp4 "$1"
}

tone() {
  "${ff[@]}" -f lavfi -i "sine=frequency=1000:sample_rate=44100:duration=5" \
    -ac 2 -c:a aac -b:a 128k -f ipod "$1"
}

briefing() {
  local wav="${1%.*}.wav"
  espeak-ng -v en-us -s 150 -w "$wav" "Good evening. Here is the news. The city council in London approved the new \
bridge today, and engineers say work will start in the spring. In sport, the home team won \
a wonderful match on Saturday."
  "${ff[@]}" -i "$wav" -ac 1 -c:a aac -b:a 64k -f ipod "$1"
  rm -f "$wav"
}

photo() {
  "${ff[@]}" -f lavfi -i "testsrc2=size=1280x720:rate=1" -frames:v 1 -q:v 3 -f image2 "$1"
  exiftool -q -overwrite_original -n \
    -Make=mediasift -Model="Sample Camera 1" \
    -DateTimeOriginal="2026:11:21 09:30:00" \
    -GPSLatitude=48.858370 -GPSLatitudeRef=N \
    -GPSLongitude=2.294481 -GPSLongitudeRef=E \
    -Orientation=6 -ImageDescription="mediasift sample photo" "$1"
}

leaflet() {
  python3 - "$1" <<'PY'
import sys

pages = [
    ["mediasift sample leaflet", "Page one: ingest identifies, checksums and proxies media."],
    ["Page two", "Documents get a text layer check and one image per page."],
]
objects = ["<< /Type /Catalog /Pages 2 0 R >>", None,
           "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
kids = []
for lines in pages:
    text = "BT /F1 18 Tf 72 720 Td 24 TL " + " ".join(
        "(%s) '" % line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        for line in lines) + " ET"
    objects.append("<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text))
    content = len(objects)
    objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                   "/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content)
    kids.append("%d 0 R" % len(objects))
objects[1] = "<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join(kids), len(kids))
pdf = bytearray(b"%PDF-1.4\n")
offsets = []
for number, body in enumerate(objects, 1):
    offsets.append(len(pdf))
    pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body.encode())
xref = len(pdf)
pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
pdf += b"".join(b"%010d 00000 n \n" % o for o in offsets)
pdf += (b"trailer\n<< /Size %d /Root 1 0 R /Info << /Producer (mediasift make-samples) >> >>\n"
        b"startxref\n%d\n%%%%EOF\n") % (len(objects) + 1, xref)
open(sys.argv[1], "wb").write(pdf)
PY
}

make_one newsreel.mp4 newsreel
make_one tone.m4a tone
make_one briefing.m4a briefing
make_one photo.jpg photo
make_one leaflet.pdf leaflet
