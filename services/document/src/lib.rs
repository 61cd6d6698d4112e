//! The document service: page text from the text layer or OCR, keyphrases and entities.
//!
//! - [`handler`]: `Document Ingested` → `Document Analysis Completed` (passwords, text layer
//!   or OCR per page, language);
//! - [`ocr`]: the OCR port (local: tesseract; AWS: Textract).

pub mod config;
pub mod handler;
pub mod ocr;

pub use handler::{Backends, Document, DocumentConfig};

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

/// The AWS permissions the document function's code needs (`contracts/iam/document.json`).
pub fn permissions() -> mediasift_kit::iam::Permissions {
    use mediasift_kit::iam::{self, Resource, Statement};
    mediasift_kit::iam::Permissions::new(
        SERVICE,
        vec![
            // The source's metadata carries an encrypted PDF's password.
            Statement::new(
                "SourceMetadata",
                &["s3:GetObject"],
                &[Resource::IngestObjects],
            ),
            iam::derived_results(),
            iam::publish(),
            Statement::new(
                "Textract",
                &["textract:DetectDocumentText"],
                &[Resource::Any],
            ),
            iam::comprehend(),
        ],
    )
}
