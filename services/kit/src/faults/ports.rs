//! The ports with faults injected.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use mediasift_schemas::RawEvent;
use serde_json::{Map, Value};

use super::{Injector, Port};
use crate::ports::{
    Body, ByteStream, Condition, EventPublisher, Item, ObjectMeta, ObjectStore, PublishError,
    PutOptions, StateError, StateStore, StoreError, Update,
};

/// An object store whose calls fail as the injector decides.
pub struct FaultyObjects {
    inner: Arc<dyn ObjectStore>,
    injector: Arc<Injector>,
}

impl FaultyObjects {
    pub fn new(inner: Arc<dyn ObjectStore>, injector: Arc<Injector>) -> Self {
        Self { inner, injector }
    }

    async fn call<T, F, Fut>(
        &self,
        operation: &str,
        bucket: &str,
        key: &str,
        call: F,
    ) -> Result<T, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        self.injector
            .guarded(
                Port::Objects,
                operation,
                &format!("{bucket}/{key}"),
                call,
                StoreError::Unavailable,
                StoreError::Denied,
            )
            .await
    }
}

#[async_trait]
impl ObjectStore for FaultyObjects {
    async fn get(
        &self,
        bucket: &str,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StoreError> {
        self.call("get", bucket, key, || self.inner.get(bucket, key, range))
            .await
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, StoreError> {
        self.call("get", bucket, key, || self.inner.get_bytes(bucket, key))
            .await
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Body,
        options: PutOptions,
    ) -> Result<ObjectMeta, StoreError> {
        self.call("put", bucket, key, || {
            self.inner.put(bucket, key, body, options)
        })
        .await
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta, StoreError> {
        self.call("head", bucket, key, || self.inner.head(bucket, key))
            .await
    }

    async fn get_tags(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        self.call("get-tags", bucket, key, || self.inner.get_tags(bucket, key))
            .await
    }

    async fn put_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        self.call("put-tags", bucket, key, || {
            self.inner.put_tags(bucket, key, tags)
        })
        .await
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.call("list", bucket, prefix, || self.inner.list(bucket, prefix))
            .await
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.call("delete", bucket, key, || self.inner.delete(bucket, key))
            .await
    }

    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<String, StoreError> {
        self.call("presign", bucket, key, || {
            self.inner.presign_get(bucket, key, expires)
        })
        .await
    }

    async fn download(&self, bucket: &str, key: &str, to: &Path) -> Result<u64, StoreError> {
        self.call("get", bucket, key, || self.inner.download(bucket, key, to))
            .await
    }
}

/// A state store whose calls fail as the injector decides.
pub struct FaultyState {
    inner: Arc<dyn StateStore>,
    injector: Arc<Injector>,
}

impl FaultyState {
    pub fn new(inner: Arc<dyn StateStore>, injector: Arc<Injector>) -> Self {
        Self { inner, injector }
    }

    async fn call<T, F, Fut>(
        &self,
        operation: &str,
        table: &str,
        key: &str,
        call: F,
    ) -> Result<T, StateError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StateError>>,
    {
        self.injector
            .guarded(
                Port::State,
                operation,
                &format!("{table}/{key}"),
                call,
                StateError::Unavailable,
                StateError::Failed,
            )
            .await
    }
}

#[async_trait]
impl StateStore for FaultyState {
    async fn get(&self, table: &str, key: &str) -> Result<Option<Item>, StateError> {
        self.call("get", table, key, || self.inner.get(table, key))
            .await
    }

    async fn put(
        &self,
        table: &str,
        key: &str,
        value: Map<String, Value>,
        condition: Condition,
        ttl: Option<Duration>,
    ) -> Result<Item, StateError> {
        self.call("put", table, key, || {
            self.inner.put(table, key, value, condition, ttl)
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
        self.call("update", table, key, || {
            self.inner.update(table, key, updates, condition)
        })
        .await
    }

    async fn delete(&self, table: &str, key: &str) -> Result<(), StateError> {
        self.call("delete", table, key, || self.inner.delete(table, key))
            .await
    }
}

/// An event publisher whose calls fail as the injector decides.
pub struct FaultyPublisher {
    inner: Arc<dyn EventPublisher>,
    injector: Arc<Injector>,
}

impl FaultyPublisher {
    pub fn new(inner: Arc<dyn EventPublisher>, injector: Arc<Injector>) -> Self {
        Self { inner, injector }
    }
}

#[async_trait]
impl EventPublisher for FaultyPublisher {
    async fn publish(&self, events: &[RawEvent]) -> Result<(), PublishError> {
        let target = events
            .iter()
            .map(|event| event.detail_type.as_str())
            .collect::<Vec<_>>()
            .join(",");
        self.injector
            .guarded(
                Port::Events,
                "publish",
                &target,
                || self.inner.publish(events),
                PublishError::Unavailable,
                PublishError::Rejected,
            )
            .await
    }
}
