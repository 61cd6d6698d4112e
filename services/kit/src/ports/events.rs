use async_trait::async_trait;
use mediasift_schemas::RawEvent;

use super::Retryable;

/// Puts events on the bus (the embedded bus locally, EventBridge PutEvents on AWS).
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes every event or fails; a partial failure is retried inside the adapter, so an
    /// error means some events may not have been published and the caller should retry all
    /// (consumers are idempotent).
    async fn publish(&self, events: &[RawEvent]) -> Result<(), PublishError>;
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// One event is larger than the bus takes (256 KB on EventBridge): it can never be sent.
    #[error(
        "event {id} ({detail_type}) is {size} bytes, over the bus's {limit}-byte limit; put large results in the derived bucket and send their URI"
    )]
    TooLarge {
        id: String,
        detail_type: String,
        size: usize,
        limit: usize,
    },
    /// The bus refused or failed for now (throttling, 5xx, network).
    #[error("the event bus is unavailable: {0}")]
    Unavailable(String),
    /// The bus refused for a reason retrying cannot fix (permissions, validation).
    #[error("the event bus rejected the events: {0}")]
    Rejected(String),
}

impl Retryable for PublishError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}
