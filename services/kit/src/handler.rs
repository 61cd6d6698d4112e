//! The service handler contract: `handle(event, &ports) -> events`, pure of AWS. The embedded
//! bus, the Lambda glue and the AWS test harness all drive handlers through this one trait.

use std::sync::Arc;

use async_trait::async_trait;
use mediasift_schemas::{
    AnalysisKind, Envelope, EventDetail, EventMetadata, ProcessingFailed, RawEvent, SourceObject,
    sources,
};
use uuid::Uuid;

use crate::ports::{Clock, ObjectStore, StateStore};
use crate::rules::Subscriptions;

/// Everything a handler may touch. Analysis ports join as their issues arrive.
#[derive(Clone)]
pub struct Ports {
    pub objects: Arc<dyn ObjectStore>,
    pub state: Arc<dyn StateStore>,
    pub clock: Arc<dyn Clock>,
    /// Where results are written (`<assetId>/…`); never the ingest bucket.
    pub derived_bucket: String,
    /// Where media arrives; only objects here are ingested.
    pub ingest_bucket: String,
}

/// A service: its name, what it subscribes to, and how it handles one event.
#[async_trait]
pub trait Handler: Send + Sync {
    /// `ingest`, `video`, ...
    fn service(&self) -> &'static str;
    fn subscriptions(&self) -> Subscriptions;
    /// Handles one event and returns the events to publish. Must be idempotent: the same
    /// event delivered again gives the same outputs and events with the same ids.
    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError>;
}

/// Why a handler did not finish.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Might succeed later (throttling, a store unavailable): retry with backoff.
    #[error("{0}")]
    Retryable(String),
    /// Will never succeed for this input: emit `Processing Failed`, do not retry.
    #[error("{}: {}", .0.error_code, .0.cause)]
    Permanent(Box<Failure>),
}

impl HandlerError {
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable(message.into())
    }

    pub fn permanent(failure: Failure) -> Self {
        Self::Permanent(Box::new(failure))
    }
}

/// A permanent failure, with what a person needs to act on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub asset_id: Option<Uuid>,
    /// The planned analysis this failure ends.
    pub analysis: Option<AnalysisKind>,
    /// Stable class, e.g. `CorruptMedia`.
    pub error_code: String,
    /// What went wrong, naming the object.
    pub cause: String,
    /// What to do about it.
    pub action: String,
    pub retryable: bool,
    pub source: Option<SourceObject>,
}

impl Failure {
    pub fn new(error_code: &str, cause: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            asset_id: None,
            analysis: None,
            error_code: error_code.into(),
            cause: cause.into(),
            action: action.into(),
            retryable: false,
            source: None,
        }
    }

    pub fn for_asset(mut self, asset_id: Uuid) -> Self {
        self.asset_id = Some(asset_id);
        self
    }

    pub fn ending(mut self, analysis: AnalysisKind) -> Self {
        self.analysis = Some(analysis);
        self
    }

    pub fn with_source(mut self, source: SourceObject) -> Self {
        self.source = Some(source);
        self
    }

    /// The failure of an event whose retries ran out on a transient error.
    pub fn retries_exhausted(last_error: &str, attempts: u32) -> Self {
        Self {
            retryable: true,
            ..Self::new(
                "RetriesExhausted",
                format!("gave up after {attempts} attempts; last error: {last_error}"),
                "Fix the cause (service limits, credentials, a store that is down), then retry the \
                 event from the dead-letter queue (`mediasift dlq --retry`).",
            )
        }
    }
}

/// The `Processing Failed` event a service emits for `failure` of `failed`. Its id is derived
/// from the failed event's, so a re-delivered failure is the same event.
pub fn failure_event(
    service: &str,
    failed: &RawEvent,
    failure: &Failure,
    producer_version: &str,
) -> RawEvent {
    let asset_id = failure
        .asset_id
        .or_else(|| asset_id_of(failed))
        .unwrap_or(Uuid::nil());
    let detail = ProcessingFailed {
        asset_id,
        schema_version: ProcessingFailed::SCHEMA_VERSION.into(),
        metadata: caused_by(failed, service, producer_version),
        service: service.into(),
        analysis: failure.analysis,
        error_code: failure.error_code.clone(),
        cause: failure.cause.clone(),
        action: failure.action.clone(),
        retryable: failure.retryable,
        failed_event_id: failed.id.clone(),
        failed_detail_type: failed.detail_type.clone(),
        source: failure.source.clone(),
    };
    let source = sources::of_service(service).unwrap_or("mediasift.unknown");
    let mut event = Envelope::new(source, detail);
    event.id = derived_event_id(&failed.id, service, ProcessingFailed::DETAIL_TYPE);
    event.resources = failed.resources.clone();
    event.to_raw().expect("Processing Failed serialises")
}

/// `event`'s detail as `D`, or the permanent `MalformedEvent` failure that names the event.
pub fn decode<D: EventDetail>(event: &RawEvent) -> Result<Envelope<D>, HandlerError> {
    event.decode().map_err(|e| {
        HandlerError::permanent(Failure::new(
            "MalformedEvent",
            format!(
                "the {} event {} from {} cannot be read: {e}",
                event.detail_type, event.id, event.source
            ),
            "Check what publishes this event: its detail does not match the catalog's schema \
             (contracts/schemas/).",
        ))
    })
}

/// Metadata for an event caused by `cause`, produced by `service`.
pub fn caused_by(cause: &RawEvent, service: &str, producer_version: &str) -> EventMetadata {
    EventMetadata {
        correlation_id: cause.correlation_id(),
        causation_id: cause.id.clone(),
        producer: format!("mediasift-{service}"),
        producer_version: producer_version.into(),
    }
}

/// A deterministic event id: the same cause, service and detail-type give the same id, so a
/// re-delivered event produces identical events (and consumers can de-duplicate on the id).
pub fn derived_event_id(cause_id: &str, service: &str, detail_type: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("{cause_id}/{service}/{detail_type}").as_bytes(),
    )
    .to_string()
}

fn asset_id_of(event: &RawEvent) -> Option<Uuid> {
    event
        .detail
        .get("assetId")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
}
