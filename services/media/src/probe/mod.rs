//! Probing media files: ffprobe's format and streams (and mediainfo's frame-rate mode when
//! mediainfo is installed) into typed structs and a [`MediaSummary`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), mediasift_media::probe::ProbeError> {
//! let probe = mediasift_media::probe::probe("clip.mp4").await?;
//! if let Some(video) = probe.summary.video() {
//!     println!("{:?}x{:?} vfr={}", video.width, video.height, video.variable_frame_rate);
//! }
//! # Ok(()) }
//! ```

mod raw;
mod summary;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::process::{self, ToolError};

pub use raw::{FfFormat, FfStream, FfprobeOutput, MediainfoOutput, MiMedia, MiTrack};
pub use summary::{
    AudioTrack, FrameRate, FrameRateEvidence, MediaSummary, OtherStream, VFR_TOLERANCE, VideoStream,
};

/// Default time limit for each of ffprobe and mediainfo.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// How to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Time limit for each tool.
    pub timeout: Duration,
    /// Also run mediainfo (when installed) for the frame-rate mode.
    pub mediainfo: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            timeout: DEFAULT_PROBE_TIMEOUT,
            mediainfo: true,
        }
    }
}

/// Everything the probe learnt about one file.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub path: PathBuf,
    /// ffprobe's JSON as it printed it (for storing as technical metadata).
    pub ffprobe_json: Value,
    pub ffprobe: FfprobeOutput,
    /// mediainfo's JSON, when mediainfo is installed and read the file.
    pub mediainfo_json: Option<Value>,
    pub mediainfo: Option<MediainfoOutput>,
    /// What ffprobe warned about on stderr while still reading the file (damaged frames...).
    pub warnings: Vec<String>,
    pub summary: MediaSummary,
}

/// Why a file could not be probed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is not a regular file (a folder, device or pipe cannot be probed)", path.display())]
    NotAFile { path: PathBuf },
    /// ffprobe ran and cannot read the file; `cause` is ffprobe's own message.
    #[error("ffprobe cannot read {}: {cause} (the file may be truncated, corrupt, or not media)", path.display())]
    Unreadable { path: PathBuf, cause: String },
    /// ffprobe printed something that is not its JSON.
    #[error("ffprobe printed unusable output for {}: {cause}", path.display())]
    BadOutput { path: PathBuf, cause: String },
    /// ffprobe is missing, timed out, or could not be run.
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("cannot access {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Probes `path` with the default options (60 s per tool, mediainfo when installed).
pub async fn probe(path: impl AsRef<Path>) -> Result<Probe, ProbeError> {
    probe_with(path, ProbeOptions::default()).await
}

/// Probes `path`.
pub async fn probe_with(
    path: impl AsRef<Path>,
    options: ProbeOptions,
) -> Result<Probe, ProbeError> {
    let path = path.as_ref().to_path_buf();
    let (absolute, size) = checked_file(&path).await?;
    if size == 0 {
        return Err(ProbeError::Unreadable {
            path,
            cause: "the file is empty (0 bytes)".into(),
        });
    }

    let (ffprobe, mediainfo) =
        tokio::join!(run_ffprobe(&path, &absolute, options.timeout), async {
            if options.mediainfo {
                run_mediainfo(&absolute, options.timeout).await
            } else {
                None
            }
        });
    let (ffprobe_json, warnings) = ffprobe?;
    probe_from_json(path, ffprobe_json, mediainfo, warnings)
}

/// The probe of `path` from the tools' JSON: ffprobe's (`-print_format json -show_format
/// -show_streams`) and mediainfo's (`--Output=JSON`), which is optional and ignored when its
/// shape is unexpected. `warnings` are ffprobe's stderr lines. What the tools say about the
/// file rather than the media is dropped ([`scrub_local_file_facts`]).
pub fn probe_from_json(
    path: PathBuf,
    mut ffprobe_json: Value,
    mut mediainfo_json: Option<Value>,
    warnings: Vec<String>,
) -> Result<Probe, ProbeError> {
    scrub_local_file_facts(&mut ffprobe_json, mediainfo_json.as_mut());
    let ffprobe: FfprobeOutput =
        serde_json::from_value(ffprobe_json.clone()).map_err(|e| ProbeError::BadOutput {
            path: path.clone(),
            cause: format!("unexpected JSON shape: {e}"),
        })?;
    let mediainfo_typed = mediainfo_json
        .as_ref()
        .and_then(|json| serde_json::from_value::<MediainfoOutput>(json.clone()).ok());
    let summary = MediaSummary::from_parts(&ffprobe, mediainfo_typed.as_ref());
    Ok(Probe {
        path,
        ffprobe_json,
        ffprobe,
        mediainfo_json,
        mediainfo: mediainfo_typed,
        warnings,
        summary,
    })
}

/// Removes what the tools say about the local copy they read rather than the media: its path
/// (ffprobe's `format.filename`, mediainfo's `@ref` and `CompleteName`) and its file times
/// (mediainfo's `File_*_Date*`). The copy is a scratch file: its path would leak a local
/// folder into the archive's metadata, and both would differ on every run of the same media.
pub fn scrub_local_file_facts(
    ffprobe: &mut serde_json::Value,
    mediainfo: Option<&mut serde_json::Value>,
) {
    if let Some(format) = ffprobe.get_mut("format").and_then(|f| f.as_object_mut()) {
        format.remove("filename");
    }
    let Some(media) = mediainfo
        .and_then(|m| m.get_mut("media"))
        .and_then(|m| m.as_object_mut())
    else {
        return;
    };
    media.remove("@ref");
    let tracks = match media.get_mut("track") {
        Some(serde_json::Value::Array(tracks)) => tracks.iter_mut().collect::<Vec<_>>(),
        Some(track @ serde_json::Value::Object(_)) => vec![track],
        _ => Vec::new(),
    };
    for track in tracks {
        if let Some(track) = track.as_object_mut() {
            track.retain(|key, _| key != "CompleteName" && !key.starts_with("File_"));
        }
    }
}

/// The absolute path and size of `path` once it is known to be a regular file. Absolute, so
/// that a name starting with '-' can never read as an option.
async fn checked_file(path: &Path) -> Result<(PathBuf, u64), ProbeError> {
    let absolute = std::path::absolute(path).map_err(|source| ProbeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match tokio::fs::metadata(&absolute).await {
        Ok(meta) if meta.is_file() => Ok((absolute, meta.len())),
        Ok(_) => Err(ProbeError::NotAFile {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ProbeError::NotFound {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(ProbeError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

async fn run_ffprobe(
    path: &Path,
    absolute: &Path,
    timeout: Duration,
) -> Result<(Value, Vec<String>), ProbeError> {
    // "file:" keeps a name with ':' from reading as a protocol (ffmpeg's "Protocol not found").
    let mut input = OsString::from("file:");
    input.push(absolute.as_os_str());
    let mut args: Vec<OsString> = [
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-i",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    args.push(input.clone());
    let output = match process::run("ffprobe", &args, timeout).await {
        Ok(output) => output,
        Err(ToolError::Failed { stderr_tail, .. }) => {
            return Err(ProbeError::Unreadable {
                path: path.to_path_buf(),
                cause: ffmpeg_message(&stderr_tail, &input.to_string_lossy()),
            });
        }
        Err(other) => return Err(ProbeError::Tool(other)),
    };
    if output.stdout_truncated {
        return Err(ProbeError::BadOutput {
            path: path.to_path_buf(),
            cause: format!("more than {} bytes of JSON", process::DEFAULT_MAX_STDOUT),
        });
    }
    let json: Value =
        serde_json::from_slice(&output.stdout).map_err(|e| ProbeError::BadOutput {
            path: path.to_path_buf(),
            cause: format!("not JSON ({e})"),
        })?;
    let warnings = ffmpeg_lines(&output.stderr_tail(), &input.to_string_lossy());
    Ok((json, warnings))
}

/// mediainfo's JSON, or `None` when it is not installed or fails (it is optional).
async fn run_mediainfo(absolute: &Path, timeout: Duration) -> Option<Value> {
    let args = [
        OsString::from("--Output=JSON"),
        absolute.as_os_str().to_owned(),
    ];
    match process::run("mediainfo", &args, timeout).await {
        Ok(output) if !output.stdout_truncated => match serde_json::from_slice(&output.stdout) {
            Ok(json) => Some(json),
            Err(error) => {
                tracing::warn!(path = %absolute.display(), %error, "mediainfo printed no JSON");
                None
            }
        },
        Ok(_) => {
            tracing::warn!(path = %absolute.display(), "mediainfo output too large; ignored");
            None
        }
        Err(ToolError::Missing { .. }) => {
            tracing::debug!("mediainfo is not installed; frame-rate mode from ffprobe alone");
            None
        }
        Err(error) => {
            tracing::warn!(path = %absolute.display(), %error, "mediainfo failed; ignored");
            None
        }
    }
}

/// ffmpeg's stderr lines made readable: "[mov,mp4,m4a @ 0x55..] moov atom not found" becomes
/// "moov atom not found", "file:/x.mp4: Invalid data..." becomes "Invalid data...", repeats go.
fn ffmpeg_lines(stderr: &str, input: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in stderr.lines() {
        let mut line = line.trim();
        if line.starts_with('[')
            && let Some(end) = line.find("] ")
            && line[..end].contains(" @ 0x")
        {
            line = line[end + 2..].trim();
        }
        if let Some(rest) = line.strip_prefix(input).and_then(|r| r.strip_prefix(':')) {
            line = rest.trim();
        }
        if !line.is_empty() && !lines.iter().any(|l| l == line) {
            lines.push(line.to_owned());
        }
    }
    lines
}

fn ffmpeg_message(stderr: &str, input: &str) -> String {
    let lines = ffmpeg_lines(stderr, input);
    if lines.is_empty() {
        "ffprobe gave no reason".to_owned()
    } else {
        lines.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_messages_lose_addresses_and_the_input_name() {
        let stderr = "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55e60c9f41c0] moov atom not found\n\
                      file:/tmp/a b.mp4: Invalid data found when processing input\n\
                      [mov,mp4,m4a,3gp,3g2,mj2 @ 0x55e60c9f41c1] moov atom not found";
        assert_eq!(
            ffmpeg_message(stderr, "file:/tmp/a b.mp4"),
            "moov atom not found; Invalid data found when processing input"
        );
        assert_eq!(ffmpeg_message("", "x"), "ffprobe gave no reason");
    }

    #[test]
    fn the_scratch_copys_path_and_times_are_not_media_facts() {
        let mut ffprobe = serde_json::json!({"format": {"filename": "file:/tmp/x/source.mp4", "duration": "1.0"}});
        let mut mediainfo = serde_json::json!({"media": {"@ref": "/tmp/x/source.mp4", "track": [
            {"@type": "General", "CompleteName": "/tmp/x/source.mp4", "FileSize": "5",
             "File_Modified_Date": "2026-11-22 08:15:53 UTC", "File_Modified_Date_Local": "2026-11-22 08:15:53"},
            {"@type": "Video", "Width": "320"}
        ]}});
        scrub_local_file_facts(&mut ffprobe, Some(&mut mediainfo));
        assert_eq!(ffprobe, serde_json::json!({"format": {"duration": "1.0"}}));
        assert_eq!(
            mediainfo,
            serde_json::json!({"media": {"track": [
                {"@type": "General", "FileSize": "5"},
                {"@type": "Video", "Width": "320"}
            ]}})
        );
    }
}
