//! `Scenes Detected` (scene service) and `Ad Breaks Detected` (adbreak service).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::example;
use crate::common::*;
use crate::envelope::EventDetail;

/// `Scenes Detected`: shots grouped into scenes, each with taxonomy and a transcript excerpt.
/// Emitted once per asset, when its video (and, if planned, audio) analyses have both arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScenesDetected {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub plan: AnalysisPlan,
    pub summary: ScenesSummary,
    /// Result documents: `scenes`, `chapters.vtt`, ...
    pub results: Vec<ResultRef>,
    /// The analysis results the scenes were built from (`shots`, `loudness`, `transcript`, ...),
    /// so ad-break placement needs no other event.
    pub inputs: Vec<ResultRef>,
    #[serde(default)]
    pub skipped: Vec<SkippedFeature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScenesSummary {
    pub duration_seconds: f64,
    pub scenes: u32,
    pub shots: u32,
}

impl EventDetail for ScenesDetected {
    const DETAIL_TYPE: &'static str = "Scenes Detected";
    const SCHEMA_NAME: &'static str = "ScenesDetected";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("scene", "5e0c2b9a-3f1d-4c7e-8b6a-1d2e3f4a5b6c"),
            plan: example::plan(&[
                AnalysisKind::Video,
                AnalysisKind::Audio,
                AnalysisKind::Scenes,
                AnalysisKind::AdBreaks,
            ]),
            summary: ScenesSummary {
                duration_seconds: 1325.48,
                scenes: 31,
                shots: 214,
            },
            results: vec![
                example::result(
                    "scenes",
                    "scene/scenes.json",
                    Some("all-MiniLM-L6 zero-shot IAB"),
                ),
                example::result("chapters.vtt", "scene/chapters.vtt", None),
            ],
            inputs: vec![
                example::result("shots", "video/shots.json", Some("mediasift shot detector")),
                example::result("loudness", "audio/loudness.json", Some("ebur128")),
                example::result(
                    "transcript",
                    "audio/transcript.json",
                    Some("whisper tiny.en"),
                ),
            ],
            skipped: vec![SkippedFeature {
                feature: "garm".into(),
                reason: "no local backend".into(),
            }],
        }
    }
}

/// `Ad Breaks Detected`: ranked ad-break positions at scene boundaries, with VMAP and EDL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdBreaksDetected {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub plan: AnalysisPlan,
    /// The chosen breaks, in time order.
    pub breaks: Vec<AdBreak>,
    /// Result documents: `adbreaks` (JSON with every candidate), `vmap.xml`, `edl`, ...
    pub results: Vec<ResultRef>,
}

/// One chosen break. Few enough to carry inline (one per few minutes of content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdBreak {
    pub seconds: f64,
    /// SMPTE timecode of the break.
    pub timecode: String,
    /// 0–1, higher is a better place to break.
    pub score: f64,
    /// 1 is the best break.
    pub rank: u32,
}

impl EventDetail for AdBreaksDetected {
    const DETAIL_TYPE: &'static str = "Ad Breaks Detected";
    const SCHEMA_NAME: &'static str = "AdBreaksDetected";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("adbreak", "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d"),
            plan: example::plan(&[
                AnalysisKind::Video,
                AnalysisKind::Audio,
                AnalysisKind::Scenes,
                AnalysisKind::AdBreaks,
            ]),
            breaks: vec![
                AdBreak {
                    seconds: 361.128,
                    timecode: "10:06:01;04".into(),
                    score: 0.91,
                    rank: 1,
                },
                AdBreak {
                    seconds: 722.689,
                    timecode: "10:12:02;21".into(),
                    score: 0.77,
                    rank: 2,
                },
            ],
            results: vec![
                example::result("adbreaks", "adbreak/adbreaks.json", None),
                example::result("vmap.xml", "adbreak/vmap.xml", None),
                example::result("edl", "adbreak/breaks.edl", None),
            ],
        }
    }
}
