//! Proxies of audio and video, through a transcoder port: ffmpeg locally, MediaConvert on AWS.
//!
//! [`ProxySpec::plan`] decides, purely from the probe, what to make (sizes, the audio track
//! choice, renditions); a [`Transcoder`] makes it. Both transcoders read the same spec, so the
//! local and AWS outputs have the same names and shapes.

pub mod captions;
pub mod ffmpeg;
#[cfg(feature = "aws")]
pub mod mediaconvert;
pub mod spec;

use std::path::PathBuf;

use async_trait::async_trait;
use mediasift_kit::Ports;
use serde::{Deserialize, Serialize};

pub use spec::{AudioChoice, ProxySpec, Rendition, VideoSize};

/// Where the transcoder reads the source from.
#[derive(Debug, Clone)]
pub struct SourceMedia {
    /// `s3://bucket/key` of the source object (what MediaConvert reads).
    pub uri: String,
    /// A local copy, when the handler made one (what ffmpeg reads).
    pub local_path: Option<PathBuf>,
}

/// Keys (in the derived bucket) of what a transcoder produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyOutputs {
    /// H.264 MP4 proxy (video only).
    pub proxy: Option<String>,
    /// No proxy was encoded: the source itself is the video's proxy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_as_proxy: bool,
    /// AAC `.m4a` of the chosen audio.
    pub audio_proxy: Option<String>,
    /// 16 kHz mono WAV.
    pub speech_audio: Option<String>,
    /// JSON [`FrameManifest`] (video only).
    pub frame_manifest: Option<String>,
    pub thumbnails: Vec<String>,
    /// (name, key), e.g. ("720p", "<assetId>/renditions/720p.mp4").
    pub renditions: Vec<(String, String)>,
}

/// The frame captures of a video: one JPEG per capture interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameManifest {
    /// Captures per second.
    pub rate: f64,
    pub width: u32,
    pub height: u32,
    pub frames: Vec<FrameCapture>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameCapture {
    /// The source frame number (0-based) the capture shows.
    pub frame_number: u64,
    /// Its presentation time from the start of the video, in seconds.
    pub timestamp_seconds: f64,
    /// Key in the derived bucket.
    pub key: String,
}

/// What starting a transcode gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// The outputs are written (local ffmpeg).
    Done(ProxyOutputs),
    /// A job is running; its `MediaConvert Job State Change` event continues ingest.
    Submitted { job_id: String },
}

/// Makes the proxies of a [`ProxySpec`].
#[async_trait]
pub trait Transcoder: Send + Sync {
    /// For logs and technical metadata, e.g. `ffmpeg 5.1.9`, `aws-mediaconvert`.
    fn name(&self) -> String;
    /// Whether it needs [`SourceMedia::local_path`] (ffmpeg does; MediaConvert reads S3).
    fn needs_local_source(&self) -> bool;
    /// Makes (or submits) the proxies, writing under `spec.output_prefix` of the derived bucket.
    async fn start(
        &self,
        spec: &ProxySpec,
        source: &SourceMedia,
        ports: &Ports,
    ) -> Result<Started, TranscodeError>;
}

#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// The media cannot be transcoded (corrupt, unsupported codec): a permanent failure.
    #[error("{0}")]
    Media(String),
    /// The tool or service is missing or misconfigured: a permanent failure until fixed.
    #[error("{0}")]
    Setup(String),
    /// Throttling, a store or service unavailable: retry.
    #[error("{0}")]
    Unavailable(String),
}
