"""Media2Cloud V4's dynamic frame selection, re-implemented independently of mediasift's code
for `make bench` (scripts/bench-shots.sh), from its published description:

- captures at 1 fps: the first frame at or after each second (ffmpeg's select filter; the
  frames mediasift and MediaConvert capture);
- pHash: the capture reduced to 32x32 grayscale (area average), a 2-D DCT (OpenCV's
  orthonormal DCT-II), the top-left 8x8 coefficients including DC, each compared with their
  mean: 64 bits;
- sharpness: variance of the Laplacian [[0,1,0],[1,-4,1],[0,1,0]] on the luma (at most 320
  pixels wide), over the interior pixels;
- within each shot, a new group starts when the normalised Hamming distance to the previous
  capture exceeds the threshold (0.25); the first capture of each group goes to vision.

Shots come from a `mediasift shots --json` file, so that only the selection differs.

    .venv/bin/python scripts/m2c_frame_selection.py VIDEO --shots SHOTS.json [--rate 1]

prints one JSON object: every capture (hash, sharpness, shot, group, distance to its group's
first capture) and the totals, with vision calls per video minute.
"""

import argparse
import bisect
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

HASH_SIDE = 32
SHARPNESS_WIDTH = 320
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)


def probe(video):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height,avg_frame_rate,r_frame_rate,duration:format=duration",
         "-of", "json", str(video)],
        capture_output=True, text=True, check=True,
    ).stdout
    info = json.loads(out)
    stream = info["streams"][0]

    def rate(text):
        num, _, den = text.partition("/")
        return float(num) / float(den or 1) if float(den or 1) else 0.0

    fps = rate(stream.get("avg_frame_rate", "0/0")) or rate(stream.get("r_frame_rate", "0/0"))
    duration = float(stream.get("duration") or info["format"]["duration"])
    return stream["width"], stream["height"], fps, duration


def phash(gray32):
    coefficients = cv2.dct(gray32.astype(np.float32))[:8, :8].flatten()
    bits = coefficients > coefficients.mean()
    return int("".join("1" if b else "0" for b in bits), 2)


def laplacian_variance(gray):
    response = cv2.filter2D(gray.astype(np.float64), -1, LAPLACIAN)[1:-1, 1:-1]
    return float(response.var())


def captures(video, rate):
    width, height, fps, duration = probe(video)
    sharp_w = min(SHARPNESS_WIDTH, width)
    sharp_h = max(2, int(round(height * sharp_w / width / 2)) * 2)
    with tempfile.NamedTemporaryFile(suffix=".gray") as sharp_file:
        keep = f"isnan(prev_selected_t)+gt(floor(t*{rate}+1e-6),floor(prev_selected_t*{rate}+1e-6))"
        graph = (
            f"[0:v:0]setpts=PTS-STARTPTS,select='{keep}',split=2[h][s];"
            f"[h]scale={HASH_SIDE}:{HASH_SIDE}:flags=area,format=gray[hash];"
            f"[s]scale={sharp_w}:{sharp_h}:flags=area,format=gray[sharp]"
        )
        hashes_raw = subprocess.run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(video),
             "-filter_complex", graph,
             "-map", "[hash]", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1",
             "-map", "[sharp]", "-fps_mode", "passthrough", "-f", "rawvideo", sharp_file.name],
            capture_output=True, check=True,
        ).stdout
        sharp_raw = Path(sharp_file.name).read_bytes()
    count = len(hashes_raw) // (HASH_SIDE * HASH_SIDE)
    hash_frames = np.frombuffer(hashes_raw, np.uint8)[: count * HASH_SIDE * HASH_SIDE]
    hash_frames = hash_frames.reshape(count, HASH_SIDE, HASH_SIDE)
    sharp_frames = np.frombuffer(sharp_raw, np.uint8).reshape(-1, sharp_h, sharp_w)
    # The frames select kept, for a constant frame rate from 0.
    frames, frame = [], 0
    while len(frames) < count:
        bucket = math.floor(frame / fps * rate + 1e-6)
        if not frames or bucket > math.floor(frames[-1] / fps * rate + 1e-6):
            frames.append(frame)
        frame += 1
    result = []
    for i in range(count):
        result.append({
            "index": i,
            "frame": frames[i],
            "timestamp": frames[i] / fps,
            "hash": phash(hash_frames[i]),
            "sharpness": laplacian_variance(sharp_frames[i]) if i < len(sharp_frames) else 0.0,
        })
    return result, fps, duration


def distance(a, b):
    return bin(a ^ b).count("1") / 64


def select(caps, shot_starts, threshold):
    starts = sorted({s for s in shot_starts if s > 0})
    groups = 0
    previous = None
    representative = None
    for cap in caps:
        cap["shot"] = bisect.bisect_right(starts, cap["frame"])
        if previous is None or cap["shot"] != previous["shot"] or distance(previous["hash"], cap["hash"]) > threshold:
            groups += 1
            representative = cap
        cap["group"] = groups - 1
        cap["representative"] = representative["index"]
        cap["distanceToRepresentative"] = distance(representative["hash"], cap["hash"])
        previous = cap
    return groups


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--shots", type=Path, required=True, help="a `mediasift shots --json` output")
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--threshold", type=float, default=0.25)
    args = parser.parse_args()
    shots = json.loads(args.shots.read_text())
    shot_starts = [shot["startFrame"] for shot in shots["shots"]]
    caps, fps, duration = captures(args.video, args.rate)
    groups = select(caps, shot_starts, args.threshold)
    for cap in caps:
        cap["hash"] = f"{cap['hash']:016x}"
    json.dump({
        "file": str(args.video),
        "frameRate": fps,
        "durationSeconds": duration,
        "threshold": args.threshold,
        "captures": caps,
        "totals": {
            "captures": len(caps),
            "shots": len({c["shot"] for c in caps}),
            "groups": groups,
            "selectedForVision": groups,
            "callsPerMinute": groups / (duration / 60) if duration > 0 else 0.0,
            "maxDistanceToRepresentative": max((c["distanceToRepresentative"] for c in caps), default=0.0),
        },
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
