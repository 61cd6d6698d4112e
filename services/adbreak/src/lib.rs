//! The adbreak service: scores every shot boundary of an asset as a place for an ad break and
//! places ranked breaks at the best of them (JSON, VMAP, EDL).
//!
//! - [`inputs`]: the documents it reads, by shape (`scenes.json`, `shots.json`,
//!   `silences.json`, `loudness.json`, `transcript.json`);
//! - [`score`]: the features of a boundary, their weights and the score;
//! - [`place`]: the spacing (Media2Cloud's ladder or the asset's options), the slots and the
//!   choice in each;
//! - [`report`]: `adbreaks.json`; [`vmap`]: `vmap.xml`; [`edl`]: `breaks.edl`;
//! - [`handler`]: `Scenes Detected` → `Ad Breaks Detected`.

pub mod config;
pub mod edl;
pub mod handler;
pub mod inputs;
pub mod place;
pub mod report;
pub mod score;
pub mod vmap;

pub use handler::{AdBreakConfig, AdBreaks};
pub use score::Weights;

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

/// The AWS permissions the adbreak function's code needs (`contracts/iam/adbreak.json`).
pub fn permissions() -> mediasift_kit::iam::Permissions {
    use mediasift_kit::iam;
    mediasift_kit::iam::Permissions::new(SERVICE, vec![iam::derived_results(), iam::publish()])
}
