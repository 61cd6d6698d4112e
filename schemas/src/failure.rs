//! `Processing Failed`: any service, any permanent failure, with a cause a person can act on.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::example;
use crate::common::*;
use crate::envelope::EventDetail;

/// `Processing Failed`: a service gave up on an event. The source names the service. Emitted
/// for permanent failures, and for transient ones once retries are exhausted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingFailed {
    pub asset_id: Uuid,
    pub schema_version: String,
    pub metadata: EventMetadata,
    /// The service that failed, e.g. `ingest`.
    pub service: String,
    /// The planned analysis this failure ends, so completion tracking never waits for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisKind>,
    /// A stable, machine-readable class, e.g. `CorruptMedia`, `UnsupportedFormat`,
    /// `EncryptedDocument`, `Timeout`, `RetriesExhausted`.
    pub error_code: String,
    /// What went wrong, for a person: names the object and the problem.
    pub cause: String,
    /// What to do about it.
    pub action: String,
    /// Whether retrying the same input later could succeed (`mediasift dlq --retry`).
    pub retryable: bool,
    /// The event that failed: its id and detail-type.
    pub failed_event_id: String,
    pub failed_detail_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceObject>,
}

impl EventDetail for ProcessingFailed {
    const DETAIL_TYPE: &'static str = "Processing Failed";
    const SCHEMA_NAME: &'static str = "ProcessingFailed";
    const SCHEMA_VERSION: &'static str = "1.0";

    fn example() -> Self {
        Self {
            asset_id: example::ASSET_ID,
            schema_version: Self::SCHEMA_VERSION.into(),
            metadata: example::metadata("ingest", "17793124-05d4-b198-2fde-7ededc63b103"),
            service: "ingest".into(),
            analysis: None,
            error_code: "CorruptMedia".into(),
            cause: "ffprobe could not read news/2026/Evening Bulletin – 21 Nov.mp4: moov atom not \
                    found (the upload is truncated or not an MP4)"
                .into(),
            action: "Re-upload the complete file; its MD5 should equal the original's.".into(),
            retryable: false,
            failed_event_id: "17793124-05d4-b198-2fde-7ededc63b103".into(),
            failed_detail_type: "Object Created".into(),
            source: Some(example::source(
                "news/2026/Evening Bulletin – 21 Nov.mp4",
                734_003_200,
                "5c5e1b4c2a4f2bf3b0c4a3d21f0e9b7a-88",
            )),
        }
    }
}
