//! `… Ingested` events from the ingest service: the asset's identity, fixity, technical
//! summary, proxies, and the plan of analyses that will follow.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::example;
use crate::common::*;
use crate::envelope::EventDetail;

/// `Video Ingested`: a video asset is identified, checked and proxied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoIngested {
    /// Stable for the same object version; `x-amz-meta-uuid` when the uploader set it.
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub source: SourceObject,
    pub fixity: Fixity,
    pub technical: VideoSummary,
    /// The analyses that will follow, with their options.
    pub plan: AnalysisPlan,
    pub outputs: VideoIngestOutputs,
}

/// Technical facts of a video, from ffprobe (and mediainfo where it knows better).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoSummary {
    /// Container format, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
    pub duration_seconds: f64,
    pub video_codec: String,
    pub width: u32,
    pub height: u32,
    /// Frame rate as a rational, e.g. `30000/1001`.
    pub frame_rate: String,
    pub frames_per_second: f64,
    /// Variable frame rate, as mediainfo reports it.
    #[serde(default)]
    pub variable_frame_rate: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_count: Option<u64>,
    /// SMPTE start timecode from the container, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timecode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u64>,
    pub audio_tracks: Vec<AudioTrack>,
}

/// What ingest produced for a video, all under `<assetId>/` in the derived bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoIngestOutputs {
    /// The full technical metadata (ffprobe, mediainfo) as JSON.
    pub technical_metadata: String,
    /// H.264 MP4 proxy fitted into 960x540; the source's own URI where the deployment
    /// encodes no proxy (local `[ingest] video-proxy = false`).
    pub proxy: String,
    /// AAC audio proxy of the default track choice; absent without audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_proxy: Option<String>,
    /// 16 kHz mono WAV for speech; absent without audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech_audio: Option<String>,
    /// JSON manifest of the frame captures (frame number, timestamp, URI of each JPEG).
    pub frame_captures: String,
    #[serde(default)]
    pub thumbnails: Vec<String>,
    /// Extra renditions, by name (`720p`).
    #[serde(default)]
    pub renditions: Vec<ResultRef>,
    /// Sidecar captions found beside the source, as WebVTT.
    #[serde(default)]
    pub captions: Vec<String>,
}

impl EventDetail for VideoIngested {
    const DETAIL_TYPE: &'static str = "Video Ingested";
    const SCHEMA_NAME: &'static str = "VideoIngested";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("ingest", "17793124-05d4-b198-2fde-7ededc63b103"),
            source: example::source(
                "news/2026/Evening Bulletin – 21 Nov.mp4",
                734_003_200,
                "5c5e1b4c2a4f2bf3b0c4a3d21f0e9b7a-88",
            ),
            fixity: example::fixity("9e107d9d372bb6826bd81d3542a419d6"),
            technical: VideoSummary {
                container: "mov,mp4,m4a,3gp,3g2,mj2".into(),
                duration_seconds: 1325.48,
                video_codec: "h264".into(),
                width: 1920,
                height: 1080,
                frame_rate: "30000/1001".into(),
                frames_per_second: 29.97,
                variable_frame_rate: false,
                frame_count: Some(39724),
                start_timecode: Some("10:00:00;00".into()),
                bit_rate: Some(4_430_000),
                audio_tracks: vec![example::stereo_track(1)],
            },
            plan: example::plan(&[
                AnalysisKind::Video,
                AnalysisKind::Audio,
                AnalysisKind::Scenes,
                AnalysisKind::AdBreaks,
            ]),
            outputs: VideoIngestOutputs {
                technical_metadata: example::derived("ingest/technical.json"),
                proxy: example::derived("proxy/proxy.mp4"),
                audio_proxy: Some(example::derived("proxy/audio.m4a")),
                speech_audio: Some(example::derived("proxy/speech.wav")),
                frame_captures: example::derived("frames/manifest.json"),
                thumbnails: vec![example::derived("thumbnails/thumb-000.jpg")],
                renditions: vec![example::result("720p", "renditions/720p.mp4", None)],
                captions: vec![],
            },
        }
    }
}

/// `Audio Ingested`: an audio asset (or a video container with no video stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioIngested {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub source: SourceObject,
    pub fixity: Fixity,
    pub technical: AudioSummary,
    pub plan: AnalysisPlan,
    pub outputs: AudioIngestOutputs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioSummary {
    pub container: String,
    pub duration_seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u64>,
    pub audio_tracks: Vec<AudioTrack>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioIngestOutputs {
    pub technical_metadata: String,
    /// AAC `.m4a` proxy.
    pub audio_proxy: String,
    /// 16 kHz mono WAV for speech.
    pub speech_audio: String,
    #[serde(default)]
    pub captions: Vec<String>,
}

impl EventDetail for AudioIngested {
    const DETAIL_TYPE: &'static str = "Audio Ingested";
    const SCHEMA_NAME: &'static str = "AudioIngested";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("ingest", "17793124-05d4-b198-2fde-7ededc63b103"),
            source: example::source(
                "radio/interview-2026-11-20.wav",
                105_840_044,
                "1f3870be274f6c49b3e31a0c6728957f",
            ),
            fixity: example::fixity("1f3870be274f6c49b3e31a0c6728957f"),
            technical: AudioSummary {
                container: "wav".into(),
                duration_seconds: 600.0,
                bit_rate: Some(1_411_200),
                audio_tracks: vec![AudioTrack {
                    index: 0,
                    codec: "pcm_s16le".into(),
                    channels: 2,
                    sample_rate: 44_100,
                    language: None,
                }],
            },
            plan: example::plan(&[AnalysisKind::Audio]),
            outputs: AudioIngestOutputs {
                technical_metadata: example::derived("ingest/technical.json"),
                audio_proxy: example::derived("proxy/audio.m4a"),
                speech_audio: example::derived("proxy/speech.wav"),
                captions: vec![],
            },
        }
    }
}

/// `Image Ingested`: a still image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageIngested {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub source: SourceObject,
    pub fixity: Fixity,
    pub technical: ImageSummary,
    pub plan: AnalysisPlan,
    pub outputs: ImageIngestOutputs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageSummary {
    /// `jpeg`, `png`, `heic`, `dng`, ...
    pub format: String,
    /// As displayed, after EXIF orientation.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1–8, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_space: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageIngestOutputs {
    /// EXIF/XMP/IPTC and format facts as JSON.
    pub technical_metadata: String,
    /// Auto-oriented JPEG proxy, at most 5 MB.
    pub proxy: String,
    pub thumbnail: String,
}

impl EventDetail for ImageIngested {
    const DETAIL_TYPE: &'static str = "Image Ingested";
    const SCHEMA_NAME: &'static str = "ImageIngested";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("ingest", "17793124-05d4-b198-2fde-7ededc63b103"),
            source: example::source(
                "photos/IMG_4211.JPG",
                3_481_922,
                "c4ca4238a0b923820dcc509a6f75849b",
            ),
            fixity: example::fixity("c4ca4238a0b923820dcc509a6f75849b"),
            technical: ImageSummary {
                format: "jpeg".into(),
                width: 3024,
                height: 4032,
                orientation: Some(6),
                color_space: Some("sRGB".into()),
            },
            plan: example::plan(&[AnalysisKind::Image]),
            outputs: ImageIngestOutputs {
                technical_metadata: example::derived("ingest/technical.json"),
                proxy: example::derived("proxy/proxy.jpg"),
                thumbnail: example::derived("thumbnails/thumb.jpg"),
            },
        }
    }
}

/// `Document Ingested`: a PDF (or other paged document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentIngested {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub source: SourceObject,
    pub fixity: Fixity,
    pub technical: DocumentSummary,
    pub plan: AnalysisPlan,
    pub outputs: DocumentIngestOutputs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentSummary {
    /// `pdf`.
    pub format: String,
    /// Unknown (absent) for an encrypted document without its password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    pub encrypted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
    /// How many pages carry a text layer (the rest need OCR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_with_text: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentIngestOutputs {
    pub technical_metadata: String,
    /// One PNG per page, in page order.
    #[serde(default)]
    pub page_images: Vec<String>,
}

impl EventDetail for DocumentIngested {
    const DETAIL_TYPE: &'static str = "Document Ingested";
    const SCHEMA_NAME: &'static str = "DocumentIngested";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("ingest", "17793124-05d4-b198-2fde-7ededc63b103"),
            source: example::source(
                "contracts/rights-agreement.pdf",
                248_113,
                "45c48cce2e2d7fbdea1afc51c7c6ad26",
            ),
            fixity: example::fixity("45c48cce2e2d7fbdea1afc51c7c6ad26"),
            technical: DocumentSummary {
                format: "pdf".into(),
                pages: Some(2),
                encrypted: false,
                producer: Some("LibreOffice 7.4".into()),
                pages_with_text: Some(1),
            },
            plan: example::plan(&[AnalysisKind::Document]),
            outputs: DocumentIngestOutputs {
                technical_metadata: example::derived("ingest/technical.json"),
                page_images: vec![
                    example::derived("pages/page-0001.png"),
                    example::derived("pages/page-0002.png"),
                ],
            },
        }
    }
}

/// `Ingest Hashing Continued`: ingest's note to itself that an object's checksum is only
/// partly computed. An object too large to hash within one invocation's time budget is hashed
/// in slices; each slice ends by publishing this event with the saved hash state, and the next
/// invocation resumes with a ranged read from `bytesHashed`. Ingest alone consumes it; it is in
/// the catalog because it rides the bus like every other event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestHashingContinued {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    /// The object being hashed; a different ETag or version on resume means it was replaced,
    /// and the new object's own `Object Created` takes over.
    pub source: SourceObject,
    pub progress: HashingProgress,
}

/// How far hashing has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HashingProgress {
    /// Bytes hashed so far: the next slice starts here.
    pub bytes_hashed: u64,
    /// The object's size.
    pub total_bytes: u64,
    /// Slices hashed so far.
    pub slices: u32,
    /// The saved hash state (opaque, versioned and checked by ingest; about 250 bytes).
    pub state: serde_json::Value,
}

impl EventDetail for IngestHashingContinued {
    const DETAIL_TYPE: &'static str = "Ingest Hashing Continued";
    const SCHEMA_NAME: &'static str = "IngestHashingContinued";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("ingest", "17793124-05d4-b198-2fde-7ededc63b103"),
            source: example::source(
                "archive/master-reel-07.mxf",
                412_316_860_416,
                "0f1e2d3c4b5a69788796a5b4c3d2e1f0-7860",
            ),
            progress: HashingProgress {
                bytes_hashed: 96_636_764_160,
                total_bytes: 412_316_860_416,
                slices: 1,
                state: serde_json::json!({
                    "version": 1,
                    "bytes_hashed": 96_636_764_160_u64,
                    "md5": "0123456789abcdeffedcba98765432100000000000000000",
                    "check": "5e0c8a1f3b2d4c6e"
                }),
            },
        }
    }
}
