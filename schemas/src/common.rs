//! Types shared by several details.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tracing facts every mediasift event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata {
    /// Shared by every event of one asset's processing: the id of the event that started it
    /// (usually the S3 `Object Created` event).
    pub correlation_id: String,
    /// The id of the event that caused this one.
    pub causation_id: String,
    /// The service that produced the event, e.g. `mediasift-video`.
    pub producer: String,
    /// The producing service's version.
    pub producer_version: String,
}

/// What kind of media an asset is, decided by content, not by file extension.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum MediaType {
    Video,
    Audio,
    Image,
    Document,
}

/// An analysis an asset can get; each ends with exactly one completion (or `Processing Failed`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum AnalysisKind {
    /// `Video Analysis Completed` from the video service.
    Video,
    /// `Audio Analysis Completed` from the audio service.
    Audio,
    /// `Image Analysis Completed` from the image service.
    Image,
    /// `Document Analysis Completed` from the document service.
    Document,
    /// `Scenes Detected` from the scene service.
    Scenes,
    /// `Ad Breaks Detected` from the adbreak service.
    AdBreaks,
}

impl AnalysisKind {
    /// The detail-type of the event that completes this analysis.
    pub fn completion_detail_type(self) -> &'static str {
        match self {
            Self::Video => "Video Analysis Completed",
            Self::Audio => "Audio Analysis Completed",
            Self::Image => "Image Analysis Completed",
            Self::Document => "Document Analysis Completed",
            Self::Scenes => "Scenes Detected",
            Self::AdBreaks => "Ad Breaks Detected",
        }
    }
}

/// The analyses an asset will get, and with which options: resolved once by ingest (asset
/// override, then global settings, then defaults) and carried forward, so no service waits for
/// an analysis that will never come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisPlan {
    /// Every analysis that will complete (or fail) for this asset.
    pub analyses: Vec<AnalysisKind>,
    #[serde(default)]
    pub options: AnalysisOptions,
}

impl AnalysisPlan {
    pub fn includes(&self, analysis: AnalysisKind) -> bool {
        self.analyses.contains(&analysis)
    }
}

/// Analysis options. Every field has a default, so a partial object is valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisOptions {
    /// Results below this confidence (0–100) are dropped.
    pub min_confidence: f64,
    /// Frame captures per second for dynamic frame analysis.
    pub frame_capture_rate: f64,
    /// Vision features to run on selected frames and images.
    pub vision: VisionOptions,
    /// Speech to text (and captions) on audio tracks.
    pub transcribe: bool,
    /// BCP-47 language of the speech when known; identified automatically when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Keyphrases, entities and sentiment of transcripts and document text.
    pub language_analysis: bool,
    /// Generative descriptions (Bedrock on AWS; no local backend).
    pub generative: bool,
    /// Ad-break spacing in seconds; the content-length ladder when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_break_interval_seconds: Option<f64>,
    /// Seconds of content before the first ad break may be placed; one spacing when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_break_offset_seconds: Option<f64>,
    /// Extra proxy renditions by height (360, 480, 720, 1080); any above the source is skipped.
    pub renditions: Vec<u32>,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self {
            min_confidence: 80.0,
            frame_capture_rate: 1.0,
            vision: VisionOptions::default(),
            transcribe: true,
            language: None,
            language_analysis: true,
            generative: true,
            ad_break_interval_seconds: None,
            ad_break_offset_seconds: None,
            renditions: Vec::new(),
        }
    }
}

/// Which vision features run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct VisionOptions {
    pub labels: bool,
    pub faces: bool,
    pub celebrities: bool,
    /// Search unrecognised faces in the face collection, and index new ones.
    pub face_match: bool,
    pub text: bool,
    pub moderation: bool,
}

impl Default for VisionOptions {
    fn default() -> Self {
        Self {
            labels: true,
            faces: true,
            celebrities: true,
            face_match: true,
            text: true,
            moderation: true,
        }
    }
}

/// The object an asset was ingested from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceObject {
    pub bucket: String,
    /// The object key, decoded (as stored, not URL-encoded).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `s3://bucket/key`.
    pub uri: String,
}

/// The outcome of comparing the computed checksum with the one the uploader supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FixityStatus {
    /// The computed MD5 equals the reference.
    Matched,
    /// The computed MD5 differs from the reference: the object may be corrupt.
    NotMatched,
    /// No reference was available to compare with.
    Skipped,
}

/// Where the reference checksum came from, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FixityReference {
    /// The `x-amz-meta-md5` user metadata.
    Metadata,
    /// A `computed-md5` object tag.
    Tag,
    /// The ETag of a single-part upload (which is its MD5).
    Etag,
}

/// Identity and integrity of an asset's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fixity {
    /// Lower-case hex MD5 of the whole object.
    pub md5: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub status: FixityStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_with: Option<FixityReference>,
    /// The reference value compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// A full-object checksum S3 already holds for the object (e.g. `CRC64NVME`), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_checksum: Option<StoredChecksum>,
}

/// A checksum S3 stores with an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredChecksum {
    /// `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1` or `SHA256`.
    pub algorithm: String,
    /// As S3 reports it (base64).
    pub value: String,
}

/// One audio track of a media file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioTrack {
    /// Stream index in the container.
    pub index: u32,
    pub codec: String,
    pub channels: u32,
    pub sample_rate: u32,
    /// ISO 639 language tag from the container, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A feature that did not run, and why (e.g. `skipped: no local backend`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedFeature {
    /// E.g. `celebrities`, `generative`, `keyphrases`.
    pub feature: String,
    /// E.g. `no local backend`, `turned off in options`, `language not supported`.
    pub reason: String,
}

impl SkippedFeature {
    pub fn new(feature: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            feature: feature.into(),
            reason: reason.into(),
        }
    }
}

/// A named result document in the derived bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultRef {
    /// What the document holds, e.g. `shots`, `labels`, `transcript`, `captions.vtt`.
    pub name: String,
    /// `s3://derived-bucket/<assetId>/...`.
    pub uri: String,
    /// Which engine produced it, e.g. `tesseract 5.3`, `amazon-rekognition`, `whisper tiny.en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

impl ResultRef {
    /// The result `name` at `uri`, produced by `engine`.
    pub fn new(name: impl Into<String>, uri: impl Into<String>, engine: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            uri: uri.into(),
            engine: Some(engine.into()),
        }
    }
}

/// The S3 user metadata (`x-amz-meta-mediasift-options`) holding one asset's own analysis
/// options, a JSON object.
pub const OPTIONS_METADATA: &str = "mediasift-options";
/// The key of an encrypted PDF's password in an asset's own options. It is never part of the
/// plan nor of any event: the document service reads it from the source object's metadata.
pub const PDF_PASSWORD_OPTION: &str = "pdfPassword";

/// Shared values for the examples, so the catalog tells one consistent story.
pub(crate) mod example {
    use super::*;
    use uuid::Uuid;

    pub const ASSET_ID: Uuid = Uuid::from_u128(0x0b9d3d4e_8c51_5f6a_9a43_2f1f3c7e5d10);
    pub const DERIVED: &str =
        "s3://mediasift-derived-123456789012/0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10";

    pub fn metadata(producer: &str, causation_id: &str) -> EventMetadata {
        EventMetadata {
            correlation_id: "17793124-05d4-b198-2fde-7ededc63b103".into(),
            causation_id: causation_id.into(),
            producer: format!("mediasift-{producer}"),
            producer_version: "0.1.0".into(),
        }
    }

    pub fn derived(path: &str) -> String {
        format!("{DERIVED}/{path}")
    }

    pub fn result(name: &str, path: &str, engine: Option<&str>) -> ResultRef {
        ResultRef {
            name: name.into(),
            uri: derived(path),
            engine: engine.map(Into::into),
        }
    }

    pub fn source(key: &str, size: u64, etag: &str) -> SourceObject {
        SourceObject {
            bucket: "mediasift-ingest-123456789012".into(),
            key: key.into(),
            version_id: Some("Jf8q3b1TqN2c3mQp0K8c0l5Qxw3G2xYz".into()),
            size,
            etag: Some(etag.into()),
            uri: format!("s3://mediasift-ingest-123456789012/{key}"),
        }
    }

    pub fn fixity(md5: &str) -> Fixity {
        Fixity {
            md5: md5.into(),
            sha256: None,
            status: FixityStatus::Matched,
            compared_with: Some(FixityReference::Metadata),
            expected: Some(md5.into()),
            s3_checksum: Some(StoredChecksum {
                algorithm: "CRC64NVME".into(),
                value: "vEKfYQhu4uo=".into(),
            }),
        }
    }

    pub fn plan(analyses: &[AnalysisKind]) -> AnalysisPlan {
        AnalysisPlan {
            analyses: analyses.to_vec(),
            options: AnalysisOptions::default(),
        }
    }

    pub fn stereo_track(index: u32) -> AudioTrack {
        AudioTrack {
            index,
            codec: "aac".into(),
            channels: 2,
            sample_rate: 48_000,
            language: Some("eng".into()),
        }
    }
}
