"""The whole local pipeline on a 10-minute 720p video: `mediasift run` from upload to
`Asset Analysis Completed` (ingest, video, audio, scene, adbreak, graph), with and without the
proxy encode, and once more without speech to text; wall time per stage, times real time, CPU
and peak memory.

    .venv/bin/python scripts/bench_pipeline.py MEDIASIFT_BIN [MINUTES]

The video is made once into .cache/bench from real media: scripts/make-bench-media.sh's
cuts-720p.mp4 (75 s of hard cuts between camera motion, animation, zooms and test patterns)
looped to MINUTES (default 10), under the LibriVox clips of pocketsphinx-testdata looped as
its sound (speech all the way through, the hardest case for the audio service), 1280x720
25 fps H.264 + AAC.

Stage times come from the events on the bus (`mediasift events --json`, millisecond times):
a stage runs from the event that starts it to the event it emits. Video and audio run at the
same time on the 2 cores, so the stages overlap; the total is upload to completion.
"""

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import ROOT, TreeMemory, event_times, machine_line, mib, write_result

BENCH = ROOT / ".cache/bench"
CLIPS = ROOT / ".cache/test-media/librivox"

# (name, configuration file body, asset options or None)
RUNS = [
    ("with proxy encode", "", None),
    ("no proxy encode", "[ingest]\nvideo-proxy = false\n", None),
    ("no proxy encode, no speech to text", "[ingest]\nvideo-proxy = false\n", {"transcribe": False}),
]

# (stage, the event that starts it, the event it emits); "analyses" = the later of video/audio.
STAGES = [
    ("ingest", "Object Created", "Video Ingested"),
    ("video", "Video Ingested", "Video Analysis Completed"),
    ("audio", "Video Ingested", "Audio Analysis Completed"),
    ("scene", "analyses", "Scenes Detected"),
    ("adbreak", "Scenes Detected", "Ad Breaks Detected"),
    ("graph", "Ad Breaks Detected", "Asset Analysis Completed"),
]


def sh(args):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def make_source(minutes):
    source = BENCH / f"pipeline-{minutes}min-720p.mp4"
    if source.is_file() and source.stat().st_size > 0:
        return source
    cuts = BENCH / "cuts-720p.mp4"
    if not cuts.is_file():
        sh([ROOT / "scripts/make-bench-media.sh", "cuts-720p"])
    ids = (CLIPS / "fileids").read_text().split()
    if not ids:
        sys.exit(f"{CLIPS} is missing: run scripts/setup.sh")
    speech = BENCH / "librivox-all.wav"
    if not speech.is_file():
        inputs = [a for i in ids for a in ("-i", CLIPS / f"{i}.wav")]
        sh(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *inputs,
            "-filter_complex", f"concat=n={len(ids)}:v=0:a=1", "-ac", "1", "-ar", "16000",
            speech])
    print(f"generating {source.relative_to(ROOT)} ({minutes} min; once)", flush=True)
    tmp = source.with_suffix(".tmp.mp4")
    sh(["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
        "-stream_loop", "-1", "-i", cuts, "-stream_loop", "-1", "-i", speech,
        "-map", "0:v", "-map", "1:a", "-t", str(minutes * 60),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "50", "-r", "25",
        "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
        "-movflags", "+faststart", tmp])
    tmp.rename(source)
    return source


def run_once(binary, source, config, options):
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as data:
        data = Path(data)
        if config:
            (data / "config.toml").write_text(config)
        args = [binary, "run", "--data-dir", data, "--json", source]
        if options is not None:
            args[2:2] = ["--options", json.dumps(options)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        process = subprocess.Popen([str(a) for a in args], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        memory = TreeMemory(process.pid)
        stdout, stderr = process.communicate()
        memory.stop()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if process.returncode != 0:
            sys.exit(f"mediasift run failed ({process.returncode}):\n{stderr[-3000:]}")
        result = json.loads(stdout.splitlines()[-1])
        times, failures = event_times(binary, data)
        if failures:
            sys.exit(f"a service failed: {json.dumps(failures, indent=1)[:3000]}")
        if "Asset Analysis Completed" not in times:
            sys.exit(f"the asset did not complete: {result}")
        times["analyses"] = max(times["Video Analysis Completed"],
                                times["Audio Analysis Completed"])
        stages = {name: times[end] - times[start] for name, start, end in STAGES}
        stages["total"] = times["Asset Analysis Completed"] - times["Object Created"]
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {
            "wall": wall,
            "cpu": cpu,
            "stages": stages,
            "self": memory.peak_self_kib,
            "tree": memory.peak_tree_kib,
            "status": result.get("status"),
        }


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = Path(sys.argv[1]).resolve()
    minutes = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    machine = machine_line()
    source = make_source(minutes)
    duration = float(sh(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                         "-of", "csv=p=0", source]).strip())
    results = []
    for name, config, options in RUNS:
        print(f"running: {name}", flush=True)
        results.append((name, run_once(binary, source, config, options)))

    header = "| | " + " | ".join(name for name, _ in results) + " |"
    lines = [header, "|---" * (len(results) + 1) + "|"]
    for stage, start, end in STAGES:
        what = f"{stage} ({start} → {end})".replace("analyses", "later of video, audio")
        lines.append(f"| {what} | " + " | ".join(f"{r['stages'][stage]:.1f} s" for _, r in results) + " |")
    lines.append("| **upload → Asset Analysis Completed** | "
                 + " | ".join(f"**{r['stages']['total']:.1f} s**" for _, r in results) + " |")
    lines.append("| times real time | "
                 + " | ".join(f"**{duration / r['stages']['total']:.1f}×**" for _, r in results) + " |")
    lines.append("| `mediasift run` wall, start-up and summary included | "
                 + " | ".join(f"{r['wall']:.1f} s" for _, r in results) + " |")
    lines.append("| CPU (user + system, every process) | "
                 + " | ".join(f"{r['cpu']:.0f} s" for _, r in results) + " |")
    lines.append("| peak memory: mediasift / whole process tree | "
                 + " | ".join(f"{mib(r['self'])} / {mib(r['tree'])}" for _, r in results) + " |")
    table = "\n".join(lines)
    size = source.stat().st_size
    markdown = f"""`scripts/bench-pipeline.sh` (in `make bench`): `{source.relative_to(ROOT)}`, {duration:.0f} s of
1280x720 25 fps H.264 + AAC ({size:,} bytes), through the release `mediasift run` with a fresh
data directory each time and the default analysis options (whisper tiny.en for speech). Measured
{machine}.

{table}
"""
    write_result("pipeline", markdown)


if __name__ == "__main__":
    main()
