//! `Asset Analysis Completed`: the one event a third party waits for.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::example;
use crate::common::*;
use crate::envelope::EventDetail;

/// `Asset Analysis Completed`: every planned analysis of the asset has completed or failed.
/// Emitted exactly once per asset by the graph service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetAnalysisCompleted {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    pub media_type: MediaType,
    pub source: SourceObject,
    /// `completed` when every analysis completed, `partial` when some failed.
    pub status: AssetStatus,
    /// One entry per planned analysis.
    pub analyses: Vec<AnalysisOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AssetStatus {
    Completed,
    Partial,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OutcomeStatus {
    Completed,
    Failed,
}

/// What one planned analysis did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisOutcome {
    pub analysis: AnalysisKind,
    pub status: OutcomeStatus,
    /// Id of the completion (or `Processing Failed`) event.
    pub event_id: String,
    #[serde(default)]
    pub results: Vec<ResultRef>,
    /// For a failure: the cause, as `Processing Failed` gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl EventDetail for AssetAnalysisCompleted {
    const DETAIL_TYPE: &'static str = "Asset Analysis Completed";
    const SCHEMA_NAME: &'static str = "AssetAnalysisCompleted";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        let outcome = |analysis, event_id: &str, results| AnalysisOutcome {
            analysis,
            status: OutcomeStatus::Completed,
            event_id: event_id.into(),
            results,
            cause: None,
        };
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("graph", "9b8a7c6d-5e4f-4321-8765-4a3b2c1d0e9f"),
            media_type: MediaType::Video,
            source: example::source(
                "news/2026/Evening Bulletin – 21 Nov.mp4",
                734_003_200,
                "5c5e1b4c2a4f2bf3b0c4a3d21f0e9b7a-88",
            ),
            status: AssetStatus::Completed,
            analyses: vec![
                outcome(
                    AnalysisKind::Video,
                    "2f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2910",
                    vec![example::result("shots", "video/shots.json", None)],
                ),
                outcome(
                    AnalysisKind::Audio,
                    "3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d",
                    vec![example::result("transcript", "audio/transcript.json", None)],
                ),
                outcome(
                    AnalysisKind::Scenes,
                    "4b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d1e",
                    vec![example::result("scenes", "scene/scenes.json", None)],
                ),
                outcome(
                    AnalysisKind::AdBreaks,
                    "5c4d3e2f-1a0b-4c9d-8e7f-7a6b5c4d3e2f",
                    vec![example::result("vmap.xml", "adbreak/vmap.xml", None)],
                ),
            ],
        }
    }
}
