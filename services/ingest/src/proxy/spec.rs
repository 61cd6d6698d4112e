//! What proxies to make, decided purely from the probe and the options.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Everything a transcoder needs to know; the same for ffmpeg and MediaConvert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxySpec {
    pub asset_id: Uuid,
    /// `<assetId>/` in the derived bucket; every output key starts with it.
    pub output_prefix: String,
    pub derived_bucket: String,
    /// Source duration, seconds (for frame timestamps and thumbnail spacing).
    pub duration_seconds: f64,
    /// The video to proxy; `None` for audio-only assets.
    pub video: Option<VideoSpec>,
    /// The audio to proxy; `None` without audio.
    pub audio: Option<AudioChoice>,
    /// Frame captures per second (video only).
    pub frame_capture_rate: f64,
    /// Up to this many thumbnails, evenly spread (video only).
    pub thumbnails: u32,
    /// Extra renditions, already filtered to those not above the source.
    pub renditions: Vec<Rendition>,
}

/// The video stream and the sizes made from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoSpec {
    /// ffprobe stream index of the video.
    pub stream_index: u32,
    /// Source display size (after rotation and sample aspect).
    pub source: VideoSize,
    /// Nominal frame rate (frames per second).
    pub frames_per_second: f64,
    /// The proxy's size: fitted into 960x540, never upscaled, aspect kept, even.
    pub proxy: VideoSize,
    /// Frame captures' size (≤ 960x540).
    pub frames: VideoSize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoSize {
    pub width: u32,
    pub height: u32,
}

/// Which audio goes into the audio proxy and the speech WAV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum AudioChoice {
    /// One track as it is (the only track, or the first with two or more channels).
    Track { index: u32, channels: u32 },
    /// Several mono tracks mixed to stereo.
    MixMono { indexes: Vec<u32> },
}

/// An extra rendition, e.g. `720p`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rendition {
    /// `720p`.
    pub name: String,
    pub size: VideoSize,
}
