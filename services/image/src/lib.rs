//! The image service: EXIF summary, perceptual hash and near-duplicates, vision, generative
//! description.
//!
//! Its handler arrives with the image and document issue; for now the crate declares what it
//! subscribes to.

use mediasift_kit::{Rule, Subscriptions};
use mediasift_schemas::{EventDetail, ImageIngested, sources};
use serde_json::json;

pub const SERVICE: &str = "image";

/// Images whose plan includes image analysis.
pub fn subscriptions() -> Subscriptions {
    Subscriptions::new(
        SERVICE,
        vec![Rule::new(
            "image-ingested",
            "Analyse a newly ingested image.",
            json!({
                "source": [sources::INGEST],
                "detail-type": [ImageIngested::DETAIL_TYPE],
                "detail": {"plan": {"analyses": ["image"]}},
            }),
        )],
    )
}
