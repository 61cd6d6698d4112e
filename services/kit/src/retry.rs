//! Retrying the ports' retryable errors where the call is made, as the AWS SDK's standard
//! retry mode does for every client: a few attempts with jittered exponential backoff, before
//! an error reaches the handler (and the bus's own retries of the whole delivery). The local
//! runtime wraps its ports in these; on AWS the SDK clients retry themselves.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use mediasift_schemas::RawEvent;
use rand::Rng;
use serde_json::{Map, Value};

use crate::ports::{
    Body, ByteStream, Condition, EventPublisher, Item, ObjectMeta, ObjectStore, PublishError,
    PutOptions, Retryable, StateError, StateStore, StoreError, Update,
};

/// How a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts, the first included.
    pub attempts: u32,
    /// The first retry waits up to this long; each further one up to twice as long.
    pub base: Duration,
    /// No retry waits longer than this.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base: Duration::from_millis(20),
            cap: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// Makes `call` until it succeeds, fails for good, or the attempts are spent.
    pub async fn retry<T, E, F, Fut>(&self, mut call: F) -> Result<T, E>
    where
        E: Retryable + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(error) if error.is_retryable() && attempt < self.attempts => {
                    let wait = self.backoff(attempt);
                    tracing::debug!(attempt, ?wait, %error, "retrying a port call");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Full jitter: a random wait up to `base × 2^(attempt-1)`, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// An object store whose retryable errors are retried.
pub struct RetryingObjects {
    inner: Arc<dyn ObjectStore>,
    policy: RetryPolicy,
}

impl RetryingObjects {
    pub fn new(inner: Arc<dyn ObjectStore>, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }
}

#[async_trait]
impl ObjectStore for RetryingObjects {
    async fn get(
        &self,
        bucket: &str,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StoreError> {
        self.policy
            .retry(|| self.inner.get(bucket, key, range.clone()))
            .await
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, StoreError> {
        self.policy
            .retry(|| self.inner.get_bytes(bucket, key))
            .await
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Body,
        options: PutOptions,
    ) -> Result<ObjectMeta, StoreError> {
        self.policy
            .retry(|| self.inner.put(bucket, key, body.clone(), options.clone()))
            .await
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta, StoreError> {
        self.policy.retry(|| self.inner.head(bucket, key)).await
    }

    async fn get_tags(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        self.policy.retry(|| self.inner.get_tags(bucket, key)).await
    }

    async fn put_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        self.policy
            .retry(|| self.inner.put_tags(bucket, key, tags.clone()))
            .await
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.policy.retry(|| self.inner.list(bucket, prefix)).await
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.policy.retry(|| self.inner.delete(bucket, key)).await
    }

    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<String, StoreError> {
        self.policy
            .retry(|| self.inner.presign_get(bucket, key, expires))
            .await
    }

    async fn download(&self, bucket: &str, key: &str, to: &Path) -> Result<u64, StoreError> {
        self.policy
            .retry(|| self.inner.download(bucket, key, to))
            .await
    }
}

/// A state store whose retryable errors are retried.
pub struct RetryingState {
    inner: Arc<dyn StateStore>,
    policy: RetryPolicy,
}

impl RetryingState {
    pub fn new(inner: Arc<dyn StateStore>, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }
}

#[async_trait]
impl StateStore for RetryingState {
    async fn get(&self, table: &str, key: &str) -> Result<Option<Item>, StateError> {
        self.policy.retry(|| self.inner.get(table, key)).await
    }

    async fn put(
        &self,
        table: &str,
        key: &str,
        value: Map<String, Value>,
        condition: Condition,
        ttl: Option<Duration>,
    ) -> Result<Item, StateError> {
        self.policy
            .retry(|| {
                self.inner
                    .put(table, key, value.clone(), condition.clone(), ttl)
            })
            .await
    }

    async fn update(
        &self,
        table: &str,
        key: &str,
        updates: &[Update],
        condition: Condition,
    ) -> Result<Item, StateError> {
        self.policy
            .retry(|| self.inner.update(table, key, updates, condition.clone()))
            .await
    }

    async fn delete(&self, table: &str, key: &str) -> Result<(), StateError> {
        self.policy.retry(|| self.inner.delete(table, key)).await
    }
}

/// An event publisher whose retryable errors are retried.
pub struct RetryingPublisher {
    inner: Arc<dyn EventPublisher>,
    policy: RetryPolicy,
}

impl RetryingPublisher {
    pub fn new(inner: Arc<dyn EventPublisher>, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }
}

#[async_trait]
impl EventPublisher for RetryingPublisher {
    async fn publish(&self, events: &[RawEvent]) -> Result<(), PublishError> {
        self.policy.retry(|| self.inner.publish(events)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn retryable_errors_are_retried_up_to_the_attempts_and_others_not_at_all() {
        let policy = RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        };
        let calls = AtomicU32::new(0);
        let result: Result<(), StoreError> = policy
            .retry(|| async {
                calls.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::Unavailable("throttled".into()))
            })
            .await;
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
        assert_eq!(calls.swap(0, Ordering::Relaxed), 3);

        let result: Result<(), StoreError> = policy
            .retry(|| async {
                calls.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::Denied("no grant".into()))
            })
            .await;
        assert!(matches!(result, Err(StoreError::Denied(_))));
        assert_eq!(calls.swap(0, Ordering::Relaxed), 1);

        let result = policy
            .retry(|| async {
                match calls.fetch_add(1, Ordering::Relaxed) {
                    0 => Err(StoreError::Unavailable("5xx".into())),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(result.unwrap(), 7);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        for attempt in 1..10 {
            assert!(policy.backoff(attempt) <= policy.cap);
        }
        assert!(policy.backoff(1) <= Duration::from_millis(20));
    }
}
