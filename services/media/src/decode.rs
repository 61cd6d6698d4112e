//! Decoding a video once into small frames, streamed from ffmpeg's stdout.
//!
//! ffmpeg decodes the first video stream at its full frame rate (`-fps_mode passthrough`, so
//! frame `n` handed to the callback is decoded frame `n` of the source, none dropped or
//! duplicated), scales it to a few thousand pixels and writes raw RGB24 to a pipe. Frames are
//! read one at a time into a single reused buffer, never the whole video into memory, and the
//! child is killed when the time limit is reached, like [`crate::process::run_with`].
//!
//! By default the decoder skips its in-loop deblocking filter ([`DecodeOptions::deblock`]):
//! decoding is the whole cost of shot detection, and deblocking is about a sixth of an H.264
//! decode, while the block edges it smooths are averaged away in a 64x36 frame. Reference
//! frames then differ slightly from the encoder's, an error that stays far below the
//! detector's thresholds within a group of pictures.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::process::{self, Keep, ToolError};

/// Width of the frames the shot detector reads by default.
pub const DEFAULT_WIDTH: u32 = 64;
/// Height of the frames the shot detector reads by default (16:9 of [`DEFAULT_WIDTH`]).
pub const DEFAULT_HEIGHT: u32 = 36;
/// Default time limit for one decode (a feature film at small size decodes well within it).
pub const DEFAULT_DECODE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How much of the end of ffmpeg's stderr is kept to explain a failure.
const MAX_STDERR: usize = 64 * 1024;
/// The largest frame accepted (pixels), so a bad option cannot allocate gigabytes.
const MAX_PIXELS: u32 = 1920 * 1080;

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Frame width in pixels after scaling (the aspect ratio is not kept).
    pub width: u32,
    /// Frame height in pixels after scaling.
    pub height: u32,
    /// Wall-clock limit for the whole decode; ffmpeg is killed when it is reached.
    pub timeout: Duration,
    /// Run the codec's in-loop deblocking filter (exact pixels, slower); off by default.
    pub deblock: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            timeout: DEFAULT_DECODE_TIMEOUT,
            deblock: false,
        }
    }
}

/// One decoded frame, borrowed for the duration of the callback.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Position in decode order, from 0 (the source's frame number).
    pub index: u64,
    pub width: u32,
    pub height: u32,
    /// `width * height` RGB24 pixels, row by row.
    pub rgb: &'a [u8],
}

/// What a finished decode reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeSummary {
    /// Whole frames delivered to the callback.
    pub frames: u64,
    /// Wall-clock time of the decode.
    pub elapsed: Duration,
}

/// The ffmpeg arguments for decoding `path` to raw RGB24 frames on stdout.
pub fn ffmpeg_args(path: &Path, options: &DecodeOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["-hide_banner", "-nostdin", "-loglevel", "error"]
        .iter()
        .map(OsString::from)
        .collect();
    if !options.deblock {
        args.extend(["-skip_loop_filter", "all"].map(OsString::from));
    }
    args.push("-i".into());
    args.push(path.as_os_str().to_owned());
    let filter = format!(
        "scale={}:{}:flags=area,format=rgb24",
        options.width, options.height
    );
    for arg in [
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-fps_mode",
        "passthrough",
        "-vf",
        &filter,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ] {
        args.push(arg.into());
    }
    args
}

/// Decodes the first video stream of `path` with ffmpeg, calling `on_frame` for every frame in
/// order. Fails with [`ToolError::Failed`] (ffmpeg's own words) when ffmpeg cannot read the
/// file or it has no video, and [`ToolError::TimedOut`] when it runs past the limit.
pub async fn decode_frames<F>(
    path: &Path,
    options: &DecodeOptions,
    mut on_frame: F,
) -> Result<DecodeSummary, ToolError>
where
    F: FnMut(Frame<'_>),
{
    const TOOL: &str = "ffmpeg";
    let io_error = |source| ToolError::Io {
        tool: TOOL.to_owned(),
        source,
    };
    let pixels = options.width.saturating_mul(options.height);
    if options.width == 0 || options.height == 0 || pixels > MAX_PIXELS {
        return Err(io_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "frame size {}x{} is not between 1x1 and {MAX_PIXELS} pixels",
                options.width, options.height
            ),
        )));
    }
    let started = Instant::now();
    let args = ffmpeg_args(path, options);
    tracing::debug!(?args, timeout = ?options.timeout, "decoding frames");
    let mut child = Command::new(TOOL)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| process::spawn_error(TOOL, source))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io_error(io::Error::other(
            "the child's stdout/stderr pipes were not set up",
        )));
    };

    let frame_bytes = pixels as usize * 3;
    let (width, height) = (options.width, options.height);
    let finished = tokio::time::timeout(options.timeout, async {
        let (frames, err) = tokio::join!(
            read_frames(stdout, frame_bytes, |index, rgb| on_frame(Frame {
                index,
                width,
                height,
                rgb,
            })),
            process::read_capped(stderr, MAX_STDERR, Keep::Tail),
        );
        let status = child.wait().await;
        (frames, err, status)
    })
    .await;

    let (frames, err, status) = match finished {
        Ok(parts) => parts,
        Err(_elapsed) => {
            if let Err(error) = child.start_kill() {
                tracing::warn!(%error, "could not kill a timed-out ffmpeg");
            }
            let _ = tokio::time::timeout(process::REAP_GRACE, child.wait()).await;
            tracing::warn!(after = ?options.timeout, "decode timed out and ffmpeg was killed");
            return Err(ToolError::TimedOut {
                tool: TOOL.to_owned(),
                after: options.timeout,
            });
        }
    };
    let status = status.map_err(io_error)?;
    let (stderr, _) = err.map_err(io_error)?;
    let (frames, partial) = frames.map_err(io_error)?;
    if !status.success() {
        return Err(ToolError::Failed {
            tool: TOOL.to_owned(),
            code: status.code(),
            stderr_tail: process::stderr_tail(&stderr),
        });
    }
    if partial > 0 {
        tracing::warn!(
            partial,
            frame_bytes,
            "ffmpeg's output ended inside a frame; the partial frame was dropped"
        );
    }
    Ok(DecodeSummary {
        frames,
        elapsed: started.elapsed(),
    })
}

/// Reads whole frames of `frame_bytes` from `reader` until its end, one reused buffer.
/// Returns (frames read, bytes of a trailing partial frame).
async fn read_frames<R, F>(
    mut reader: R,
    frame_bytes: usize,
    mut on_frame: F,
) -> io::Result<(u64, usize)>
where
    R: AsyncRead + Unpin,
    F: FnMut(u64, &[u8]),
{
    let mut buffer = vec![0u8; frame_bytes];
    let mut filled = 0;
    let mut frames = 0u64;
    loop {
        let n = reader.read(&mut buffer[filled..]).await?;
        if n == 0 {
            return Ok((frames, filled));
        }
        filled += n;
        if filled == frame_bytes {
            on_frame(frames, &buffer);
            frames += 1;
            filled = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_cut_whole_from_any_chunking() {
        // 3.5 frames of 4 bytes, delivered in odd-sized reads.
        let data: Vec<u8> = (0..14).collect();
        let reader = tokio_test_reader(&data);
        let mut seen = Vec::new();
        let (frames, partial) = read_frames(reader, 4, |i, f| seen.push((i, f.to_vec())))
            .await
            .unwrap();
        assert_eq!(frames, 3);
        assert_eq!(partial, 2);
        assert_eq!(seen[2], (2, vec![8, 9, 10, 11]));
    }

    fn tokio_test_reader(data: &[u8]) -> impl AsyncRead + Unpin + '_ {
        // &[u8] is an AsyncRead that returns everything it can; chain small pieces instead.
        let (a, rest) = data.split_at(3);
        let (b, c) = rest.split_at(6);
        a.chain(b).chain(c)
    }

    #[test]
    fn arguments_keep_every_frame_and_use_no_shell() {
        let args = ffmpeg_args(Path::new("a b;rm.mp4"), &DecodeOptions::default());
        let args: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        assert!(args.windows(2).any(|w| w == ["-fps_mode", "passthrough"]));
        assert!(args.iter().any(|a| a == "a b;rm.mp4"));
        assert!(args.windows(2).any(|w| w == ["-skip_loop_filter", "all"]));
        let exact = DecodeOptions {
            deblock: true,
            ..DecodeOptions::default()
        };
        let args = ffmpeg_args(Path::new("in.mp4"), &exact);
        assert!(!args.iter().any(|a| a == "-skip_loop_filter"));
        assert_eq!(args.last().unwrap(), "pipe:1");
    }
}
