//! Dynamic frame analysis of a video file: 1-fps captures decoded once by ffmpeg, their pHash
//! and sharpness, and the [`selection`](crate::selection) of the captures worth sending to
//! vision.
//!
//! One ffmpeg run decodes the main video stream, keeps for each capture instant `k / rate`
//! (from the first frame) the first frame at or after it, as ingest's captures do (`select`;
//! ffmpeg's `fps` filter would keep the frame half an interval later), and splits them in two
//! outputs:
//! - 32x32 luma (`scale=32:32:flags=area,format=gray`) as rawvideo on stdout, 1 KiB per
//!   capture, hashed with [`phash_32`];
//! - luma at most [`FrameOptions::sharpness_width`] wide (area-scaled, aspect kept, never
//!   enlarged) as PGM files in a temporary folder, read one at a time for
//!   [`laplacian_variance`], so memory stays small on long videos.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::phash::{HASH_INPUT_SIDE, Luma, laplacian_variance, phash_32};
use crate::probe::{ProbeError, ProbeOptions, probe_with};
use crate::process::{RunOptions, ToolError, run_with};
use crate::selection::{Capture, DEFAULT_THRESHOLD, Selection, Still, select_with_stills};

const HASH_BYTES: usize = HASH_INPUT_SIDE * HASH_INPUT_SIDE;

/// How to capture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameOptions {
    /// Captures per second (Media2Cloud V4: 1).
    pub rate: f64,
    /// Width of the luma image the sharpness is measured on (smaller videos keep their size).
    pub sharpness_width: u32,
    /// The selection threshold on the normalised Hamming distance.
    pub threshold: f64,
    /// ffmpeg's time limit; `None`: 60 s plus twice the duration.
    pub timeout: Option<Duration>,
}

impl Default for FrameOptions {
    fn default() -> Self {
        FrameOptions {
            rate: 1.0,
            sharpness_width: 320,
            threshold: DEFAULT_THRESHOLD,
            timeout: None,
        }
    }
}

/// Why a file's captures could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FramesError {
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("{} has no video stream to capture frames from", path.display())]
    NoVideo { path: PathBuf },
    #[error("the capture rate must be a positive number of frames per second, not {rate}")]
    BadRate { rate: f64 },
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("ffmpeg's captures of {} are unusable: {cause}", path.display())]
    BadOutput { path: PathBuf, cause: String },
    #[error("cannot use a temporary folder for the captures: {0}")]
    Io(#[from] std::io::Error),
}

/// The captures of one video and the facts they were made with.
#[derive(Debug, Clone)]
pub struct Captured {
    pub captures: Vec<Capture>,
    /// The video stream's frame rate (for frame numbers), when known.
    pub frame_rate: Option<f64>,
    pub duration_seconds: Option<f64>,
    /// Size of the luma images the sharpness was measured on.
    pub sharpness_size: (usize, usize),
    /// ffmpeg's wall-clock time, and the hashing + sharpness time after it.
    pub decode_elapsed: Duration,
    pub analysis_elapsed: Duration,
}

/// The captures and their selection.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameAnalysis {
    pub file: PathBuf,
    pub rate: f64,
    pub frame_rate: Option<f64>,
    pub duration_seconds: Option<f64>,
    /// The shot starts (frame numbers) the grouping was cut at; empty: one shot.
    pub shot_starts: Vec<u64>,
    #[serde(flatten)]
    pub selection: Selection,
    /// Seconds ffmpeg took, and the hashing + sharpness after it.
    pub decode_seconds: f64,
    pub analysis_seconds: f64,
}

/// Captures `path` and selects within the shots starting at `shot_starts` (frame numbers;
/// empty: the whole video is one shot), each of `stills` (black, colour bars) one group.
pub async fn analyse_file(
    path: &Path,
    options: &FrameOptions,
    shot_starts: &[u64],
    stills: &[Still],
) -> Result<FrameAnalysis, FramesError> {
    let captured = capture(path, options).await?;
    let selection = select_with_stills(&captured.captures, shot_starts, stills, options.threshold);
    Ok(FrameAnalysis {
        file: path.to_path_buf(),
        rate: options.rate,
        frame_rate: captured.frame_rate,
        duration_seconds: captured.duration_seconds,
        shot_starts: shot_starts.to_vec(),
        selection,
        decode_seconds: captured.decode_elapsed.as_secs_f64(),
        analysis_seconds: captured.analysis_elapsed.as_secs_f64(),
    })
}

/// Decodes `path` once into captures at `options.rate` with their pHash and sharpness.
pub async fn capture(path: &Path, options: &FrameOptions) -> Result<Captured, FramesError> {
    if !(options.rate.is_finite() && options.rate > 0.0) {
        return Err(FramesError::BadRate { rate: options.rate });
    }
    let probe = probe_with(
        path,
        ProbeOptions {
            mediainfo: false,
            ..ProbeOptions::default()
        },
    )
    .await?;
    let video = probe.summary.video().ok_or_else(|| FramesError::NoVideo {
        path: path.to_path_buf(),
    })?;
    let frame_rate = video
        .avg_frame_rate
        .as_ref()
        .or(video.r_frame_rate.as_ref())
        .map(|r| r.fps)
        .filter(|fps| fps.is_finite() && *fps > 0.0);
    let duration = video
        .duration_seconds
        .or(probe.summary.duration_seconds)
        .filter(|d| d.is_finite() && *d >= 0.0);

    let folder = tempfile::Builder::new()
        .prefix("mediasift-frames-")
        .tempdir()?;
    let width = options.sharpness_width.max(3);
    let graph = format!(
        "[0:{stream}]setpts=PTS-STARTPTS,select='{select}',split=2[h][s];\
         [h]scale=32:32:flags=area,format=gray[hash];\
         [s]scale=w='min({width},iw)':h=-2:flags=area,format=gray[sharp]",
        stream = video.index,
        select = capture_select(options.rate),
    );
    let mut args: Vec<OsString> = ["-hide_banner", "-nostdin", "-loglevel", "error", "-i"]
        .map(OsString::from)
        .to_vec();
    args.push(path.into());
    args.extend(
        [
            "-filter_complex",
            &graph,
            "-map",
            "[hash]",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "pipe:1",
        ]
        .map(OsString::from),
    );
    args.extend(
        [
            "-map",
            "[sharp]",
            "-fps_mode",
            "passthrough",
            "-f",
            "image2",
        ]
        .map(OsString::from),
    );
    args.push(folder.path().join("%08d.pgm").into());

    let expected = duration.map_or(100_000.0, |d| d * options.rate + 2.0);
    let run_options = RunOptions {
        timeout: options
            .timeout
            .unwrap_or_else(|| Duration::from_secs_f64(60.0 + 2.0 * duration.unwrap_or(3600.0))),
        max_stdout: ((expected * 2.0) as usize + 16).saturating_mul(HASH_BYTES),
        ..RunOptions::with_timeout(Duration::ZERO)
    };
    let output = run_with("ffmpeg", &args, run_options).await?;
    let decode_elapsed = output.elapsed;
    let bad = |cause: String| FramesError::BadOutput {
        path: path.to_path_buf(),
        cause,
    };
    if output.stdout_truncated {
        return Err(bad(format!(
            "more captures than a {:.0} s video should give",
            duration.unwrap_or(0.0)
        )));
    }
    if !output.stdout.len().is_multiple_of(HASH_BYTES) {
        return Err(bad(format!(
            "{} bytes of 32x32 luma is not a whole number of captures",
            output.stdout.len()
        )));
    }

    let started = Instant::now();
    let count = output.stdout.len() / HASH_BYTES;
    let frames = frame_rate.map(|fps| captured_frames(fps, options.rate, count));
    let mut captures = Vec::with_capacity(count);
    let mut sharpness_size = (0, 0);
    for (i, block) in output.stdout.chunks_exact(HASH_BYTES).enumerate() {
        let mut pixels = [0.0f64; HASH_BYTES];
        for (p, &b) in pixels.iter_mut().zip(block) {
            *p = f64::from(b);
        }
        let file = folder.path().join(format!("{:08}.pgm", i + 1));
        let pgm = std::fs::read(&file)
            .map_err(|e| bad(format!("capture {i} has no sharpness image: {e}")))?;
        let (w, h, luma) = parse_pgm(&pgm).ok_or_else(|| bad(format!("capture {i}: bad PGM")))?;
        sharpness_size = (w, h);
        let luma = Luma::new(w, h, luma).ok_or_else(|| bad(format!("capture {i}: bad PGM")))?;
        let (frame, timestamp) = match (&frames, frame_rate) {
            (Some(frames), Some(fps)) => (frames[i], frames[i] as f64 / fps),
            _ => (0, i as f64 / options.rate),
        };
        captures.push(Capture {
            index: i as u32,
            frame,
            timestamp,
            hash: phash_32(&pixels),
            sharpness: laplacian_variance(luma),
        });
    }
    if folder.path().join(format!("{:08}.pgm", count + 1)).exists() {
        return Err(bad(format!(
            "ffmpeg wrote more sharpness images than the {count} hash captures"
        )));
    }
    Ok(Captured {
        captures,
        frame_rate,
        duration_seconds: duration,
        sharpness_size,
        decode_elapsed,
        analysis_elapsed: started.elapsed(),
    })
}

/// The `select` expression keeping the first frame at or after each capture instant
/// `k / rate`: a frame is kept when `floor(t × rate)` is past that of the last kept frame (an
/// instant without a frame of its own is skipped, never duplicated). The epsilon absorbs the
/// float error of `t × rate` for frames exactly on an instant.
fn capture_select(rate: f64) -> String {
    format!(
        "not(isnan(t))*(isnan(prev_selected_t)+gt(floor(t*{rate}+1e-6),\
         floor(prev_selected_t*{rate}+1e-6)))"
    )
}

/// The frame numbers of the first `count` frames [`capture_select`] keeps from a stream of
/// `fps` frames per second starting at 0 (constant frame rate).
fn captured_frames(fps: f64, rate: f64, count: usize) -> Vec<u64> {
    let bucket = |frame: u64| (frame as f64 / fps * rate + 1e-6).floor();
    let mut frames: Vec<u64> = Vec::with_capacity(count);
    let mut frame = 0u64;
    while frames.len() < count {
        if frames
            .last()
            .is_none_or(|&last| bucket(frame) > bucket(last))
        {
            frames.push(frame);
        }
        frame += 1;
    }
    frames
}

/// A binary 8-bit PGM (`P5 W H 255`, whitespace-separated, no comments as ffmpeg writes it):
/// width, height, pixels.
fn parse_pgm(data: &[u8]) -> Option<(usize, usize, &[u8])> {
    let mut fields = Vec::with_capacity(4);
    let mut pos = 0;
    while fields.len() < 4 {
        while data.get(pos)?.is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !data.get(pos)?.is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(std::str::from_utf8(&data[start..pos]).ok()?);
    }
    pos += 1; // the single whitespace after the max value
    let (width, height): (usize, usize) = (fields[1].parse().ok()?, fields[2].parse().ok()?);
    if fields[0] != "P5" || fields[3] != "255" {
        return None;
    }
    let pixels = data.get(pos..pos + width.checked_mul(height)?)?;
    Some((width, height, pixels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_are_the_first_frames_at_or_after_each_instant() {
        assert_eq!(captured_frames(25.0, 1.0, 4), [0, 25, 50, 75]);
        assert_eq!(captured_frames(25.0, 2.0, 4), [0, 13, 25, 38]);
        assert_eq!(captured_frames(30000.0 / 1001.0, 1.0, 4), [0, 30, 60, 90]);
        // More captures per second than frames: an instant without a frame is skipped.
        assert_eq!(captured_frames(2.0, 4.0, 3), [0, 1, 2]);
        assert!(captured_frames(25.0, 1.0, 0).is_empty());
    }

    #[test]
    fn parses_ffmpegs_pgm() {
        let mut pgm = b"P5\n3 2\n255\n".to_vec();
        pgm.extend([1, 2, 3, 4, 5, 6]);
        assert_eq!(parse_pgm(&pgm), Some((3, 2, &[1u8, 2, 3, 4, 5, 6][..])));
        assert_eq!(parse_pgm(&pgm[..pgm.len() - 1]), None);
        assert_eq!(parse_pgm(b"P6\n1 1\n255\n\0\0\0"), None);
        assert_eq!(parse_pgm(b"P5"), None);
    }
}
