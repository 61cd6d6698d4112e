//! Choreography on the AWS path, on moto: an object PUT to the ingest bucket becomes S3's
//! `Object Created` on the default bus, a rule forwards it to the mediasift bus, the bus's
//! rules route it to the ingest queue, the ingest poller's handler emits `Video Ingested`, the
//! bus routes that to the video queue, and the video handler's `Video Analysis Completed`
//! reaches the catch-all queue. Small test handlers stand in for the real services.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use mediasift_e2e::aws_path::{AwsPath, Outcome, load_contract_rules};
use mediasift_e2e::moto::{MotoServer, workspace_root};
use mediasift_kit::handler::{Failure, Handler, HandlerError, Ports, caused_by, derived_event_id};
use mediasift_kit::ports::{Body, Condition, PutOptions, Retryable, StateError, Update};
use mediasift_kit::rules::{Rule, Subscriptions};
use mediasift_schemas::{
    Envelope, EventDetail, ObjectCreated, RawEvent, ResultRef, SourceObject,
    VideoAnalysisCompleted, VideoIngested, sources,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// No test may take longer than this, whatever moto does.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// How long an event may take to cross the path.
const FLOW_TIMEOUT: Duration = Duration::from_secs(60);

fn store_failure(e: impl Retryable + std::fmt::Display) -> HandlerError {
    if e.is_retryable() {
        HandlerError::retryable(e.to_string())
    } else {
        HandlerError::permanent(Failure::new(
            "StoreFailed",
            e.to_string(),
            "Check the object store.",
        ))
    }
}

fn bad_event(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::permanent(Failure::new("BadEvent", e.to_string(), "Fix the producer."))
}

/// Ingest, reduced: on `Object Created` in its bucket, heads the object, records the asset and
/// emits `Video Ingested`. Keys ending `.corrupt` fail permanently.
struct TestIngest {
    bucket: String,
}

#[async_trait]
impl Handler for TestIngest {
    fn service(&self) -> &'static str {
        "ingest"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions::new(
            "ingest",
            vec![Rule::new(
                "object-created",
                "Objects created in the ingest bucket",
                json!({
                    "source": [sources::S3],
                    "detail-type": [ObjectCreated::DETAIL_TYPE],
                    "detail": { "bucket": { "name": [self.bucket] } },
                }),
            )],
        )
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        let created = event.decode::<ObjectCreated>().map_err(bad_event)?.detail;
        let bucket = created.bucket.name;
        let key = created
            .object
            .decoded_key()
            .ok_or_else(|| bad_event("the key is not URL-encoded UTF-8"))?;
        let uri = format!("s3://{bucket}/{key}");
        if key.ends_with(".corrupt") {
            return Err(HandlerError::permanent(Failure::new(
                "CorruptMedia",
                format!("{uri} is not a media file ffprobe can read"),
                "Re-export the file and upload it again.",
            )));
        }
        let head = ports
            .objects
            .head(&bucket, &key)
            .await
            .map_err(store_failure)?;
        let asset_id = asset_id_of(&bucket, &key, &head.etag);
        let arrival = serde_json::Map::from_iter([("uri".to_owned(), Value::String(uri.clone()))]);
        match ports
            .state
            .put(
                "ingest",
                &asset_id.to_string(),
                arrival,
                Condition::NotExists,
                None,
            )
            .await
        {
            // A re-delivery: the same asset, the same event again.
            Ok(_) | Err(StateError::ConditionFailed { .. }) => {}
            Err(e) => return Err(store_failure(e)),
        }
        let detail = VideoIngested {
            asset_id,
            metadata: caused_by(event, "ingest", "test"),
            source: SourceObject {
                bucket,
                key,
                version_id: head.version_id,
                size: head.size,
                etag: Some(head.etag),
                uri: uri.clone(),
            },
            ..VideoIngested::example()
        };
        let mut ingested = Envelope::new(sources::INGEST, detail);
        ingested.id = derived_event_id(&event.id, "ingest", VideoIngested::DETAIL_TYPE);
        ingested.resources = vec![uri];
        Ok(vec![ingested.to_raw().map_err(bad_event)?])
    }
}

fn asset_id_of(bucket: &str, key: &str, etag: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("s3://{bucket}/{key}#{etag}").as_bytes(),
    )
}

/// Video analysis, reduced: writes a result document and emits `Video Analysis Completed`.
/// Assets whose key contains `flaky` fail retryably on their first delivery.
struct TestVideo;

#[async_trait]
impl Handler for TestVideo {
    fn service(&self) -> &'static str {
        "video"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions::new(
            "video",
            vec![Rule::new(
                "video-ingested",
                "Video assets ready for analysis",
                json!({ "source": [sources::INGEST], "detail-type": [VideoIngested::DETAIL_TYPE] }),
            )],
        )
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        let ingested = event.decode::<VideoIngested>().map_err(bad_event)?.detail;
        let asset = ingested.asset_id.to_string();
        if ingested.source.key.contains("flaky") {
            let attempts = ports
                .state
                .update(
                    "video-attempts",
                    &asset,
                    &[Update::Increment("attempts".into(), 1)],
                    Condition::Always,
                )
                .await
                .map_err(store_failure)?;
            if attempts.value["attempts"] == json!(1) {
                return Err(HandlerError::retryable(
                    "simulated throttling on the first attempt",
                ));
            }
        }
        let key = format!("{asset}/video/shots.json");
        let shots = json!({ "assetId": asset, "shots": [{ "start": 0.0, "end": 4.2 }] });
        ports
            .objects
            .put(
                &ports.derived_bucket,
                &key,
                Body::Bytes(Bytes::from(shots.to_string())),
                PutOptions {
                    content_type: Some("application/json".into()),
                    ..PutOptions::default()
                },
            )
            .await
            .map_err(store_failure)?;
        let detail = VideoAnalysisCompleted {
            asset_id: ingested.asset_id,
            metadata: caused_by(event, "video", "test"),
            plan: ingested.plan,
            results: vec![ResultRef {
                name: "shots".into(),
                uri: format!("s3://{}/{key}", ports.derived_bucket),
                engine: Some("test".into()),
            }],
            ..VideoAnalysisCompleted::example()
        };
        let mut completed = Envelope::new(sources::VIDEO, detail);
        completed.id = derived_event_id(&event.id, "video", VideoAnalysisCompleted::DETAIL_TYPE);
        Ok(vec![completed.to_raw().map_err(bad_event)?])
    }
}

fn is(event: &RawEvent, detail_type: &str, asset_id: Uuid) -> bool {
    event.detail_type == detail_type && event.detail["assetId"] == json!(asset_id)
}

fn count(outcomes: &[Outcome], pick: impl Fn(&Outcome) -> bool) -> usize {
    outcomes.iter().filter(|o| pick(o)).count()
}

struct Pipeline {
    _moto: MotoServer,
    path: AwsPath,
}

/// The services' rules as exported to `contracts/rules/`, so routing is tested with the real
/// patterns; the test handlers' own rules while the contracts are not exported yet.
fn rules_to_install(ingest_bucket: &str) -> Vec<Subscriptions> {
    let contracts = load_contract_rules(&workspace_root().join("contracts/rules"))
        .expect("contracts/rules parses");
    if contracts.is_empty() {
        println!("contracts/rules is empty; routing with the test handlers' rules");
        vec![
            TestIngest {
                bucket: ingest_bucket.to_owned(),
            }
            .subscriptions(),
            TestVideo.subscriptions(),
        ]
    } else {
        contracts
    }
}

async fn pipeline(name: &str) -> Pipeline {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let ingest_bucket = format!("{name}-ingest");
    let path = AwsPath::provision(&sdk, name, &rules_to_install(&ingest_bucket))
        .await
        .expect("provision the AWS path");
    assert_eq!(path.ingest_bucket, ingest_bucket);
    Pipeline { _moto: moto, path }
}

async fn upload(path: &AwsPath, key: &str) -> Uuid {
    let ports = path.ports();
    let meta = ports
        .objects
        .put(
            &path.ingest_bucket,
            key,
            Body::Bytes(Bytes::from(format!("not really a video: {key}"))),
            PutOptions::default(),
        )
        .await
        .expect("upload");
    asset_id_of(&path.ingest_bucket, key, &meta.etag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_flows_through_eventbridge_rules_to_video_analysis_completed() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let Pipeline { _moto, path } = pipeline("flow").await;
        let ingest = path
            .poller(Arc::new(TestIngest {
                bucket: path.ingest_bucket.clone(),
            }))
            .unwrap()
            .spawn();
        let video = path.poller(Arc::new(TestVideo)).unwrap().spawn();

        let asset_id = upload(&path, "incoming/clip-01.mp4").await;
        let seen = path
            .watch_catch_all(FLOW_TIMEOUT, |events| {
                events
                    .iter()
                    .any(|e| is(e, VideoAnalysisCompleted::DETAIL_TYPE, asset_id))
            })
            .await
            .expect("Video Analysis Completed reaches the catch-all queue");

        let ingested: Vec<&RawEvent> = seen
            .iter()
            .filter(|e| is(e, VideoIngested::DETAIL_TYPE, asset_id))
            .collect();
        assert!(!ingested.is_empty(), "Video Ingested was on the bus too");
        let mut chains = Vec::new();
        for event in &ingested {
            assert_eq!(event.source, sources::INGEST);
            assert_eq!(event.detail["source"]["key"], json!("incoming/clip-01.mp4"));
            // Ingest starts the chain: the Object Created event is cause and correlation.
            let metadata = &event.detail["metadata"];
            assert_eq!(metadata["correlationId"], metadata["causationId"]);
            chains.push(metadata["correlationId"].clone());
        }
        let completed = seen
            .iter()
            .find(|e| is(e, VideoAnalysisCompleted::DETAIL_TYPE, asset_id))
            .unwrap();
        assert_eq!(completed.source, sources::VIDEO);
        // The chain is traceable through the details, whatever ids EventBridge assigned.
        assert!(chains.contains(&completed.detail["metadata"]["correlationId"]));
        assert!(seen.iter().all(|e| e.source.starts_with("mediasift.")));

        let result = path
            .ports()
            .objects
            .get_bytes(
                &path.derived_bucket,
                &format!("{asset_id}/video/shots.json"),
            )
            .await
            .expect("the video result is in the derived bucket");
        let result: Value = serde_json::from_slice(&result).unwrap();
        assert_eq!(result["assetId"], json!(asset_id));

        // Let redeliveries and duplicates finish before stopping the pollers.
        path.wait_until_drained(&["ingest", "video"], FLOW_TIMEOUT)
            .await
            .expect("the service queues drain");
        let ingest_outcomes = ingest.stop().await.unwrap();
        let video_outcomes = video.stop().await.unwrap();
        // moto delivers S3's event to the rules of every bus, so ingest may see it twice
        // (directly and forwarded): at-least-once delivery, handled idempotently.
        let handled = count(&ingest_outcomes, |o| {
            matches!(o, Outcome::Handled { published: 1 })
        });
        assert!(handled >= 1, "ingest outcomes: {ingest_outcomes:?}");
        assert_eq!(
            handled,
            ingest_outcomes.len(),
            "ingest outcomes: {ingest_outcomes:?}"
        );
        assert!(
            count(&video_outcomes, |o| matches!(
                o,
                Outcome::Handled { published: 1 }
            )) >= 1
        );
        assert_eq!(path.queue_depth("ingest").await.unwrap(), 0);
        println!("ingest handled the upload {handled} time(s); video outcomes: {video_outcomes:?}");
    })
    .await
    .expect("the test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_publish_processing_failed_and_retryable_ones_are_redelivered() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let Pipeline { _moto, path } = pipeline("fail").await;
        let ingest = path
            .poller(Arc::new(TestIngest {
                bucket: path.ingest_bucket.clone(),
            }))
            .unwrap()
            .spawn();
        let video = path
            .poller(Arc::new(TestVideo))
            .unwrap()
            .with_retry_delay(Duration::from_secs(1))
            .spawn();

        let corrupt_key = "incoming/broken.corrupt";
        let corrupt = upload(&path, corrupt_key).await;
        let flaky = upload(&path, "incoming/flaky-clip.mp4").await;
        let seen = path
            .watch_catch_all(FLOW_TIMEOUT, |events| {
                events.iter().any(|e| e.detail_type == "Processing Failed")
                    && events
                        .iter()
                        .any(|e| is(e, VideoAnalysisCompleted::DETAIL_TYPE, flaky))
            })
            .await
            .expect("both outcomes reach the catch-all queue");

        let failed = seen
            .iter()
            .find(|e| e.detail_type == "Processing Failed")
            .unwrap();
        assert_eq!(failed.source, sources::INGEST);
        assert_eq!(failed.detail["errorCode"], json!("CorruptMedia"));
        assert_eq!(failed.detail["service"], json!("ingest"));
        assert!(
            failed.detail["cause"]
                .as_str()
                .unwrap()
                .contains(corrupt_key)
        );
        assert_eq!(failed.detail["failedDetailType"], json!("Object Created"));
        assert!(
            !seen
                .iter()
                .any(|e| is(e, VideoIngested::DETAIL_TYPE, corrupt))
        );

        // Let redeliveries and duplicates finish before stopping the pollers.
        path.wait_until_drained(&["ingest", "video"], FLOW_TIMEOUT)
            .await
            .expect("the service queues drain");
        let ingest_outcomes = ingest.stop().await.unwrap();
        let video_outcomes = video.stop().await.unwrap();
        assert!(
            count(
                &ingest_outcomes,
                |o| matches!(o, Outcome::Failed { error_code } if error_code == "CorruptMedia")
            ) >= 1,
            "{ingest_outcomes:?}"
        );
        assert!(
            count(&video_outcomes, |o| matches!(o, Outcome::Retry { .. })) >= 1,
            "the flaky asset failed once: {video_outcomes:?}"
        );
        assert!(count(&video_outcomes, |o| matches!(o, Outcome::Handled { .. })) >= 1);
        // Nothing is left behind: the failure was deleted, the retry handled.
        assert_eq!(path.queue_depth("ingest").await.unwrap(), 0);
        assert_eq!(path.queue_depth("video").await.unwrap(), 0);
    })
    .await
    .expect("the test finishes in time");
}

#[tokio::test]
async fn contract_rules_install_on_the_bus() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;
        let subscriptions = rules_to_install("rules-ingest");
        let path = AwsPath::provision(&sdk, "rules", &subscriptions)
            .await
            .expect("provision");
        let rules = aws_sdk_eventbridge::Client::new(&sdk)
            .list_rules()
            .event_bus_name(&path.bus_name)
            .send()
            .await
            .unwrap();
        let expected: usize = subscriptions.iter().map(|s| s.rules.len()).sum::<usize>() + 1;
        assert_eq!(
            rules.rules().len(),
            expected,
            "every rule plus the catch-all"
        );
        assert_eq!(path.queues.len(), subscriptions.len());
    })
    .await
    .expect("the test finishes in time");
}
