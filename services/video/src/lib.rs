//! The video service: dynamic frame analysis, shots and technical cues, vision on selected
//! frames.

pub mod config;
pub mod faces;
pub mod handler;
pub mod timeline;
pub use mediasift_kit::vision;

pub use handler::{Video, VideoConfig};

use mediasift_kit::{Rule, Subscriptions};
use mediasift_schemas::{EventDetail, VideoIngested, sources};
use serde_json::json;

pub const SERVICE: &str = "video";

/// Videos whose plan includes video analysis.
pub fn subscriptions() -> Subscriptions {
    Subscriptions::new(
        SERVICE,
        vec![Rule::new(
            "video-ingested",
            "Analyse a newly ingested video.",
            json!({
                "source": [sources::INGEST],
                "detail-type": [VideoIngested::DETAIL_TYPE],
                "detail": {"plan": {"analyses": ["video"]}},
            }),
        )],
    )
}

/// The AWS permissions the video function's code needs (`contracts/iam/video.json`).
pub fn permissions() -> mediasift_kit::iam::Permissions {
    use mediasift_kit::iam;
    let mut statements = vec![iam::derived_results(), iam::state(), iam::publish()];
    statements.extend(iam::rekognition(true));
    mediasift_kit::iam::Permissions::new(SERVICE, statements)
}
