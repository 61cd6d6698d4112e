"""The measurements of scripts/bench-shots.sh, from one run, side by side:

a) shot detection: mediasift (`mediasift shots FILE --json`) and PySceneDetect
   (`scenedetect -i FILE detect-content list-scenes -n`, its defaults) on the same clips:
   frames per second of wall-clock time (each command whole, start-up included; the best of
   BENCH_RUNS runs, 3 by default, the two tools alternating) and CPU time (user + system of
   the command and its children, best of the runs) and F1 of the cuts found against the cuts known by construction, a found
   cut matching a true one at most 1 frame away (each true cut matched once);
b) vision calls per video minute: mediasift's frame selection (`mediasift frames FILE --shots
   SHOTS --json`, totals.selectedForVision) and Media2Cloud V4's selection as
   scripts/m2c_frame_selection.py re-implements it, both given mediasift's shot list, so only
   the selection differs; and a check, from the hashes in mediasift's output, that every 1-fps
   capture is within 0.25 of the capture whose vision results it gets.

    .venv/bin/python scripts/bench_shots.py MEDIASIFT_BIN CLIP.mp4 [CLIP.mp4 ...]

A clip's true cuts are read from CLIP.json (scripts/make-bench-media.sh writes them); bikes.mp4
has its own, known cuts.
"""

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENEDETECT = ROOT / ".venv/bin/scenedetect"
PYTHON = ROOT / ".venv/bin/python"
BIKES_CUTS = [30, 76, 137, 187, 242]
TOLERANCE = 1
THRESHOLD = 0.25


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args, **kwargs):
    """stdout, wall seconds, and CPU seconds of the command and every process it waited for
    (mediasift's ffprobe and ffmpeg, PySceneDetect's threads)."""
    cpu = cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout, elapsed, cpu_seconds() - cpu


def true_cuts(clip):
    truth = clip.with_suffix(".json")
    if truth.is_file():
        return json.loads(truth.read_text())["cuts"]
    if clip.name == "bikes.mp4":
        return BIKES_CUTS
    sys.exit(f"{clip}: no {truth.name} with its cuts")


def f1(found, truth):
    """Precision, recall and F1 with a one-to-one match within TOLERANCE frames."""
    unmatched = sorted(truth)
    hits = 0
    for cut in sorted(found):
        near = [t for t in unmatched if abs(t - cut) <= TOLERANCE]
        if near:
            unmatched.remove(min(near, key=lambda t: abs(t - cut)))
            hits += 1
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score, unmatched


def scenedetect_cuts(stdout):
    """The start frames (0-based) of every scene but the first, from the list-scenes table
    (PySceneDetect numbers frames from 1)."""
    starts = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit() and cells[1].isdigit():
            starts.append(int(cells[1]) - 1)
    return [s for s in starts if s > 0]




def distance(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1") / 64


def coverage(frames):
    """(captures farther than the threshold from the capture whose results they get, the
    largest such distance), recomputed from the hashes."""
    captures = frames["captures"]
    by_index = {c["index"]: c for c in captures}
    worst, violations = 0.0, 0
    for capture in captures:
        representative = by_index[capture["representative"]]
        source = representative if representative["selected"] else by_index.get(representative["reusesCapture"])
        if source is None or not source["selected"]:
            violations += 1
            continue
        d = distance(capture["hash"], source["hash"])
        worst = max(worst, d)
        violations += d > THRESHOLD
    return violations, worst


def main():
    binary, clips = Path(sys.argv[1]).resolve(), [Path(c).resolve() for c in sys.argv[2:]]
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    load_before = os.getloadavg()[0]
    shot_rows, call_rows = [], []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        for clip in clips:
            truth = true_cuts(clip)
            clip.read_bytes()  # into the page cache, for both tools alike

            # Alternately, so that both see the same load on a shared machine; the best wall
            # and CPU times of each.
            ms_runs, sd_runs = [], []
            for _ in range(runs):
                ms_runs.append(run([binary, "shots", clip, "--json"]))
                sd_runs.append(run([SCENEDETECT, "-i", clip, "detect-content", "list-scenes", "-n"], cwd=work))
            shots_text = ms_runs[0][0]
            shots = json.loads(shots_text)
            sd_out = sd_runs[0][0]
            ms_elapsed, ms_cpu = min(r[1] for r in ms_runs), min(r[2] for r in ms_runs)
            sd_elapsed, sd_cpu = min(r[1] for r in sd_runs), min(r[2] for r in sd_runs)
            frame_count = shots["frameCount"]
            ms_cuts = [c["frame"] for c in shots["cuts"]]
            bars = [c for c in shots["cues"] if c["kind"] == "ColourBars"]
            sd_cuts = scenedetect_cuts(sd_out)
            reported = re.search(r"average ([\d.]+) FPS", sd_out)
            ms_p, ms_r, ms_f1, ms_missed = f1(ms_cuts, truth)
            sd_p, sd_r, sd_f1, sd_missed = f1(sd_cuts, truth)
            shot_rows.append({
                "clip": clip.name, "frames": frame_count, "cuts": len(truth),
                "ms_fps": frame_count / ms_elapsed, "sd_fps": frame_count / sd_elapsed,
                "ms_cpu": ms_cpu, "sd_cpu": sd_cpu,
                "sd_reported_fps": float(reported.group(1)) if reported else None,
                "ms": (ms_p, ms_r, ms_f1, len(ms_cuts), ms_missed),
                "sd": (sd_p, sd_r, sd_f1, len(sd_cuts), sd_missed),
                "bars": [(b["startFrame"], b["endFrame"]) for b in bars],
            })

            shots_file = work / f"{clip.stem}.shots.json"
            shots_file.write_text(shots_text)
            frames_out, _, _ = run([binary, "frames", clip, "--shots", shots_file, "--json"])
            frames = json.loads(frames_out)
            m2c_out, _, _ = run([PYTHON, ROOT / "scripts/m2c_frame_selection.py", clip, "--shots", shots_file])
            m2c = json.loads(m2c_out)
            minutes = frame_count / shots["frameRate"] / 60
            violations, worst = coverage(frames)
            same_hashes = sum(
                (a["frame"], a["hash"]) == (b["frame"], b["hash"])
                for a, b in zip(frames["captures"], m2c["captures"])
            )
            call_rows.append({
                "clip": clip.name, "minutes": minutes, "captures": frames["totals"]["captures"],
                "shots": len(shots["shots"]),
                "ms_calls": frames["totals"]["selectedForVision"],
                "ms_reused": frames["totals"]["reused"],
                "m2c_calls": m2c["totals"]["selectedForVision"],
                "violations": violations, "worst": worst,
                "m2c_worst": m2c["totals"]["maxDistanceToRepresentative"],
                "m2c_over": sum(c["distanceToRepresentative"] > THRESHOLD for c in m2c["captures"]),
                "same_hashes": same_hashes,
            })
    report(shot_rows, call_rows, runs)
    print(f"\nload average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    failed = [r["clip"] for r in call_rows if r["violations"]]
    if failed:
        sys.exit(f"coverage guarantee broken on {', '.join(failed)}")


def report(shot_rows, call_rows, runs):
    cores = os.cpu_count()
    print(f"\nShot detection ({cores} cores; fps = frames / wall time of the whole command, best of {runs};"
          f" F1 within ±{TOLERANCE} frame)\n")
    print("| clip | frames | true cuts | mediasift fps | PySceneDetect fps | fps ratio | CPU s mediasift / PySceneDetect |"
          " mediasift P / R / F1 | PySceneDetect P / R / F1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    total = {"frames": 0, "ms_time": 0.0, "sd_time": 0.0, "ms_cpu": 0.0, "sd_cpu": 0.0}
    for r in shot_rows:
        ms, sd = r["ms"], r["sd"]
        print(f"| {r['clip']} | {r['frames']} | {r['cuts']} | {r['ms_fps']:.0f} | {r['sd_fps']:.0f} |"
              f" {r['ms_fps'] / r['sd_fps']:.2f}× | {r['ms_cpu']:.1f} / {r['sd_cpu']:.1f} |"
              f" {ms[0]:.3f} / {ms[1]:.3f} / **{ms[2]:.3f}** | {sd[0]:.3f} / {sd[1]:.3f} / **{sd[2]:.3f}** |")
        total["frames"] += r["frames"]
        total["ms_time"] += r["frames"] / r["ms_fps"]
        total["sd_time"] += r["frames"] / r["sd_fps"]
        total["ms_cpu"] += r["ms_cpu"]
        total["sd_cpu"] += r["sd_cpu"]
    ms_fps = total["frames"] / total["ms_time"]
    sd_fps = total["frames"] / total["sd_time"]
    print(f"| all | {total['frames']} | | {ms_fps:.0f} | {sd_fps:.0f} | {ms_fps / sd_fps:.2f}× |"
          f" {total['ms_cpu']:.1f} / {total['sd_cpu']:.1f} ({total['sd_cpu'] / total['ms_cpu']:.2f}× less) | | |")
    print()
    for r in shot_rows:
        ms, sd = r["ms"], r["sd"]
        reported = f"; PySceneDetect's own figure (detection loop only): {r['sd_reported_fps']:.0f} fps" if r["sd_reported_fps"] else ""
        print(f"- {r['clip']}: mediasift found {ms[3]} cuts, missed {ms[4] or 'none'};"
              f" PySceneDetect found {sd[3]}, missed {sd[4] or 'none'}{reported};"
              f" colour bars {r['bars'] or 'none'}")

    print("\nVision calls per video minute (1-fps captures, the same shot list for both)\n")
    print("| clip | minutes | captures | shots | Media2Cloud V4 calls | mediasift calls (reused groups) |"
          " M2C calls/min | mediasift calls/min | ratio | mediasift max distance to results (> 0.25) |"
          " M2C max distance to representative (> 0.25) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    sums = {"minutes": 0.0, "ms": 0, "m2c": 0}
    for r in call_rows:
        ms_rate, m2c_rate = r["ms_calls"] / r["minutes"], r["m2c_calls"] / r["minutes"]
        print(f"| {r['clip']} | {r['minutes']:.2f} | {r['captures']} | {r['shots']} | {r['m2c_calls']} |"
              f" {r['ms_calls']} ({r['ms_reused']}) | {m2c_rate:.1f} | {ms_rate:.1f} |"
              f" {r['ms_calls'] / r['m2c_calls']:.2f}× | {r['worst']:.3f} ({r['violations']}) |"
              f" {r['m2c_worst']:.3f} ({r['m2c_over']}) |")
        sums["minutes"] += r["minutes"]
        sums["ms"] += r["ms_calls"]
        sums["m2c"] += r["m2c_calls"]
    print(f"| all | {sums['minutes']:.2f} | | | {sums['m2c']} | {sums['ms']} |"
          f" {sums['m2c'] / sums['minutes']:.1f} | {sums['ms'] / sums['minutes']:.1f} |"
          f" {sums['ms'] / sums['m2c']:.2f}× | | |")
    print()
    for r in call_rows:
        print(f"- {r['clip']}: {r['same_hashes']}/{r['captures']} captures are the same frame with the same hash in both;"
              f" every capture within 0.25 of its results: {'yes' if not r['violations'] else 'NO'}")


if __name__ == "__main__":
    main()
