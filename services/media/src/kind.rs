//! What kind of media a file is, decided by its content (never its name): the first bytes
//! (the `infer` crate plus a few signatures it lacks) and, for audio/video containers and
//! unknown content, ffprobe.
//!
//! - `%PDF-` → [`MediaKind::Document`];
//! - an image signature (JPEG, PNG, GIF, WebP, TIFF and the TIFF-based camera RAWs such as
//!   DNG/NEF/ARW, CR2, CR3, ORF, RW2, RAF, BMP, HEIF/HEIC, AVIF, JPEG 2000/XL, ...) →
//!   [`MediaKind::Image`], without running a tool;
//! - otherwise ffprobe: a real video stream (not cover art) → [`MediaKind::Video`]; audio
//!   streams only (an audio-only MOV/MP4 too) → [`MediaKind::Audio`]; a still picture that only
//!   ffmpeg's image readers know (PPM, ...) → [`MediaKind::Image`]; anything else is
//!   [`KindError::Unsupported`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::probe::{self, MediaSummary, Probe, ProbeError, ProbeOptions};
use crate::process::ToolError;

/// How many leading bytes are sniffed.
pub const SNIFF_BYTES: usize = 8 * 1024;
/// Below this ffprobe probe score (ffmpeg's AVPROBE_SCORE_RETRY) a format is a guess: content
/// without a signature that ffprobe reads only this weakly is not taken for media. Real
/// signature-less media scores higher (MPEG-TS 50, raw AAC/H.264/AC-3/MP3 51, MPEG-PS 26);
/// stray files score 1-5 (a time-zone file as MPEG-TS, a .mo catalogue as MPEG-4 video).
pub const MIN_GUESS_SCORE: i64 = 25;
/// How far into the file a PDF's `%PDF-` may start (readers accept leading junk up to 1 KiB).
const PDF_MAGIC_WINDOW: usize = 1024;

/// The four kinds of asset mediasift ingests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Video,
    Audio,
    Image,
    Document,
}

/// The verdict on one file.
#[derive(Debug, Clone, Serialize)]
pub struct Detected {
    pub kind: MediaKind,
    /// The content's MIME type (an audio-only MP4 is `audio/mp4`); `application/octet-stream`
    /// when neither the signature nor the container name one.
    pub mime: String,
    /// The probe, when ffprobe was run (audio, video, and content without a known signature).
    pub probe: Option<Probe>,
    /// Why this kind, for people and logs: "PDF signature", "video stream 0 (h264 1920x1080)".
    pub reason: String,
}

impl Detected {
    pub fn summary(&self) -> Option<&MediaSummary> {
        self.probe.as_ref().map(|p| &p.summary)
    }
}

/// Why a file's kind could not be decided, worded for the person who supplied it.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is not a regular file (a folder, device or pipe is not media)", path.display())]
    NotAFile { path: PathBuf },
    #[error("{} is empty (0 bytes): there is nothing to ingest; upload the file again", path.display())]
    Empty { path: PathBuf },
    /// The content is not a kind mediasift ingests; `found` says what it is.
    #[error("{} is not a supported media file: {found}", path.display())]
    Unsupported { path: PathBuf, found: String },
    /// The content claims to be audio/video (by its signature) but cannot be read.
    #[error(
        "{} looks like {mime} but cannot be read: {cause}; the file is probably truncated or \
         corrupt: upload it again or re-export it",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        mime: String,
        cause: String,
    },
    /// ffprobe is missing, timed out, or could not run.
    #[error("cannot decide the type of {}: {source}", path.display())]
    Tool {
        path: PathBuf,
        #[source]
        source: ToolError,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Detects the kind of `path` with the default probe options.
pub async fn detect(path: impl AsRef<Path>) -> Result<Detected, KindError> {
    detect_with(path, ProbeOptions::default()).await
}

/// Detects the kind of `path`, probing with `options` when a probe is needed.
pub async fn detect_with(
    path: impl AsRef<Path>,
    options: ProbeOptions,
) -> Result<Detected, KindError> {
    let path = path.as_ref();
    let head = read_head(path).await?;
    match sniff(&head) {
        Sniffed::Document { mime } => Ok(Detected {
            kind: MediaKind::Document,
            mime: mime.to_owned(),
            probe: None,
            reason: "PDF signature (%PDF-)".to_owned(),
        }),
        Sniffed::Image { mime } => Ok(Detected {
            kind: MediaKind::Image,
            mime: mime.to_owned(),
            probe: None,
            reason: format!("image signature ({mime})"),
        }),
        Sniffed::Other { mime, what } => Err(KindError::Unsupported {
            path: path.to_path_buf(),
            found: format!("its content is {what} ({mime}), not video, audio, image or PDF"),
        }),
        Sniffed::Media { mime } => from_probe(path, Some(mime), options).await,
        Sniffed::Unknown => from_probe(path, None, options).await,
    }
}

/// What the first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A PDF.
    Document { mime: &'static str },
    /// An image format (decided without a tool).
    Image { mime: &'static str },
    /// An audio/video container: the probe decides which.
    Media { mime: &'static str },
    /// Known content that is not media (an archive, an executable, a Word file...).
    Other {
        mime: &'static str,
        what: &'static str,
    },
    /// No known signature: the probe decides.
    Unknown,
}

/// Classifies a file's first bytes (pass at least the first [`SNIFF_BYTES`] when there are).
pub fn sniff(head: &[u8]) -> Sniffed {
    const PDF: Sniffed = Sniffed::Document {
        mime: "application/pdf",
    };
    if head.starts_with(b"%PDF-") {
        return PDF;
    }
    if let Some(mime) = camera_raw(head) {
        return Sniffed::Image { mime };
    }
    let Some(found) = infer::get(head) else {
        // Readers accept junk before the header; only when nothing else matched at offset 0.
        let window = &head[..head.len().min(PDF_MAGIC_WINDOW)];
        if window.windows(5).any(|w| w == b"%PDF-") {
            return PDF;
        }
        return Sniffed::Unknown;
    };
    let mime = found.mime_type();
    if mime == "application/pdf" {
        return PDF;
    }
    match found.matcher_type() {
        infer::MatcherType::Image => match mime {
            "image/vnd.djvu" => Sniffed::Other {
                mime,
                what: "a DjVu document",
            },
            "image/vnd.dwg" => Sniffed::Other {
                mime,
                what: "an AutoCAD drawing",
            },
            "image/openraster" => Sniffed::Other {
                mime,
                what: "an OpenRaster layered image",
            },
            _ => Sniffed::Image { mime },
        },
        infer::MatcherType::Video | infer::MatcherType::Audio => Sniffed::Media { mime },
        infer::MatcherType::App => Sniffed::Other {
            mime,
            what: "a program or binary",
        },
        infer::MatcherType::Archive => Sniffed::Other {
            mime,
            what: "an archive or binary format",
        },
        infer::MatcherType::Book => Sniffed::Other {
            mime,
            what: "an e-book",
        },
        infer::MatcherType::Doc => Sniffed::Other {
            mime,
            what: "an office document",
        },
        infer::MatcherType::Font => Sniffed::Other {
            mime,
            what: "a font",
        },
        infer::MatcherType::Text => Sniffed::Other { mime, what: "text" },
        infer::MatcherType::Custom => Sniffed::Unknown,
    }
}

/// Camera RAW signatures `infer` does not know (it knows CR2, and TIFF covers DNG/NEF/ARW).
fn camera_raw(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"FUJIFILMCCD-RAW") {
        return Some("image/x-fuji-raf");
    }
    if head.starts_with(b"IIRO") || head.starts_with(b"IIRS") || head.starts_with(b"MMOR") {
        return Some("image/x-olympus-orf");
    }
    if head.starts_with(b"IIU\0") {
        return Some("image/x-panasonic-rw2");
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" && &head[8..12] == b"crx " {
        return Some("image/x-canon-cr3");
    }
    None
}

async fn read_head(path: &Path) -> Result<Vec<u8>, KindError> {
    let io_error = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            KindError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            KindError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    // Check before opening: opening a FIFO for reading would block.
    let meta = tokio::fs::metadata(path).await.map_err(io_error)?;
    if !meta.is_file() {
        return Err(KindError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if meta.len() == 0 {
        return Err(KindError::Empty {
            path: path.to_path_buf(),
        });
    }
    let file = tokio::fs::File::open(path).await.map_err(io_error)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .await
        .map_err(io_error)?;
    if head.is_empty() {
        return Err(KindError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(head)
}

async fn from_probe(
    path: &Path,
    sniffed: Option<&'static str>,
    options: ProbeOptions,
) -> Result<Detected, KindError> {
    let probe = match probe::probe_with(path, options).await {
        Ok(probe) => probe,
        Err(error) => return Err(probe_failure(path, sniffed, error)),
    };
    let summary = &probe.summary;
    let container = summary
        .container
        .clone()
        .unwrap_or_else(|| "an unknown container".into());
    if is_text_demuxer(&container) {
        return Err(KindError::Unsupported {
            path: path.to_path_buf(),
            found: format!(
                "its content is text (ffprobe would only render it as {container} ANSI/ASCII art)"
            ),
        });
    }
    let score = probe.ffprobe.format.as_ref().and_then(|f| f.probe_score);
    if let (None, Some(score)) = (sniffed, score)
        && score < MIN_GUESS_SCORE
    {
        return Err(KindError::Unsupported {
            path: path.to_path_buf(),
            found: format!(
                "its content has no known signature and ffprobe can only guess that it is \
                 {container} (confidence {score}/100)"
            ),
        });
    }

    if let Some(video) = summary.video() {
        if is_image_demuxer(&container) {
            let mime = sniffed.or_else(|| image_mime(video.codec.as_deref()));
            return Ok(Detected {
                kind: MediaKind::Image,
                mime: mime.unwrap_or("application/octet-stream").to_owned(),
                reason: format!(
                    "a still picture ffmpeg reads ({}, {})",
                    container,
                    video.codec.as_deref().unwrap_or("unknown codec")
                ),
                probe: Some(probe),
            });
        }
        let reason = format!(
            "video stream {} ({} {}x{})",
            video.index,
            video.codec.as_deref().unwrap_or("unknown codec"),
            video.width.unwrap_or(0),
            video.height.unwrap_or(0)
        );
        let mime = sniffed
            .map(video_variant)
            .or_else(|| container_mime(&container, false));
        return Ok(Detected {
            kind: MediaKind::Video,
            mime: mime.unwrap_or("application/octet-stream").to_owned(),
            probe: Some(probe),
            reason,
        });
    }

    if summary.has_audio() {
        let covers = summary.video_streams.iter().filter(|v| v.cover_art).count();
        let reason = format!(
            "{} audio track(s), no video{}",
            summary.audio_tracks.len(),
            if covers > 0 { " (only cover art)" } else { "" }
        );
        let mime = sniffed
            .map(audio_variant)
            .or_else(|| container_mime(&container, true));
        return Ok(Detected {
            kind: MediaKind::Audio,
            mime: mime.unwrap_or("application/octet-stream").to_owned(),
            probe: Some(probe),
            reason,
        });
    }

    let streams: Vec<String> = summary
        .video_streams
        .iter()
        .map(|v| format!("cover art ({})", v.codec.as_deref().unwrap_or("?")))
        .chain(
            summary
                .other_streams
                .iter()
                .map(|s| format!("{} ({})", s.codec_type, s.codec.as_deref().unwrap_or("?"))),
        )
        .collect();
    let found = if streams.is_empty() {
        format!("ffprobe reads it as {container} but finds no audio or video stream in it")
    } else {
        format!(
            "ffprobe reads it as {container} with no audio or video, only: {}",
            streams.join(", ")
        )
    };
    Err(KindError::Unsupported {
        path: path.to_path_buf(),
        found,
    })
}

fn probe_failure(path: &Path, sniffed: Option<&'static str>, error: ProbeError) -> KindError {
    let path = path.to_path_buf();
    match error {
        ProbeError::Unreadable { cause, .. } => match sniffed {
            Some(mime) => KindError::Unreadable {
                path,
                mime: mime.to_owned(),
                cause,
            },
            None => KindError::Unsupported {
                path,
                found: format!(
                    "its content has no known signature and ffprobe cannot read it ({cause})"
                ),
            },
        },
        ProbeError::BadOutput { cause, .. } => KindError::Unsupported {
            path,
            found: format!("ffprobe could not describe it ({cause})"),
        },
        ProbeError::NotFound { .. } => KindError::NotFound { path },
        ProbeError::NotAFile { .. } => KindError::NotAFile { path },
        ProbeError::Tool(source) => KindError::Tool { path, source },
        ProbeError::Io { source, .. } => KindError::Io { path, source },
    }
}

/// ffmpeg's readers that turn text into pictures (ANSI art, BinText, XBin, ...).
fn is_text_demuxer(container: &str) -> bool {
    container
        .split(',')
        .any(|name| matches!(name, "tty" | "bintext" | "xbin" | "adf" | "idf"))
}

/// ffmpeg's single-picture readers: "image2", "png_pipe", "ppm_pipe", ...
fn is_image_demuxer(container: &str) -> bool {
    container
        .split(',')
        .any(|name| name == "image2" || name.ends_with("_pipe"))
}

fn image_mime(codec: Option<&str>) -> Option<&'static str> {
    Some(match codec? {
        "mjpeg" | "jpegls" => "image/jpeg",
        "png" => "image/png",
        "bmp" => "image/bmp",
        "gif" => "image/gif",
        "tiff" => "image/tiff",
        "webp" => "image/webp",
        "jpeg2000" => "image/jp2",
        "ppm" => "image/x-portable-pixmap",
        "pgm" | "pgmyuv" => "image/x-portable-graymap",
        "pbm" => "image/x-portable-bitmap",
        "pam" => "image/x-portable-arbitrarymap",
        "qoi" => "image/qoi",
        "exr" => "image/x-exr",
        "dpx" => "image/x-dpx",
        "targa" => "image/x-tga",
        "sgi" => "image/x-sgi",
        "pcx" => "image/x-pcx",
        "xwd" => "image/x-xwindowdump",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// A MIME type for a container that had no signature `infer` knows.
fn container_mime(container: &str, audio_only: bool) -> Option<&'static str> {
    let names: Vec<&str> = container.split(',').collect();
    let has = |name: &str| names.contains(&name);
    Some(if has("mpegts") {
        "video/mp2t"
    } else if has("mov") || has("mp4") {
        if audio_only { "audio/mp4" } else { "video/mp4" }
    } else if has("matroska") || has("webm") {
        if audio_only {
            "audio/x-matroska"
        } else {
            "video/x-matroska"
        }
    } else if has("mp3") {
        "audio/mpeg"
    } else if has("aac") {
        "audio/aac"
    } else if has("wav") {
        "audio/x-wav"
    } else if has("flac") {
        "audio/x-flac"
    } else if has("ogg") {
        if audio_only { "audio/ogg" } else { "video/ogg" }
    } else if has("mpeg") {
        "video/mpeg"
    } else if has("mxf") {
        "application/mxf"
    } else if has("avi") {
        "video/x-msvideo"
    } else if has("ac3") || has("eac3") {
        "audio/ac3"
    } else {
        return None;
    })
}

/// The video MIME of a container sniffed as audio (Ogg holds Theora video too), for a file
/// holding video.
fn video_variant(mime: &'static str) -> &'static str {
    match mime {
        "audio/ogg" => "video/ogg",
        "audio/m4a" => "video/mp4",
        other => other,
    }
}

/// The audio MIME of a container sniffed as video, for a file holding audio only.
fn audio_variant(mime: &'static str) -> &'static str {
    match mime {
        "video/mp4" | "video/x-m4v" => "audio/mp4",
        "video/webm" => "audio/webm",
        "video/x-matroska" => "audio/x-matroska",
        "video/x-ms-wmv" => "audio/x-ms-wma",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_by_signature() {
        assert_eq!(
            sniff(b"%PDF-1.7\n"),
            Sniffed::Document {
                mime: "application/pdf"
            }
        );
        assert_eq!(
            sniff(b"junk\r\n%PDF-1.4"),
            Sniffed::Document {
                mime: "application/pdf"
            }
        );
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Sniffed::Image { mime: "image/jpeg" }
        );
        assert_eq!(
            sniff(b"FUJIFILMCCD-RAW 0201"),
            Sniffed::Image {
                mime: "image/x-fuji-raf"
            }
        );
        assert_eq!(
            sniff(b"\0\0\0\x18ftypcrx \0\0\0\x01"),
            Sniffed::Image {
                mime: "image/x-canon-cr3"
            }
        );
        assert_eq!(
            sniff(b"\0\0\0\x20ftypisom\0\0\x02\0"),
            Sniffed::Media { mime: "video/mp4" }
        );
        assert!(matches!(
            sniff(b"PK\x03\x04\x14\0\0\0"),
            Sniffed::Other { .. }
        ));
        assert_eq!(sniff(b"hello, world"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
    }

    #[test]
    fn image_demuxers() {
        assert!(is_image_demuxer("image2"));
        assert!(is_image_demuxer("ppm_pipe"));
        assert!(!is_image_demuxer("mov,mp4,m4a,3gp,3g2,mj2"));
    }
}
