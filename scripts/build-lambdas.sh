#!/usr/bin/env bash
# Builds every service's Lambda package: `bootstrap.zip` for arm64 (provided.al2023), with
# cargo-lambda cross-compiling through Zig. `make lambda` runs it; so can you, optionally
# naming the services to build (default: all eight):
#
#   scripts/build-lambdas.sh                 # all services
#   scripts/build-lambdas.sh scene graph     # just these
#
# Installs, idempotently and only what is missing, the Rust target aarch64-unknown-linux-gnu
# and, into .venv, cargo-lambda 1.9 and Zig 0.13 (both from PyPI). The zips land in
# $CARGO_TARGET_DIR/lambda/mediasift-<service>-lambda/bootstrap.zip (CARGO_TARGET_DIR defaults
# to the Makefile's, ~/.cache/mediasift/target); at the end it prints each zip's size and the
# `lambda_zips` map for Terraform (var.lambda_zips) with their paths.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1mbuild-lambdas:\033[0m %s\n' "$*"; }
die() { printf 'build-lambdas: error: %s\n' "$*" >&2; exit 1; }

ALL_SERVICES=(ingest video audio image document scene adbreak graph)
TARGET=aarch64-unknown-linux-gnu
CARGO_LAMBDA_SPEC="cargo-lambda==1.9.*"
# cargo-lambda's PyPI package only asks for ziglang>=0.10 and so pulls the newest Zig; 0.13 is
# the release cargo-zigbuild (which cargo-lambda links with) is known to work with.
ZIGLANG_SPEC="ziglang==0.13.*"

if [ "$#" -gt 0 ]; then
  SERVICES=("$@")
  for svc in "${SERVICES[@]}"; do
    [[ " ${ALL_SERVICES[*]} " == *" $svc "* ]] || die "unknown service '$svc' (one of: ${ALL_SERVICES[*]})"
  done
else
  SERVICES=("${ALL_SERVICES[@]}")
fi

# --- The Rust target -------------------------------------------------------------------------
command -v rustup >/dev/null || die "rustup is missing: the $TARGET target is added with it"
if ! rustup target list --installed | grep -qx "$TARGET"; then
  log "adding rustup target $TARGET"
  rustup target add "$TARGET"
fi

# --- cargo-lambda and Zig, in .venv ----------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "${PYTHON:-python3}" -m venv .venv
fi
installed_version() {
  .venv/bin/python -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass' "$1"
}
if [[ "$(installed_version cargo-lambda)" != 1.9.* || "$(installed_version ziglang)" != 0.13.* ]]; then
  log "installing into .venv: $CARGO_LAMBDA_SPEC $ZIGLANG_SPEC"
  .venv/bin/pip install -q --disable-pip-version-check "$CARGO_LAMBDA_SPEC" "$ZIGLANG_SPEC"
fi
# cargo-lambda finds Zig as `python3 -m ziglang`: the venv's python3 must come first.
export PATH="$PWD/.venv/bin:$PATH"

# --- Build -----------------------------------------------------------------------------------
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mediasift/target}"
# One service at a time, so that each binary is built with its own crate's features only (as
# the Lambda runs it), not the union of all eight; the dependencies they share still build
# once, in the one target directory.
for svc in "${SERVICES[@]}"; do
  log "building mediasift-$svc-lambda ($TARGET, release)"
  cargo lambda build --release --arm64 --output-format zip \
    -p "mediasift-$svc" --features lambda --bin "mediasift-$svc-lambda"
done

# --- Report ----------------------------------------------------------------------------------
zip_of() { printf '%s/lambda/mediasift-%s-lambda/bootstrap.zip' "$CARGO_TARGET_DIR" "$1"; }
for svc in "${SERVICES[@]}"; do
  [ -f "$(zip_of "$svc")" ] || die "cargo lambda build did not produce $(zip_of "$svc")"
done
echo
# service, zip path, zip size, and the size of the bootstrap in it (what counts against the
# 250 MB unzipped limit).
args=()
for svc in "${SERVICES[@]}"; do args+=("$svc" "$(zip_of "$svc")"); done
.venv/bin/python - "${args[@]}" <<'EOF'
import os, sys, zipfile
rows = [("service", "zip", "zip bytes", "zip MiB", "bootstrap bytes", "bootstrap MiB")]
pairs = sys.argv[1:]
for svc, path in zip(pairs[::2], pairs[1::2]):
    with zipfile.ZipFile(path) as z:
        unzipped = z.getinfo("bootstrap").file_size
    zipped = os.path.getsize(path)
    rows.append((svc, path, str(zipped), f"{zipped / 2**20:.2f}", str(unzipped), f"{unzipped / 2**20:.2f}"))
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for r in rows:
    print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
EOF
echo
echo "# Terraform: var.lambda_zips"
echo "lambda_zips = {"
for svc in "${SERVICES[@]}"; do
  printf '  %-8s = "%s"\n' "$svc" "$(zip_of "$svc")"
done
echo "}"
