//! What the bus tells operators (`mediasift dlq`, `status`, `events`) and the filters they use.

use chrono::{DateTime, Utc};

/// Where one delivery of an event to a service stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its first attempt, or for its next one after a retryable failure.
    Pending,
    /// Claimed by the dispatcher: its handler is running or about to (or was, when the
    /// process died: it is delivered again on the next start).
    InFlight,
    /// The handler succeeded and its events were published.
    Done,
    /// Dead-lettered: failed permanently or ran out of retries. `Processing Failed` was published.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::InFlight, Self::Done, Self::Dead]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dead-lettered delivery: an event a service gave up on.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub delivery_id: i64,
    pub event_id: String,
    pub service: String,
    pub detail_type: String,
    pub asset_id: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The event's own time.
    pub event_time: DateTime<Utc>,
    /// When the delivery was dead-lettered.
    pub failed_at: DateTime<Utc>,
}

/// One delivery, for `mediasift status`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub delivery_id: i64,
    pub event_id: String,
    /// The event's position in the archive.
    pub seq: i64,
    pub detail_type: String,
    pub service: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When a pending delivery is due.
    pub next_attempt_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which dead letters to act on; every field left `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterFilter {
    pub event_id: Option<String>,
    pub service: Option<String>,
    pub asset_id: Option<String>,
}

/// Which archived events to deliver again; every field left `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayFilter {
    pub asset_id: Option<String>,
    /// Events whose time is at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Deliver only to this service (when its rules match).
    pub service: Option<String>,
}

/// A page of the archive, in publication order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub asset_id: Option<String>,
    /// Events after this archive position (0: from the start); pass the last seq seen to follow.
    pub after_seq: i64,
    pub limit: usize,
}

impl Default for EventQuery {
    fn default() -> Self {
        Self {
            asset_id: None,
            after_seq: 0,
            limit: 100,
        }
    }
}
