#!/usr/bin/env bash
# MD5 of a 2 GiB file: mediasift's `md5_file` (services/media/examples/md5sum.rs, release
# build) against the system `md5sum`, both reading from the page cache.
#
# The random test file is made once and kept in .cache/bench/ (gitignored). Each tool runs
# RUNS times (default 3), alternating; the best wall time of each is compared. Prints wall
# times, throughput (MB = 10^6 bytes), peak RSS, the ratio mediasift/md5sum and both digests;
# exits 1 if the digests differ.
#
# Usage: scripts/bench-md5.sh            (RUNS=5 scripts/bench-md5.sh for more runs)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-3}"
SIZE_MIB=2048
FILE=.cache/bench/md5-2GiB.bin

log() { printf '\033[1mbench-md5:\033[0m %s\n' "$*" >&2; }
die() { printf 'bench-md5: error: %s\n' "$*" >&2; exit 1; }

command -v md5sum >/dev/null || die "md5sum not found (coreutils)"

# --- Test file, made once ----------------------------------------------------------------------
size=$((SIZE_MIB * 1024 * 1024))
if [ "$(stat -c %s "$FILE" 2>/dev/null || echo 0)" != "$size" ]; then
  log "creating $FILE ($SIZE_MIB MiB of /dev/urandom, once)"
  mkdir -p "$(dirname "$FILE")"
  dd if=/dev/urandom of="$FILE.tmp" bs=1M count="$SIZE_MIB" status=none
  mv "$FILE.tmp" "$FILE"
fi

# --- Release build of the example, outside the timing -------------------------------------------
log "building the md5sum example (release)"
exe="$(cargo build --release -q -p mediasift-media --example md5sum --message-format=json \
  | jq -r 'select(.reason == "compiler-artifact" and .target.name == "md5sum") | .executable')"
[ -x "$exe" ] || die "example binary not found after build"

# --- Warm-up: both tools then read from the page cache -------------------------------------------
log "warming the page cache"
cat "$FILE" >/dev/null

# run CMD... : prints "seconds peak_rss_kib digest" for one run of CMD on the file.
run() {
  local timing digest
  timing="$(mktemp)"
  digest="$(/usr/bin/time -f '%e %M' -o "$timing" "$@" "$FILE" | cut -d' ' -f1)"
  printf '%s %s\n' "$(cat "$timing")" "$digest"
  rm -f "$timing"
}

# min A B : the smaller of two decimal numbers (B when A is empty).
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }

best_ms=""; best_sys=""; ms_digest=""; sys_digest=""
for i in $(seq 1 "$RUNS"); do
  read -r t ms_rss d < <(run "$exe")
  [ -n "${d:-}" ] || die "the mediasift example failed"
  [ -z "$ms_digest" ] || [ "$d" = "$ms_digest" ] || die "mediasift digest changed between runs"
  ms_digest="$d"; best_ms="$(min "$best_ms" "$t")"
  log "run $i: mediasift $t s"

  read -r t sys_rss d < <(run md5sum)
  [ -n "${d:-}" ] || die "md5sum failed"
  sys_digest="$d"; best_sys="$(min "$best_sys" "$t")"
  log "run $i: md5sum    $t s"
done

# mbps SECONDS : throughput in MB/s; ratio A B : A / B.
mbps() {
  awk -v s="$1" -v n="$size" 'BEGIN { if (s > 0) printf "%.0f", n / s / 1e6; else printf "inf" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

printf '\nMD5 of %s (%d bytes), best of %d runs, page cache warm, %s cores, load average %s\n' \
  "$FILE" "$size" "$RUNS" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %6s s %6s MB/s %7s KiB peak RSS  %s\n' \
  mediasift "$best_ms" "$(mbps "$best_ms")" "$ms_rss" "$ms_digest" \
  md5sum "$best_sys" "$(mbps "$best_sys")" "$sys_rss" "$sys_digest"
printf 'ratio mediasift/md5sum (time): %s\n' "$(ratio "$best_ms" "$best_sys")"

if [ "$ms_digest" != "$sys_digest" ]; then
  printf 'bench-md5: DIGESTS DIFFER: mediasift %s, md5sum %s\n' "$ms_digest" "$sys_digest" >&2
  exit 1
fi
echo "digests equal"
