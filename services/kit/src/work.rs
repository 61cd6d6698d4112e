//! One asset's analysis as a service handler does it: its results written under
//! `<assetId>/<folder>/` in the derived bucket, inputs read from their `s3://` URIs, the
//! completion event, and every error turned into a [`HandlerError`] that either retries the
//! event (transient) or fails the asset with a cause and an action a person can follow.

use std::path::Path;

use bytes::Bytes;
use mediasift_media::process::ToolError;
use mediasift_schemas::{AnalysisKind, Envelope, EventDetail, RawEvent};
use serde::Serialize;
use uuid::Uuid;

use crate::handler::{Failure, HandlerError, Ports, derived_event_id};
use crate::ports::{Body, PutOptions, Retryable, StateError, StoreError, split_s3_uri};

/// A scratch folder for one event's work under `dir` (created if absent), named
/// `<prefix>…`, removed when dropped. Failing to make one is transient: the event is retried.
pub fn scratch_dir(dir: &Path, prefix: &str) -> Result<tempfile::TempDir, HandlerError> {
    std::fs::create_dir_all(dir).ok();
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(dir)
        .map_err(|e| {
            HandlerError::retryable(format!(
                "cannot create a scratch folder in {}: {e}",
                dir.display()
            ))
        })
}

/// The asset a handler is working on, for one event.
pub struct AssetWork<'a> {
    pub ports: &'a Ports,
    pub id: Uuid,
    /// The event being handled (the completion's cause).
    pub cause: &'a RawEvent,
    /// The service's name (`image`), for derived event ids.
    service: &'static str,
    /// The service's event source (`mediasift.image`).
    source: &'static str,
    /// The planned analysis a failure ends.
    analysis: AnalysisKind,
}

impl<'a> AssetWork<'a> {
    /// Work on `id` for `cause`, by `service` (publishing as `source`), writing under
    /// `<id>/<service>/`.
    pub fn new(
        ports: &'a Ports,
        cause: &'a RawEvent,
        id: Uuid,
        service: &'static str,
        source: &'static str,
        analysis: AnalysisKind,
    ) -> Self {
        Self {
            ports,
            id,
            cause,
            service,
            source,
            analysis,
        }
    }

    /// `<assetId>/<service>/<name>`: where `name` is written in the derived bucket.
    pub fn key(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.id, self.service)
    }

    /// The permanent failure of this asset's analysis.
    pub fn fail(
        &self,
        code: &str,
        cause: impl Into<String>,
        action: impl Into<String>,
    ) -> HandlerError {
        HandlerError::permanent(
            Failure::new(code, cause, action)
                .for_asset(self.id)
                .ending(self.analysis),
        )
    }

    /// A store error: transient ones retry the event; the rest fail the asset.
    pub fn store_error(&self, error: StoreError) -> HandlerError {
        if error.is_retryable() {
            HandlerError::retryable(error.to_string())
        } else {
            self.fail(
                "StoreError",
                error.to_string(),
                "Check that the source and ingest's outputs exist and that the service may read \
                 them and write the derived bucket; then retry the event from the dead-letter \
                 queue.",
            )
        }
    }

    /// A state-table error: transient ones retry the event; the rest fail the asset.
    pub fn state_error(&self, error: StateError) -> HandlerError {
        if error.is_retryable() {
            HandlerError::retryable(error.to_string())
        } else {
            self.fail(
                "StateError",
                error.to_string(),
                "Check the service may read and write its state table; then retry the event from \
                 the dead-letter queue.",
            )
        }
    }

    /// A tool that could not do its work: a missing tool fails the asset saying what to
    /// install; a timeout or an I/O error retries the event; anything else fails the asset
    /// with `advice` (what to check about the input).
    pub fn tool_failure(&self, what: &str, error: &ToolError, advice: &str) -> HandlerError {
        match error {
            ToolError::Missing { .. } => self.fail(
                "ToolMissing",
                error.to_string(),
                "Install the missing tool (scripts/setup.sh installs them all), then retry the \
                 event from the dead-letter queue.",
            ),
            ToolError::TimedOut { .. } | ToolError::Io { .. } => {
                HandlerError::retryable(format!("{what}: {error}"))
            }
            _ => self.fail("ToolFailed", format!("{what}: {error}"), advice),
        }
    }

    /// Writes `value` as pretty JSON to [`Self::key`]`(name)`; returns its `s3://` URI.
    pub async fn put_json<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<String, HandlerError> {
        let body = serde_json::to_vec_pretty(value).map_err(|e| {
            HandlerError::retryable(format!("{name} cannot be written as JSON: {e}"))
        })?;
        self.put(name, body, "application/json").await
    }

    /// Writes `body` to [`Self::key`]`(name)`; returns its `s3://` URI.
    pub async fn put(
        &self,
        name: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<String, HandlerError> {
        let key = self.key(name);
        let options = PutOptions {
            content_type: Some(content_type.into()),
            ..PutOptions::default()
        };
        self.ports
            .objects
            .put(
                &self.ports.derived_bucket,
                &key,
                Body::Bytes(Bytes::from(body)),
                options,
            )
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(format!("s3://{}/{key}", self.ports.derived_bucket))
    }

    /// Streams the object at `uri` (`what` names it in errors: "the proxy") to `to`.
    pub async fn download(&self, what: &str, uri: &str, to: &Path) -> Result<u64, HandlerError> {
        let (bucket, key) = self.split(what, uri)?;
        self.ports
            .objects
            .download(bucket, key, to)
            .await
            .map_err(|e| match e {
                StoreError::Io { .. } => HandlerError::retryable(e.to_string()),
                e => self.store_error(e),
            })
    }

    /// The object at `uri` in memory.
    pub async fn get_bytes(&self, what: &str, uri: &str) -> Result<Bytes, HandlerError> {
        let (bucket, key) = self.split(what, uri)?;
        self.ports
            .objects
            .get_bytes(bucket, key)
            .await
            .map_err(|e| self.store_error(e))
    }

    /// The event this work publishes: from the service's source, its id derived from the
    /// cause's (a re-delivered cause gives the same event), the cause's resources.
    pub fn emit<D: EventDetail>(&self, detail: D) -> RawEvent {
        let mut event = Envelope::new(self.source, detail);
        event.id = derived_event_id(&self.cause.id, self.service, D::DETAIL_TYPE);
        event.time = self.ports.clock.now();
        event.resources = self.cause.resources.clone();
        event.to_raw().expect("schema events serialise")
    }

    fn split<'u>(&self, what: &str, uri: &'u str) -> Result<(&'u str, &'u str), HandlerError> {
        split_s3_uri(uri).ok_or_else(|| {
            self.fail(
                "MalformedEvent",
                format!("the {what} {uri:?} is not an s3:// URI"),
                "Only mediasift's ingest publishes this event; check for another publisher.",
            )
        })
    }
}
