#!/usr/bin/env python3
"""A programme with planted structure, for the scene and ad-break tests.

    python3 scripts/make_scene_fixture.py OUT_DIR

writes OUT_DIR/programme.mp4 (320x180, 25 fps, H.264 + AAC mono) and OUT_DIR/truth.json.

Twelve scenes, each of two or three static shots cut hard from one another: every shot is a
linear gradient between the scene's two colours at its own angle, so the shots of a scene
share a palette and differ in layout (the cuts are real cuts), and different scenes share no
colour. Some scenes end in one second of black and silence (a fade to black), others cut
straight to the next. Speech (flite, known sentences) runs with pauses under some scenes, and
one sentence per speaking scene runs across a shot cut (a mid-sentence cut: the worst place
for an ad break). Music (a sine chord) runs under others, once under speech.

truth.json lists the scene starts, the good break points (the black transitions) and the
mid-sentence cuts, in seconds. Everything is deterministic: the same command gives the same
file.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

FPS = 25
SIZE = "320x180"
RATE = 16000

# name, (colour 0, colour 1), shot lengths (s), audio: list of ("say", sentence, at) where
# `at` is seconds from the scene start or ("across", sentence, shot index) for a sentence
# centred on the cut before that shot; music: bool; then what ends the scene.
SCENES = [
    ("newsroom", ("0xB01010", "0xF08020"), [9, 9, 9],
     [("say", "Good evening. Here is the news from the harbour.", 1.0),
      ("across", "The storm that closed the harbour last night has moved out to sea.", 1),
      ("say", "Ferries will sail again tomorrow morning.", 21.0)],
     False, "black"),
    ("market", ("0x1030C0", "0x20C0E0"), [8, 8, 8], [], True, "cut"),
    ("kitchen", ("0x108020", "0x90E020"), [8, 8, 8],
     [("say", "Now the recipe of the week.", 1.5),
      ("across", "Chop two onions and fry them slowly in olive oil until they are golden.", 1),
      ("say", "Add the tomatoes and a pinch of salt.", 19.0)],
     False, "black"),
    ("concert", ("0x701080", "0xE040C0"), [8, 8],
     [("say", "Tonight the orchestra plays in the old town hall.", 3.0)],
     True, "cut"),
    ("match", ("0xF0D000", "0x402000"), [9, 9, 9],
     [("say", "In football, the home team won the cup final.", 1.0),
      ("across", "Their captain scored twice in the second half of a very tense match.", 1),
      ("say", "Fans celebrated in the streets.", 21.0)],
     False, "black"),
    ("weather", ("0x00A0A0", "0xF0F0F0"), [10, 10], [], True, "end"),
]
# The programme runs the six scenes twice (4 min 42 s): the second time each scene takes the
# colours of the scene three places on, so no scene looks like one within reach of it.
SCENES = SCENES[:-1] + [SCENES[-1][:5] + ("cut",)] + [
    (f"{name}-2", SCENES[(n + 3) % len(SCENES)][1], shots, speech, music, ending)
    for n, (name, _, shots, speech, music, ending) in enumerate(SCENES)
]
ANGLES = [(0, 0, 320, 180), (320, 0, 0, 180), (0, 90, 320, 90), (160, 0, 160, 180)]


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def duration(wav):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "default=nw=1:nk=1", str(wav)],
                         check=True, capture_output=True, text=True)
    return float(out.stdout)


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scene-fixture-"))
    video_parts, audio_events, music_spans = [], [], []
    truth = {"sceneStarts": [], "scenes": [], "goodBreaks": [], "midSentenceCuts": [],
             "speech": [], "shotCuts": []}
    t = 0.0
    part = 0
    for name, (c0, c1), shots, speech, music, ending in SCENES:
        start = t
        truth["sceneStarts"].append(start)
        cuts = []
        for n, length in enumerate(shots):
            x0, y0, x1, y1 = ANGLES[n % len(ANGLES)]
            clip = work / f"v{part:02}.mp4"
            run("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                f"gradients=s={SIZE}:r={FPS}:c0={c0}:c1={c1}:x0={x0}:y0={y0}:x1={x1}:y1={y1}"
                f":nb_colors=2:speed=0.00001:seed=1:d={length}",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "50",
                str(clip))
            video_parts.append(clip)
            part += 1
            if n > 0:
                cuts.append(t)
                truth["shotCuts"].append(t)
            t += length
        for kind, sentence, where in speech:
            wav = work / f"s{len(audio_events):02}.wav"
            run("flite", "-t", sentence, "-o", str(wav))
            length = duration(wav)
            if kind == "say":
                at = start + where
            else:
                cut = cuts[where - 1]
                at = cut - length / 2
                truth["midSentenceCuts"].append(cut)
            audio_events.append((wav, at))
            truth["speech"].append({"start": round(at, 3), "end": round(at + length, 3),
                                    "text": sentence})
        if music:
            music_spans.append((start, t))
        if ending == "black":
            clip = work / f"v{part:02}.mp4"
            run("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                f"color=c=black:s={SIZE}:r={FPS}:d=1", "-c:v", "libx264", "-preset",
                "veryfast", "-pix_fmt", "yuv420p", str(clip))
            video_parts.append(clip)
            part += 1
            truth["goodBreaks"].append(t + 1.0)
            t += 1.0
        truth["scenes"].append({"name": name, "start": start, "end": t, "endsWith": ending})
    total = t
    truth["durationSeconds"] = total

    concat = work / "parts.txt"
    concat.write_text("".join(f"file '{p}'\n" for p in video_parts))
    video = work / "video.mp4"
    run("ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(concat),
        "-c", "copy", str(video))

    # The soundtrack: silence, the sentences at their times, the music under its scenes.
    inputs, filters, labels = [], [], []
    for n, (wav, at) in enumerate(audio_events):
        inputs += ["-i", str(wav)]
        delay = int(round(at * 1000))
        filters.append(f"[{n}:a]aresample={RATE},adelay={delay}[a{n}]")
        labels.append(f"[a{n}]")
    for m, (a, b) in enumerate(music_spans):
        length = b - a
        expr = "0.06*(sin(2*PI*220*t)+sin(2*PI*277.18*t)+sin(2*PI*329.63*t))"
        filters.append(
            f"aevalsrc={expr}:s={RATE}:d={length},afade=t=in:d=0.05,"
            f"afade=t=out:st={length - 0.05}:d=0.05,adelay={int(round(a * 1000))}[m{m}]")
        labels.append(f"[m{m}]")
    filters.append(f"anullsrc=r={RATE}:cl=mono:d={total}[base]")
    filters.append(f"[base]{''.join(labels)}amix=inputs={len(labels) + 1}:normalize=0:"
                   f"duration=first[mix]")
    audio = work / "audio.wav"
    run("ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", ";".join(filters),
        "-map", "[mix]", "-ac", "1", "-ar", str(RATE), str(audio))

    programme = out / "programme.mp4"
    run("ffmpeg", "-v", "error", "-y", "-i", str(video), "-i", str(audio), "-map", "0:v",
        "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-shortest",
        "-fflags", "+bitexact", "-map_metadata", "-1", str(programme))
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(programme)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
