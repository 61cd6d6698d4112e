# The two commands of the README: `make run` and `make test`. Both set the machine up first.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

# A build cache outside the clone keeps CI fast; the clean path works the same.
# (nextest runs last: its summary is the closing line CI reads.)
export CARGO_TARGET_DIR ?= $(HOME)/.cache/mediasift/target
# CI builds each commit once from a fresh clone: incremental caches would only fill the disk.
ifdef CI
export CARGO_INCREMENTAL ?= 0
endif

.PHONY: setup run test lint terraform lambda check-contracts contracts bench fuzz soak

# Seconds of fuzzing per target: a short run in `make test`, a long one in `make fuzz`.
FUZZ_TEST_SECONDS ?= 15
FUZZ_SECONDS ?= 600

setup:
	@scripts/setup.sh

## Run the main job on the bundled samples: ingest each, print its events.
run: setup
	cargo run --release -q -- run --data-dir .cache/run .cache/samples

## Everything CI runs.
test: setup lint terraform
	scripts/fuzz.sh $(FUZZ_TEST_SECONDS)
	cargo test --workspace --all-features --doc -q
	cargo nextest run --workspace --all-features --no-fail-fast

lint:
	cargo fmt --all -- --check
	cd fuzz && cargo fmt -- --check
	cargo clippy --workspace --all-targets --all-features -q -- -D warnings

## The AWS deployment's offline checks: fmt, validate, checkov, contract wiring, security.
terraform:
	scripts/terraform-check.sh

## Every service's Lambda package (bootstrap.zip, arm64) with cargo-lambda; sizes in
## docs/performance.md.
lambda: setup
	scripts/build-lambdas.sh

## Load: 200 distinct assets submitted at once; all must complete; prints wall time and peak
## RSS (figures in docs/reliability.md). Not part of `make test`.
soak: setup
	scripts/soak.sh $(SOAK_ASSETS)

## Regenerate contracts/ and docs/events.md after changing an event or a rule.
contracts:
	cargo run -q -- contracts export

## Every fuzz target for FUZZ_SECONDS; totals and crashes go to docs/reliability.md.
fuzz: setup
	scripts/fuzz.sh --record $(FUZZ_SECONDS)

## Every benchmark, then their figures into docs/performance.md (scripts/bench_report.py).
## About 40 minutes on 2 cores once built; run it on an otherwise idle machine.
BENCH_BIN = $(CARGO_TARGET_DIR)/release/mediasift
bench: setup
	cargo build --release --workspace --all-features --bins
	scripts/bench-record.sh pattern cargo bench -q -p mediasift-kit --bench pattern
	scripts/bench-record.sh bus cargo bench -q -p mediasift-kit --bench bus
	scripts/bench-record.sh md5-update cargo bench -q -p mediasift-media --bench md5
	scripts/bench-record.sh shot-detector cargo bench -q -p mediasift-media --bench shots
	scripts/bench-record.sh md5 scripts/bench-md5.sh
	MEDIASIFT_BIN=$(BENCH_BIN) scripts/bench-record.sh shots scripts/bench-shots.sh
	MEDIASIFT_BIN=$(BENCH_BIN) scripts/bench-record.sh loudness scripts/bench-loudness.sh
	MEDIASIFT_BIN=$(BENCH_BIN) scripts/bench-record.sh speech scripts/bench-speech.sh
	MEDIASIFT_BIN=$(BENCH_BIN) scripts/bench-record.sh ingest scripts/bench-ingest.sh
	MEDIASIFT_BIN=$(BENCH_BIN) scripts/bench-pipeline.sh
	MEDIASIFT_LAMBDA_BIN_DIR=$(CARGO_TARGET_DIR)/release scripts/bench-lambda.sh
	python3 scripts/bench_report.py
