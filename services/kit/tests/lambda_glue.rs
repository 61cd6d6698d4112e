//! The Lambda glue's invocation logic: what a Lambda invocation returns (retry or not) and
//! publishes, for each kind of handler outcome.
#![cfg(feature = "lambda")]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mediasift_kit::lambda::{InvocationError, LambdaConfig, invoke};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{EventPublisher, PublishError, SystemClock};
use mediasift_kit::{Failure, Handler, HandlerError, Ports, Subscriptions};
use mediasift_schemas::{RawEvent, VideoIngested, entry_for};
use serde_json::Value;

#[derive(Default)]
struct Recorder(Mutex<Vec<RawEvent>>);

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, events: &[RawEvent]) -> Result<(), PublishError> {
        self.0.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

enum Outcome {
    Emit,
    Retry,
    Fail,
}

struct Video(Outcome);

#[async_trait]
impl Handler for Video {
    fn service(&self) -> &'static str {
        "video"
    }
    fn subscriptions(&self) -> Subscriptions {
        Subscriptions::new("video", Vec::new())
    }
    async fn handle(&self, event: &RawEvent, _: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        let asset = event.decode::<VideoIngested>().unwrap().detail.asset_id;
        match self.0 {
            Outcome::Emit => Ok(vec![
                entry_for("mediasift.video", "Video Analysis Completed")
                    .unwrap()
                    .example(),
            ]
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect()),
            Outcome::Retry => Err(HandlerError::retryable("Rekognition throttled")),
            Outcome::Fail => Err(HandlerError::permanent(
                Failure::new(
                    "CorruptMedia",
                    "the video has no decodable frames",
                    "Re-encode and upload again.",
                )
                .for_asset(asset),
            )),
        }
    }
}

fn ports(dir: &tempfile::TempDir) -> Ports {
    Ports {
        objects: Arc::new(LocalObjectStore::open(dir.path().join("objects")).unwrap()),
        state: Arc::new(SqliteStateStore::open_in_memory().unwrap()),
        clock: Arc::new(SystemClock),
        derived_bucket: "derived".into(),
        ingest_bucket: "ingest".into(),
    }
}

fn video_ingested() -> Value {
    entry_for("mediasift.ingest", "Video Ingested")
        .unwrap()
        .example()
}

#[tokio::test]
async fn success_publishes_the_handlers_events() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    invoke(
        &Video(Outcome::Emit),
        &ports(&dir),
        &recorder,
        video_ingested(),
    )
    .await
    .unwrap();
    let published = recorder.0.lock().unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].detail_type, "Video Analysis Completed");
}

#[tokio::test]
async fn a_retryable_error_fails_the_invocation_so_lambda_retries() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let error = invoke(
        &Video(Outcome::Retry),
        &ports(&dir),
        &recorder,
        video_ingested(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, InvocationError::Retryable(ref m) if m == "Rekognition throttled"),
        "{error}"
    );
    assert!(recorder.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_permanent_error_publishes_processing_failed_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let event = video_ingested();
    invoke(
        &Video(Outcome::Fail),
        &ports(&dir),
        &recorder,
        event.clone(),
    )
    .await
    .unwrap();
    let published = recorder.0.lock().unwrap();
    assert_eq!(published.len(), 1);
    let failed = &published[0];
    assert_eq!(failed.source, "mediasift.video");
    assert_eq!(failed.detail_type, "Processing Failed");
    assert_eq!(failed.detail["service"], "video");
    assert_eq!(failed.detail["errorCode"], "CorruptMedia");
    assert_eq!(failed.detail["assetId"], event["detail"]["assetId"]);
    assert_eq!(failed.detail["failedEventId"], event["id"]);
    assert_eq!(failed.detail["metadata"]["causationId"], event["id"]);
    assert_eq!(
        failed.detail["metadata"]["correlationId"],
        event["detail"]["metadata"]["correlationId"]
    );
}

#[tokio::test]
async fn a_payload_that_is_not_an_event_fails_the_invocation_and_is_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let error = invoke(
        &Video(Outcome::Emit),
        &ports(&dir),
        &recorder,
        serde_json::json!({"hello": 1}),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, InvocationError::NotAnEvent(_)), "{error}");
}

#[test]
fn configuration_names_what_is_missing() {
    let error =
        LambdaConfig::from_lookup(|name| (name != "MEDIASIFT_EVENT_BUS").then(|| "x".to_owned()))
            .unwrap_err();
    assert!(error.to_string().contains("MEDIASIFT_EVENT_BUS"), "{error}");
    let config = LambdaConfig::from_lookup(|name| Some(format!("v-{name}"))).unwrap();
    assert_eq!(config.derived_bucket, "v-MEDIASIFT_DERIVED_BUCKET");
}
