//! How the bus retries, bounds concurrency and polls.

use std::time::Duration;

use super::BusError;

/// The bus's delivery policy: EventBridge's retry policy (attempts, maximum event age) plus
/// what Lambda's reserved concurrency gives on AWS (a bound per target service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// Attempts per delivery, the first included, before it is dead-lettered.
    pub max_attempts: u32,
    /// A delivery that fails retryably once its event is older than this is dead-lettered.
    pub max_event_age: Duration,
    /// The first retry waits up to this long; each further retry up to twice as long.
    pub backoff_base: Duration,
    /// No retry waits longer than this.
    pub backoff_cap: Duration,
    /// Handler calls running at once per target service.
    pub concurrency_per_target: usize,
    /// How often the dispatcher looks for work it was not told about (deliveries that came
    /// due, or were added by another process on the same database).
    pub poll_interval: Duration,
    /// On `shutdown`, how long running handlers may take to finish; the deliveries of those
    /// still running then are delivered again on the next start.
    pub shutdown_grace: Duration,
    /// Deliberate disorder, to prove the services idempotent and order-independent.
    pub chaos: DeliveryChaos,
}

/// What EventBridge allows and a test can force: at-least-once delivery (every delivery made
/// twice) and no ordering (due deliveries taken in random order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryChaos {
    pub duplicate: bool,
    pub shuffle: bool,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            max_event_age: Duration::from_secs(3600),
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(30),
            concurrency_per_target: 2,
            poll_interval: Duration::from_millis(250),
            shutdown_grace: Duration::from_secs(30),
            chaos: DeliveryChaos::default(),
        }
    }
}

impl BusConfig {
    pub(crate) fn validate(&self) -> Result<(), BusError> {
        let problem = if self.max_attempts == 0 {
            "max_attempts must be at least 1"
        } else if self.concurrency_per_target == 0 {
            "concurrency_per_target must be at least 1"
        } else if self.poll_interval.is_zero() {
            "poll_interval must be longer than zero"
        } else {
            return Ok(());
        };
        Err(BusError::Config(problem.into()))
    }
}
