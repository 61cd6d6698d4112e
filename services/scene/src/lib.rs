//! The scene service: groups shots into scenes once an asset's video and audio analyses have
//! both arrived (a join by conditional writes, no orchestrator), with taxonomy per scene.
//!
//! Its handler arrives with the scenes and ad breaks issue; for now the crate declares what it
//! subscribes to.

use mediasift_kit::{Rule, Subscriptions};
use mediasift_schemas::{AudioAnalysisCompleted, EventDetail, VideoAnalysisCompleted, sources};
use serde_json::json;

pub const SERVICE: &str = "scene";

/// The video and audio completions of assets whose plan includes scenes. Each arrival is
/// recorded; the scenes are built when the plan's set is complete.
pub fn subscriptions() -> Subscriptions {
    Subscriptions::new(
        SERVICE,
        vec![Rule::new(
            "analysis-completed",
            "Record a video or audio completion; build scenes when the asset's set is complete.",
            json!({
                "source": [sources::VIDEO, sources::AUDIO],
                "detail-type": [VideoAnalysisCompleted::DETAIL_TYPE, AudioAnalysisCompleted::DETAIL_TYPE],
                "detail": {"plan": {"analyses": ["scenes"]}},
            }),
        )],
    )
}
