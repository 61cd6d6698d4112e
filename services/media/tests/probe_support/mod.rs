//! Shared by tests/probe.rs and tests/kind.rs: the real test media that scripts/setup.sh
//! fetches, fixtures made here with ffmpeg's lavfi sources, and ffprobe run directly (a
//! different code path from the crate's) to compare against.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `.cache/test-media` at the workspace root (or `$TEST_MEDIA_DIR`).
pub fn media_dir() -> PathBuf {
    match std::env::var_os("TEST_MEDIA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/test-media"),
    }
}

/// A file of the real test media; fails (never skips) when it is not there.
pub fn media(relative: &str) -> PathBuf {
    let path = media_dir().join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

/// Fails with the setup hint when a tool the tests need is not installed.
pub fn require_tool(tool: &str) {
    let found = Command::new(tool).arg("-version").output().is_ok()
        || Command::new(tool).arg("--version").output().is_ok();
    assert!(found, "`{tool}` is not installed: run scripts/setup.sh");
}

/// Runs ffmpeg with `args` (quiet, overwrite) and returns `out`.
pub fn ffmpeg(args: &[&str], out: &Path) -> PathBuf {
    require_tool("ffmpeg");
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .output()
        .expect("ffmpeg runs");
    assert!(
        output.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_path_buf()
}

/// [`ffmpeg`] with the arguments written as one whitespace-separated line.
pub fn ffmpeg_line(args: &str, out: &Path) -> PathBuf {
    ffmpeg(&args.split_whitespace().collect::<Vec<_>>(), out)
}

/// The lavfi fixtures the tests use, each made on demand in `dir`.
pub struct Fixtures {
    pub dir: tempfile::TempDir,
}

impl Fixtures {
    pub fn new() -> Self {
        Fixtures {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// 5 s of 320x240 25 fps H.264 test pattern with a 48 kHz mono 440 Hz AAC tone.
    pub fn five_second_video(&self) -> PathBuf {
        ffmpeg_line(
            "-f lavfi -i testsrc=size=320x240:rate=25 \
             -f lavfi -i sine=frequency=440:sample_rate=48000 \
             -t 5 -c:v libx264 -pix_fmt yuv420p -c:a aac -metadata:s:a:0 language=eng",
            &self.path("five-seconds.mp4"),
        )
    }

    /// 2 s of video, no audio stream.
    pub fn video_without_audio(&self) -> PathBuf {
        ffmpeg_line(
            "-f lavfi -i testsrc=size=320x240:rate=25 -t 2 -c:v libx264 -pix_fmt yuv420p",
            &self.path("no-audio.mp4"),
        )
    }

    /// 3 s of AAC in a QuickTime .mov, no video.
    pub fn audio_only_mov(&self) -> PathBuf {
        ffmpeg_line(
            "-f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 -c:a aac",
            &self.path("audio-only.mov"),
        )
    }

    /// A video of exactly one frame.
    pub fn one_frame_video(&self) -> PathBuf {
        ffmpeg_line(
            "-f lavfi -i testsrc=size=320x240:rate=25 -frames:v 1 -c:v libx264 -pix_fmt yuv420p",
            &self.path("one-frame.mp4"),
        )
    }

    /// Eight mono PCM streams (as broadcast masters carry), languages eng, fra, spa, ita, por,
    /// jpn, rus, und (QuickTime keeps ISO 639-2/B codes, and writes no tag for und).
    pub fn eight_mono_tracks(&self) -> PathBuf {
        let mut args = String::new();
        for i in 0..8 {
            let frequency = 200 + 100 * i;
            args +=
                &format!(" -f lavfi -i sine=frequency={frequency}:sample_rate=48000:duration=2");
        }
        for (i, language) in EIGHT_LANGUAGES.iter().enumerate() {
            args += &format!(" -map {i}:a -metadata:s:a:{i} language={language}");
        }
        args += " -c:a pcm_s16le";
        ffmpeg_line(&args, &self.path("eight-tracks.mov"))
    }

    /// An MP3 with a 300x300 JPEG as ID3 cover art.
    pub fn mp3_with_cover_art(&self) -> PathBuf {
        let cover = ffmpeg_line(
            "-f lavfi -i testsrc=size=300x300:rate=1 -frames:v 1",
            &self.path("cover.jpg"),
        );
        let mut args = vec!["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-i"];
        let cover = cover.to_string_lossy();
        args.push(&cover);
        args.extend("-map 0:a -map 1:v -c:a libmp3lame -c:v copy -id3v2_version 3".split(' '));
        args.extend(["-metadata:s:v", "comment=Cover (front)"]);
        ffmpeg(&args, &self.path("with-cover.mp3"))
    }

    /// A JPEG still (for renaming games).
    pub fn jpeg(&self) -> PathBuf {
        ffmpeg_line(
            "-f lavfi -i testsrc=size=64x48:rate=1 -frames:v 1",
            &self.path("still.jpg"),
        )
    }

    /// 1 s of video with a 01:00:00:00 start timecode (tmcd track) and a 90° `rotate` tag,
    /// which ffmpeg's muxer turns into a display matrix.
    pub fn rotated_with_timecode(&self) -> PathBuf {
        let plain = ffmpeg_line(
            "-f lavfi -i testsrc=size=320x240:rate=25 -t 1 -c:v libx264 -pix_fmt yuv420p \
             -timecode 01:00:00:00",
            &self.path("plain.mov"),
        );
        let plain = plain.to_string_lossy();
        let args = [
            "-i",
            &plain,
            "-map",
            "0",
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ];
        ffmpeg(&args, &self.path("rotated.mov"))
    }
}

impl Default for Fixtures {
    fn default() -> Self {
        Self::new()
    }
}

pub const EIGHT_LANGUAGES: [&str; 8] = ["eng", "fra", "spa", "ita", "por", "jpn", "rus", "und"];

/// `ffprobe -show_entries ENTRIES -of default=nw=1 [extra] FILE` as key → values (in order).
pub fn ffprobe_entries(
    file: &Path,
    entries: &str,
    extra: &[&str],
) -> BTreeMap<String, Vec<String>> {
    require_tool("ffprobe");
    let output = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(extra)
        .args(["-show_entries", entries, "-of", "default=nw=1"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "ffprobe failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((k, v)) = line.split_once('=') {
            map.entry(k.to_owned()).or_default().push(v.to_owned());
        }
    }
    map
}

/// The first value of `key`, parsed.
pub fn first<T: std::str::FromStr>(map: &BTreeMap<String, Vec<String>>, key: &str) -> T {
    let raw = map
        .get(key)
        .and_then(|v| v.first())
        .unwrap_or_else(|| panic!("no {key} in {map:?}"));
    raw.parse()
        .unwrap_or_else(|_| panic!("{key}={raw} does not parse"))
}

/// Deterministic pseudo-random bytes (xorshift), with no file signature.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A minimal valid one-page PDF, written by hand (xref offsets computed).
pub fn minimal_pdf() -> Vec<u8> {
    let content = "BT /F1 24 Tf 40 100 Td (mediasift) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}
