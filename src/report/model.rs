//! The report's model: what the page shows and what `GET /assets/{id}` returns.

use schemars::JsonSchema;
use serde::Serialize;

/// Everything the report shows about one asset, from its latest processing run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetReport {
    pub asset_id: String,
    /// The file name it was uploaded as.
    pub name: String,
    /// `s3://bucket/key` of the source object.
    pub source: Option<String>,
    /// `video`, `audio`, `image` or `document`.
    pub media_type: String,
    /// `completed`, `partial`, `failed`, `ingested` (analyses still running) or `unfinished`.
    pub status: String,
    /// Why it is not `completed`, when it is not.
    pub cause: Option<String>,
    pub duration_seconds: Option<f64>,
    pub checksums: Checksums,
    /// The technical metadata ingest read (`a.b: value`).
    pub technical: Vec<Fact>,
    /// Each planned analysis's outcome and the features it skipped, with why.
    pub analyses: Vec<AnalysisOutcome>,
    /// The derived media the page plays or shows, as keys under the asset's folder of the
    /// derived bucket.
    pub media: Media,
    /// Timeline tracks of time-based media, in display order.
    pub tracks: Vec<Track>,
    pub loudness: Option<LoudnessCurve>,
    pub transcript: Vec<Segment>,
    pub keyphrases: Vec<String>,
    pub entities: Vec<Entity>,
    pub image: Option<ImageFacts>,
    pub pages: Vec<PageText>,
    /// Result documents that could not be read (the rest of the report stands).
    pub notes: Vec<String>,
}

impl AssetReport {
    /// The derived-bucket keys (relative to the asset's folder) of the media the page shows.
    /// Keys that could climb out of a folder are left out.
    pub fn media_files(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .media
            .proxy
            .iter()
            .chain(self.media.poster.iter())
            .chain(self.pages.iter().filter_map(|p| p.image.as_ref()))
            .filter(|key| is_plain_relative(key))
            .cloned()
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// A relative path of plain names: no `..`, `.`, empty segment, backslash or leading `/`.
pub fn is_plain_relative(key: &str) -> bool {
    !key.is_empty()
        && !key.contains('\\')
        && key
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Checksums {
    /// The MD5 ingest computed over the object's bytes.
    pub md5: Option<String>,
    /// `MATCHED`, `MISMATCHED`, `COMPUTED` (nothing to compare with), ...
    pub fixity: Option<String>,
    /// What the MD5 was compared with (`etag`, `metadata`, ...).
    pub compared_with: Option<String>,
    pub expected: Option<String>,
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisOutcome {
    /// `video`, `audio`, `image`, `document`, `scenes`, `adBreaks`.
    pub analysis: String,
    /// `completed`, `failed`, `not run`.
    pub status: String,
    pub cause: Option<String>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Skipped {
    pub feature: String,
    /// e.g. `no local backend`, `turned off in the asset's options`.
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Media {
    /// The video proxy (MP4), the audio proxy (M4A) or the image proxy (JPEG).
    pub proxy: Option<String>,
    /// A still to show before the video plays.
    pub poster: Option<String>,
}

/// One row of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Track {
    pub name: String,
    pub kind: TrackKind,
    pub items: Vec<TrackItem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TrackKind {
    Shots,
    Cues,
    Scenes,
    AdBreaks,
    Labels,
    People,
    Text,
    Moderation,
    Speech,
    Silence,
}

/// Something on the timeline: a span, or a point when `start == end` (an ad break).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TrackItem {
    /// Seconds from the start of the media.
    pub start: f64,
    pub end: f64,
    pub label: String,
    /// A confidence (0–100) or an ad-break score (0–1).
    pub score: Option<f64>,
    pub detail: Option<String>,
}

impl TrackItem {
    pub fn span(start: f64, end: f64, label: &str) -> Self {
        Self {
            start,
            end,
            label: label.to_owned(),
            score: None,
            detail: None,
        }
    }

    pub fn point(at: f64, label: &str) -> Self {
        Self::span(at, at, label)
    }
}

/// Momentary loudness (EBU R128, 400 ms windows) sampled every `interval_seconds`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoudnessCurve {
    /// The audio track (1-based) the curve is of.
    pub track: u64,
    pub interval_seconds: f64,
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub loudness_range_lu: Option<f64>,
    /// LUFS; `null` where the signal is below the measurement's floor.
    pub momentary_lufs: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Entity {
    pub text: String,
    /// `PERSON`, `LOCATION`, `ORGANIZATION`, `DATE`, ...
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageFacts {
    pub exif: Vec<Fact>,
    pub gps: Option<Gps>,
    /// The generative description, when a describer ran.
    pub description: Option<String>,
    pub detections: Vec<Detection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Gps {
    pub latitude: f64,
    pub longitude: f64,
    /// The place on OpenStreetMap (a link; the report fetches nothing).
    pub map_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Detection {
    /// `labels`, `faces`, `text`, `celebrities`, ...
    pub feature: String,
    pub name: String,
    pub confidence: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PageText {
    pub page: u64,
    /// `textLayer` or `ocr`.
    pub source: String,
    pub text: String,
    /// The page's image, a key under the asset's folder.
    pub image: Option<String>,
}
