//! The scene service: groups shots into scenes once an asset's video and audio analyses have
//! both arrived (a join by conditional writes, no orchestrator), with taxonomy per scene.

pub mod config;
pub mod describe;
pub mod descriptor;
pub mod grouping;
pub mod handler;
pub mod join;
pub mod report;
pub mod taxonomy;

pub use handler::{Backends, SceneConfig, Scenes};

use mediasift_kit::{Rule, Subscriptions};
use mediasift_schemas::{
    AudioAnalysisCompleted, EventDetail, ProcessingFailed, VideoAnalysisCompleted, sources,
};
use serde_json::json;

pub const SERVICE: &str = "scene";

/// The video and audio completions of assets whose plan includes scenes. Each arrival is
/// recorded; the scenes are built when the plan's set is complete.
pub fn subscriptions() -> Subscriptions {
    Subscriptions::new(
        SERVICE,
        vec![
            Rule::new(
                "analysis-completed",
                "Record a video or audio completion; build scenes when the asset's set is complete.",
                json!({
                    "source": [sources::VIDEO, sources::AUDIO],
                    "detail-type": [VideoAnalysisCompleted::DETAIL_TYPE, AudioAnalysisCompleted::DETAIL_TYPE],
                    "detail": {"plan": {"analyses": ["scenes"]}},
                }),
            ),
            Rule::new(
                "audio-failed",
                "Record that an asset's audio analysis failed: its scenes are built from the \
                 pictures alone.",
                json!({
                    "source": [sources::AUDIO],
                    "detail-type": [ProcessingFailed::DETAIL_TYPE],
                    "detail": {"analysis": ["audio"]},
                }),
            ),
        ],
    )
}

/// The AWS permissions the scene function's code needs (`contracts/iam/scene.json`).
pub fn permissions() -> mediasift_kit::iam::Permissions {
    use mediasift_kit::iam;
    mediasift_kit::iam::Permissions::new(
        SERVICE,
        vec![
            iam::derived_results(),
            iam::state(),
            iam::publish(),
            iam::bedrock(),
        ],
    )
}
