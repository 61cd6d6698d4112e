//! The adbreak service: scores scene boundaries and places ranked ad breaks (JSON, VMAP, EDL).
//!
//! Its handler arrives with the scenes and ad breaks issue; for now the crate declares what it
//! subscribes to.

use mediasift_kit::{Rule, Subscriptions};
use mediasift_schemas::{EventDetail, ScenesDetected, sources};
use serde_json::json;

pub const SERVICE: &str = "adbreak";

/// Scenes of assets whose plan includes ad breaks. `Scenes Detected` carries the URIs of the
/// shot, loudness and transcript results it was built from, so this is the only input needed.
pub fn subscriptions() -> Subscriptions {
    Subscriptions::new(
        SERVICE,
        vec![Rule::new(
            "scenes-detected",
            "Place ad breaks at the scene boundaries of an asset.",
            json!({
                "source": [sources::SCENE],
                "detail-type": [ScenesDetected::DETAIL_TYPE],
                "detail": {"plan": {"analyses": ["adBreaks"]}},
            }),
        )],
    )
}
