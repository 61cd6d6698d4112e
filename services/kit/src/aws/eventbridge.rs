//! [`EventPublisher`] on Amazon EventBridge (PutEvents to one bus).
//!
//! Events go out in requests of at most 10 entries and 256 KB, sized as AWS sizes them. A
//! partial failure (a `FailedEntryCount` above zero) re-sends only the entries that failed with
//! a transient code, after a jittered exponential backoff, a bounded number of times; an entry
//! refused for good (a malformed detail, a permission) fails the call with
//! [`PublishError::Rejected`]. An event over 256 KB is refused with [`PublishError::TooLarge`]
//! before anything is sent.
//!
//! EventBridge gives every event its own envelope `id` (and the envelope's `account` and
//! `region`); the mediasift envelope's `id` is not sent. Idempotency in mediasift never rests
//! on the envelope id: it lives in the detail (`assetId` and `metadata.causationId`), which is
//! sent as it is. The event's `time` is sent, so consumers see when it happened rather than
//! when it was put.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use mediasift_schemas::RawEvent;
use rand::Rng;

use super::errors::{Fault, is_transient_code};
use crate::ports::{EventPublisher, PublishError};

/// Most entries in one PutEvents request.
pub const MAX_ENTRIES_PER_REQUEST: usize = 10;
/// Most bytes in one PutEvents request, and so in one entry (256 KB).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// What a `Time` adds to an entry's size, as AWS counts it.
const TIME_BYTES: usize = 14;

/// An [`EventPublisher`] that puts events on one EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
    max_attempts: u32,
    base_backoff: Duration,
    max_backoff: Duration,
}

impl EventBridgePublisher {
    /// Attempts per entry (the first send included) before a transient failure is returned.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
    pub const DEFAULT_BASE_BACKOFF: Duration = Duration::from_millis(100);
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);

    /// A publisher to the bus named `bus` (a name or an ARN).
    pub fn new(sdk: &SdkConfig, bus: &str) -> Self {
        Self::from_client(Client::new(sdk), bus)
    }

    pub fn from_client(client: Client, bus: &str) -> Self {
        Self {
            client,
            bus: bus.to_owned(),
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            base_backoff: Self::DEFAULT_BASE_BACKOFF,
            max_backoff: Self::DEFAULT_MAX_BACKOFF,
        }
    }

    /// Re-sends failed entries up to `max_attempts` sends in all (at least one), waiting a
    /// random time up to `base_backoff` × 2ⁿ (capped at 5 s) before the n-th re-send.
    pub fn with_retry(mut self, max_attempts: u32, base_backoff: Duration) -> Self {
        self.max_attempts = max_attempts.max(1);
        self.base_backoff = base_backoff;
        self
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends one request's worth of entries, re-sending those that fail transiently.
    async fn send_batch(&self, batch: &[Prepared]) -> Result<(), PublishError> {
        let mut pending: Vec<&Prepared> = batch.iter().collect();
        for attempt in 1..=self.max_attempts {
            let output = self
                .client
                .put_events()
                .set_entries(Some(pending.iter().map(|p| p.entry.clone()).collect()))
                .send()
                .await
                .map_err(|e| publish_error(Fault::of("PutEvents", &e)))?;
            if output.failed_entry_count() == 0 {
                return Ok(());
            }
            let results = output.entries();
            if results.len() != pending.len() {
                return Err(PublishError::Unavailable(format!(
                    "PutEvents answered {} results for {} entries; cannot tell which failed",
                    results.len(),
                    pending.len()
                )));
            }
            let mut retry = Vec::new();
            let mut refused = Vec::new();
            for (prepared, result) in pending.iter().zip(results) {
                match (result.error_code(), result.event_id()) {
                    (None, Some(_)) => {}
                    (Some(code), _) if !is_transient_entry_code(code) => refused.push(format!(
                        "{} ({}): {code}: {}",
                        prepared.id,
                        prepared.detail_type,
                        result.error_message().unwrap_or_default()
                    )),
                    (code, _) => retry.push((*prepared, code.unwrap_or("no event id").to_owned())),
                }
            }
            if !refused.is_empty() {
                return Err(PublishError::Rejected(format!(
                    "EventBridge refused {} event(s): {}",
                    refused.len(),
                    refused.join("; ")
                )));
            }
            if retry.is_empty() {
                return Ok(());
            }
            if attempt == self.max_attempts {
                let codes: Vec<String> = retry
                    .iter()
                    .map(|(p, code)| format!("{} ({code})", p.id))
                    .collect();
                return Err(PublishError::Unavailable(format!(
                    "{} event(s) still failed after {} attempts: {}",
                    retry.len(),
                    self.max_attempts,
                    codes.join(", ")
                )));
            }
            tracing::warn!(
                failed = retry.len(),
                attempt,
                codes = ?retry.iter().map(|(_, code)| code.as_str()).collect::<Vec<_>>(),
                "PutEvents partially failed; re-sending the failed entries"
            );
            pending = retry.into_iter().map(|(p, _)| p).collect();
            tokio::time::sleep(self.backoff(attempt)).await;
        }
        Ok(())
    }

    /// Full jitter: a random wait up to `base × 2^(attempt-1)`, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max_backoff);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[RawEvent]) -> Result<(), PublishError> {
        // Every event is checked before any is sent: an oversized one fails the whole call.
        let prepared = events
            .iter()
            .map(|event| Prepared::new(event, &self.bus))
            .collect::<Result<Vec<_>, _>>()?;
        for range in batches(&prepared.iter().map(|p| p.size).collect::<Vec<_>>()) {
            self.send_batch(&prepared[range]).await?;
        }
        Ok(())
    }
}

/// One event as a PutEvents entry, with its size.
#[derive(Debug, Clone)]
struct Prepared {
    entry: PutEventsRequestEntry,
    size: usize,
    id: String,
    detail_type: String,
}

impl Prepared {
    fn new(event: &RawEvent, bus: &str) -> Result<Self, PublishError> {
        let detail = serde_json::to_string(&event.detail).map_err(|e| {
            PublishError::Rejected(format!("event {}: detail does not encode: {e}", event.id))
        })?;
        let size = entry_size(
            &event.source,
            &event.detail_type,
            &detail,
            &event.resources,
            true,
        );
        if size > MAX_REQUEST_BYTES {
            return Err(PublishError::TooLarge {
                id: event.id.clone(),
                detail_type: event.detail_type.clone(),
                size,
                limit: MAX_REQUEST_BYTES,
            });
        }
        let time = aws_smithy_types::DateTime::from_secs_and_nanos(
            event.time.timestamp(),
            event.time.timestamp_subsec_nanos(),
        );
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(bus)
            .source(&event.source)
            .detail_type(&event.detail_type)
            .detail(detail)
            .set_resources((!event.resources.is_empty()).then(|| event.resources.clone()))
            .time(time)
            .build();
        Ok(Self {
            entry,
            size,
            id: event.id.clone(),
            detail_type: event.detail_type.clone(),
        })
    }
}

/// The size of a PutEvents entry as AWS computes it: the UTF-8 bytes of source, detail-type,
/// detail and each resource, plus 14 bytes for a time.
pub fn entry_size(
    source: &str,
    detail_type: &str,
    detail: &str,
    resources: &[String],
    has_time: bool,
) -> usize {
    let time = if has_time { TIME_BYTES } else { 0 };
    time + source.len()
        + detail_type.len()
        + detail.len()
        + resources.iter().map(String::len).sum::<usize>()
}

/// Splits entries of the given sizes, in order, into requests of at most 10 entries and
/// 256 KB. Each size is at most 256 KB.
fn batches(sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, size) in sizes.iter().enumerate() {
        if i > start && (i - start == MAX_ENTRIES_PER_REQUEST || bytes + size > MAX_REQUEST_BYTES) {
            batches.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < sizes.len() {
        batches.push(start..sizes.len());
    }
    batches
}

/// Per-entry error codes worth re-sending: throttling and EventBridge's internal failures.
fn is_transient_entry_code(code: &str) -> bool {
    is_transient_code(code) || code.starts_with("Internal") || code.contains("Throttl")
}

fn publish_error(fault: Fault) -> PublishError {
    if fault.transient {
        PublishError::Unavailable(fault.message)
    } else {
        PublishError::Rejected(fault.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_counts_what_aws_counts() {
        let resources = vec!["arn:aws:s3:::b".to_owned()];
        assert_eq!(
            entry_size("src", "Type", "{}", &resources, true),
            14 + 3 + 4 + 2 + 14
        );
        assert_eq!(
            entry_size("src", "Type", "{\"k\":\"ü\"}", &[], false),
            3 + 4 + 10
        );
    }

    #[test]
    fn batches_hold_ten_entries_or_256_kb() {
        assert_eq!(batches(&[]), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(batches(&[100; 25]), vec![0..10, 10..20, 20..25]);
        let big = MAX_REQUEST_BYTES / 2;
        assert_eq!(batches(&[big, big, 1, big]), vec![0..2, 2..4]);
        assert_eq!(batches(&[MAX_REQUEST_BYTES, 1]), vec![0..1, 1..2]);
        assert_eq!(batches(&[big - 1, big, 1]), vec![0..3]);
        assert_eq!(batches(&[big - 1, big, 2]), vec![0..2, 2..3]);
    }

    #[test]
    fn entry_codes_are_classified() {
        assert!(is_transient_entry_code("ThrottlingException"));
        assert!(is_transient_entry_code("InternalFailure"));
        assert!(is_transient_entry_code("InternalException"));
        assert!(!is_transient_entry_code("MalformedDetail"));
        assert!(!is_transient_entry_code("AccessDeniedException"));
    }
}
