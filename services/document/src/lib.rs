//! The document service: page text from the text layer or OCR, keyphrases and entities.
//!
//! Its handler arrives with the image and document issue; for now the crate declares what it
//! subscribes to.

use mediasift_kit::{Rule, Subscriptions};
use mediasift_schemas::{DocumentIngested, EventDetail, sources};
use serde_json::json;

pub const SERVICE: &str = "document";

/// Documents whose plan includes document analysis.
pub fn subscriptions() -> Subscriptions {
    Subscriptions::new(
        SERVICE,
        vec![Rule::new(
            "document-ingested",
            "Analyse a newly ingested document.",
            json!({
                "source": [sources::INGEST],
                "detail-type": [DocumentIngested::DETAIL_TYPE],
                "detail": {"plan": {"analyses": ["document"]}},
            }),
        )],
    )
}
