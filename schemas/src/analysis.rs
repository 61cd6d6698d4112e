//! `… Analysis Completed` events from the video, audio, image and document services. Each
//! carries a short summary and the URIs of its result documents; the results themselves stay
//! in the derived bucket.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::example;
use crate::common::*;
use crate::envelope::EventDetail;

/// `Video Analysis Completed`: shots, technical cues, frame selection and vision results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoAnalysisCompleted {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    /// The asset's plan, as ingest resolved it (downstream joins read it).
    pub plan: AnalysisPlan,
    pub summary: VideoAnalysisSummary,
    /// Result documents: `frames`, `shots`, `cues`, `labels`, `faces`, `text`, timelines, ...
    pub results: Vec<ResultRef>,
    /// Features that did not run, with the reason.
    #[serde(default)]
    pub skipped: Vec<SkippedFeature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoAnalysisSummary {
    pub duration_seconds: f64,
    pub shots: u32,
    /// Black, fade, colour-bar and similar cue segments.
    pub technical_cues: u32,
    pub frames_captured: u32,
    /// Frames sent to the vision backend after dynamic selection and near-duplicate reuse.
    pub frames_analysed: u32,
}

impl EventDetail for VideoAnalysisCompleted {
    const DETAIL_TYPE: &'static str = "Video Analysis Completed";
    const SCHEMA_NAME: &'static str = "VideoAnalysisCompleted";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("video", "2d4a1c8e-6a0f-4f55-9a0e-5b8f0d7c9e21"),
            plan: example::plan(&[
                AnalysisKind::Video,
                AnalysisKind::Audio,
                AnalysisKind::Scenes,
                AnalysisKind::AdBreaks,
            ]),
            summary: VideoAnalysisSummary {
                duration_seconds: 1325.48,
                shots: 214,
                technical_cues: 6,
                frames_captured: 1326,
                frames_analysed: 301,
            },
            results: vec![
                example::result(
                    "frames",
                    "video/frames.json",
                    Some("mediasift dynamic frames"),
                ),
                example::result("shots", "video/shots.json", Some("mediasift shot detector")),
                example::result("cues", "video/cues.json", Some("mediasift shot detector")),
                example::result("labels", "video/labels.json", Some("amazon-rekognition")),
                example::result(
                    "celebrities",
                    "video/celebrities.json",
                    Some("amazon-rekognition"),
                ),
                example::result("text", "video/text.json", Some("amazon-rekognition")),
                example::result("timelines", "video/timelines.json", None),
            ],
            skipped: vec![SkippedFeature {
                feature: "moderation".into(),
                reason: "turned off in options".into(),
            }],
        }
    }
}

/// `Audio Analysis Completed`: loudness per track, transcript, captions and language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioAnalysisCompleted {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub media_type: MediaType,
    pub plan: AnalysisPlan,
    pub summary: AudioAnalysisSummary,
    /// Result documents: `loudness`, `silences`, `transcript`, `transcript.txt`,
    /// `captions.vtt`, `captions.srt`, `keyphrases`, `entities`, `sentiment`, `chapters`.
    pub results: Vec<ResultRef>,
    #[serde(default)]
    pub skipped: Vec<SkippedFeature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioAnalysisSummary {
    pub duration_seconds: f64,
    /// Integrated loudness (LUFS) per audio track, in track order; `null` for a silent track.
    pub integrated_loudness: Vec<Option<f64>>,
    /// 1 for a track that carries sound, 0 for a silent one (max momentary < -50 LUFS).
    pub loudness_map: Vec<u8>,
    /// Detected or configured language of the speech (BCP-47).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub words: u32,
    /// The speech engine, e.g. `whisper tiny.en`, `amazon-transcribe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech_engine: Option<String>,
}

impl EventDetail for AudioAnalysisCompleted {
    const DETAIL_TYPE: &'static str = "Audio Analysis Completed";
    const SCHEMA_NAME: &'static str = "AudioAnalysisCompleted";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("audio", "2d4a1c8e-6a0f-4f55-9a0e-5b8f0d7c9e21"),
            media_type: MediaType::Video,
            plan: example::plan(&[
                AnalysisKind::Video,
                AnalysisKind::Audio,
                AnalysisKind::Scenes,
                AnalysisKind::AdBreaks,
            ]),
            summary: AudioAnalysisSummary {
                duration_seconds: 1325.48,
                integrated_loudness: vec![Some(-23.4)],
                loudness_map: vec![1],
                language: Some("en-US".into()),
                words: 3412,
                speech_engine: Some("whisper tiny.en".into()),
            },
            results: vec![
                example::result("loudness", "audio/loudness.json", Some("ebur128")),
                example::result("silences", "audio/silences.json", Some("ebur128")),
                example::result(
                    "transcript",
                    "audio/transcript.json",
                    Some("whisper tiny.en"),
                ),
                example::result("captions.vtt", "audio/captions.vtt", None),
                example::result("captions.srt", "audio/captions.srt", None),
                example::result(
                    "keyphrases",
                    "audio/keyphrases.json",
                    Some("mediasift yake"),
                ),
            ],
            skipped: vec![SkippedFeature {
                feature: "chapters".into(),
                reason: "no local backend".into(),
            }],
        }
    }
}

/// `Image Analysis Completed`: EXIF summary, perceptual hash and vision results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageAnalysisCompleted {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub plan: AnalysisPlan,
    pub summary: ImageAnalysisSummary,
    /// Result documents: `exif`, `labels`, `faces`, `text`, `moderation`, `description`, ...
    pub results: Vec<ResultRef>,
    #[serde(default)]
    pub skipped: Vec<SkippedFeature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageAnalysisSummary {
    /// 64-bit DCT perceptual hash, 16 hex digits.
    pub phash: String,
    pub labels: u32,
    pub faces: u32,
    /// Words of on-screen text found.
    pub words: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// Celebrities recognised.
    #[serde(default)]
    pub celebrities: u32,
    /// When it was taken, ISO 8601 local time with the UTC offset when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
    /// Make and model, e.g. `Xiaomi Mi A3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    /// Images and video frames of the library already within the near-duplicate distance
    /// when this one was analysed (`near-duplicates` lists them).
    #[serde(default)]
    pub near_duplicates: u32,
}

/// WGS 84 position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude_meters: Option<f64>,
}

impl EventDetail for ImageAnalysisCompleted {
    const DETAIL_TYPE: &'static str = "Image Analysis Completed";
    const SCHEMA_NAME: &'static str = "ImageAnalysisCompleted";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("image", "2d4a1c8e-6a0f-4f55-9a0e-5b8f0d7c9e21"),
            plan: example::plan(&[AnalysisKind::Image]),
            summary: ImageAnalysisSummary {
                phash: "c3a5e1f00f1e3c78".into(),
                labels: 12,
                faces: 2,
                words: 5,
                location: Some(GeoPoint {
                    latitude: 51.500_729,
                    longitude: -0.124_625,
                    altitude_meters: Some(12.4),
                }),
                celebrities: 0,
                captured_at: Some("2020-08-27T23:16:12.007419-03:00".into()),
                camera: Some("Xiaomi Mi A3".into()),
                near_duplicates: 1,
            },
            results: vec![
                example::result("exif", "image/exif.json", Some("exiftool")),
                example::result("text", "image/text.json", Some("tesseract 5.3")),
            ],
            skipped: vec![
                SkippedFeature {
                    feature: "labels".into(),
                    reason: "no local backend".into(),
                },
                SkippedFeature {
                    feature: "description".into(),
                    reason: "no local backend".into(),
                },
            ],
        }
    }
}

/// `Document Analysis Completed`: page text (text layer or OCR), keyphrases and entities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentAnalysisCompleted {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub plan: AnalysisPlan,
    pub summary: DocumentAnalysisSummary,
    /// Result documents: `pages` (JSON), `text` (plain), `keyphrases`, `entities`, ...
    pub results: Vec<ResultRef>,
    #[serde(default)]
    pub skipped: Vec<SkippedFeature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentAnalysisSummary {
    pub pages: u32,
    /// Pages whose text came from OCR because they had no text layer.
    pub ocr_pages: u32,
    pub words: u32,
    /// True when the document stayed encrypted (no password given); only metadata was read.
    pub encrypted: bool,
}

impl EventDetail for DocumentAnalysisCompleted {
    const DETAIL_TYPE: &'static str = "Document Analysis Completed";
    const SCHEMA_NAME: &'static str = "DocumentAnalysisCompleted";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("document", "2d4a1c8e-6a0f-4f55-9a0e-5b8f0d7c9e21"),
            plan: example::plan(&[AnalysisKind::Document]),
            summary: DocumentAnalysisSummary {
                pages: 2,
                ocr_pages: 1,
                words: 914,
                encrypted: false,
            },
            results: vec![
                example::result("pages", "document/pages.json", Some("poppler 22.12")),
                example::result("text", "document/text.txt", None),
                example::result(
                    "keyphrases",
                    "document/keyphrases.json",
                    Some("mediasift yake"),
                ),
            ],
            skipped: vec![],
        }
    }
}
