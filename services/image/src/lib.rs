//! The image service: EXIF summary, perceptual hash and near-duplicates, vision, generative
//! description.
//!
//! - [`exif`]: the EXIF summary (camera, lens, exposure, capture time with its offset, GPS);
//! - [`handler`]: `Image Ingested` → `Image Analysis Completed` (what it writes, and why a
//!   feature is skipped);
//! - [`describe`]: the generative description port (AWS: Bedrock).

pub mod config;
pub mod describe;
pub mod exif;
pub mod handler;

pub use handler::{Backends, Image, ImageConfig};

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

/// The AWS permissions the image function's code needs (`contracts/iam/image.json`).
pub fn permissions() -> mediasift_kit::iam::Permissions {
    use mediasift_kit::iam;
    let mut statements = vec![iam::derived_results(), iam::state(), iam::publish()];
    statements.extend(iam::rekognition(true));
    statements.push(iam::bedrock());
    mediasift_kit::iam::Permissions::new(SERVICE, statements)
}
