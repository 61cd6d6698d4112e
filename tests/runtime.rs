//! The local runtime with toy services on the real rules: uploads become S3-shaped events, the
//! chain runs through the embedded bus, and the outcome is read back from the archive.

use std::sync::Arc;

use async_trait::async_trait;
use mediasift::config::LocalConfig;
use mediasift::outcome::{AssetState, summarize};
use mediasift::runtime::LocalRuntime;
use mediasift_kit::handler::{caused_by, derived_event_id};
use mediasift_kit::local::bus::EventQuery;
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::ports::{Body, ObjectStore, PutOptions};
use mediasift_kit::{Failure, Handler, HandlerError, Ports, Subscriptions};
use mediasift_schemas::{
    AnalysisKind, AnalysisOutcome, AssetAnalysisCompleted, AssetStatus, Envelope, EventDetail,
    ImageAnalysisCompleted, ImageIngested, MediaType, ObjectCreated, OutcomeStatus, RawEvent,
    sources,
};
use uuid::Uuid;

/// Ingest that turns every upload into an image asset, or fails on a `.bad` key.
struct ToyIngest;
/// Image analysis that completes at once.
struct ToyImage;
/// Completion tracking: one analysis, one completion.
struct ToyGraph;

fn emit<D: EventDetail>(cause: &RawEvent, service: &str, source: &str, detail: D) -> RawEvent {
    let mut event = Envelope::new(source, detail);
    event.id = derived_event_id(&cause.id, service, D::DETAIL_TYPE);
    event.to_raw().unwrap()
}

#[async_trait]
impl Handler for ToyIngest {
    fn service(&self) -> &'static str {
        "ingest"
    }
    fn subscriptions(&self) -> Subscriptions {
        mediasift_ingest::subscriptions()
    }
    async fn handle(&self, event: &RawEvent, _: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        let created = event
            .decode::<ObjectCreated>()
            .map_err(|e| HandlerError::retryable(e.to_string()))?;
        let key = created.detail.object.decoded_key().unwrap();
        let asset_id = Uuid::new_v5(&Uuid::NAMESPACE_URL, key.as_bytes());
        if key.ends_with(".bad") {
            return Err(HandlerError::permanent(
                Failure::new(
                    "CorruptMedia",
                    format!("{key} is not media"),
                    "Upload a media file.",
                )
                .for_asset(asset_id),
            ));
        }
        let mut detail = ImageIngested::example();
        detail.asset_id = asset_id;
        detail.metadata = caused_by(event, "ingest", "test");
        detail.source.key = key.clone();
        detail.source.uri = format!("s3://ingest/{key}");
        Ok(vec![emit(event, "ingest", sources::INGEST, detail)])
    }
}

#[async_trait]
impl Handler for ToyImage {
    fn service(&self) -> &'static str {
        "image"
    }
    fn subscriptions(&self) -> Subscriptions {
        mediasift_image::subscriptions()
    }
    async fn handle(&self, event: &RawEvent, _: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        let ingested = event.decode::<ImageIngested>().unwrap().detail;
        let mut detail = ImageAnalysisCompleted::example();
        detail.asset_id = ingested.asset_id;
        detail.metadata = caused_by(event, "image", "test");
        Ok(vec![emit(event, "image", sources::IMAGE, detail)])
    }
}

#[async_trait]
impl Handler for ToyGraph {
    fn service(&self) -> &'static str {
        "graph"
    }
    fn subscriptions(&self) -> Subscriptions {
        mediasift_graph::subscriptions()
    }
    async fn handle(&self, event: &RawEvent, _: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        if event.detail_type != ImageAnalysisCompleted::DETAIL_TYPE {
            return Ok(Vec::new());
        }
        let completed = event.decode::<ImageAnalysisCompleted>().unwrap().detail;
        let mut detail = AssetAnalysisCompleted::example();
        detail.asset_id = completed.asset_id;
        detail.metadata = caused_by(event, "graph", "test");
        detail.media_type = MediaType::Image;
        detail.status = AssetStatus::Completed;
        detail.analyses = vec![AnalysisOutcome {
            analysis: AnalysisKind::Image,
            status: OutcomeStatus::Completed,
            event_id: event.id.clone(),
            results: completed.results,
            cause: None,
        }];
        Ok(vec![emit(event, "graph", sources::GRAPH, detail)])
    }
}

async fn runtime(dir: &tempfile::TempDir, handlers: Vec<Arc<dyn Handler>>) -> LocalRuntime {
    let config = LocalConfig {
        data_dir: dir.path().to_owned(),
        ..LocalConfig::default()
    };
    LocalRuntime::open_with(config, handlers).await.unwrap()
}

async fn archive(runtime: &LocalRuntime) -> Vec<RawEvent> {
    let query = EventQuery {
        limit: 10_000,
        ..EventQuery::default()
    };
    runtime
        .bus
        .events(query)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

#[tokio::test]
async fn an_upload_is_announced_as_s3_does_and_reaches_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime(&dir, vec![Arc::new(ToyIngest)]).await;
    let key = "news/Évening bulletin +1 ✓.jpg";
    runtime
        .objects
        .put(
            "ingest",
            key,
            Body::Bytes("jpeg".into()),
            PutOptions::default(),
        )
        .await
        .unwrap();

    let events = archive(&runtime).await;
    let created = &events[0];
    assert_eq!(created.source, "aws.s3");
    assert_eq!(created.detail_type, "Object Created");
    assert_eq!(created.resources, ["arn:aws:s3:::ingest"]);
    assert_eq!(
        created.detail["object"]["key"],
        "news/%C3%89vening+bulletin+%2B1+%E2%9C%93.jpg"
    );
    assert_eq!(created.detail["object"]["etag"], md5_hex(b"jpeg").as_str());
    assert_eq!(created.detail["reason"], "PutObject");
    assert_eq!(runtime.bus.targets(created).unwrap(), ["ingest"]);

    // Outputs never re-trigger ingest: the derived bucket announces nothing.
    runtime
        .objects
        .put(
            "derived",
            "x/result.json",
            Body::Bytes("{}".into()),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(archive(&runtime).await.len(), 1);
}

/// An upload stored by a process killed before it announced it: the next start announces it,
/// once, with the stored object's version.
#[tokio::test]
async fn an_upload_whose_announcement_was_lost_is_announced_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let first = runtime(&dir, vec![Arc::new(ToyIngest)]).await;
    assert_eq!(first.announce_missed_uploads().await.unwrap(), 0);
    drop(first);
    // The same store, without its notifications: what a put that died before publishing left.
    let bare = LocalObjectStore::open(dir.path().join("objects")).unwrap();
    let stored = bare
        .put(
            "ingest",
            "lost/clip one.jpg",
            Body::Bytes("jpeg".into()),
            PutOptions::default(),
        )
        .await
        .unwrap();

    let next = runtime(&dir, vec![Arc::new(ToyIngest)]).await;
    assert!(archive(&next).await.is_empty());
    assert_eq!(next.announce_missed_uploads().await.unwrap(), 1);
    let events = archive(&next).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, "Object Created");
    assert_eq!(events[0].detail["object"]["key"], "lost/clip+one.jpg");
    assert_eq!(
        events[0].detail["object"]["version-id"].as_str(),
        stored.version_id.as_deref()
    );
    assert_eq!(next.announce_missed_uploads().await.unwrap(), 0);
}

fn md5_hex(bytes: &[u8]) -> String {
    let out = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..32].to_owned()
}

#[tokio::test]
async fn a_chain_completes_and_a_failure_carries_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime(
        &dir,
        vec![Arc::new(ToyIngest), Arc::new(ToyImage), Arc::new(ToyGraph)],
    )
    .await;
    for key in ["photos/good.jpg", "photos/broken.bad"] {
        runtime
            .objects
            .put(
                "ingest",
                key,
                Body::Bytes(key.as_bytes().to_vec().into()),
                PutOptions::default(),
            )
            .await
            .unwrap();
    }
    runtime.bus.run_until_idle().await.unwrap();

    let events = archive(&runtime).await;
    let views = summarize(&events);
    assert_eq!(views.len(), 2);
    let good = views
        .values()
        .find(|v| v.source.as_deref() == Some("s3://ingest/photos/good.jpg"))
        .unwrap();
    assert_eq!(good.state, AssetState::Completed);
    assert_eq!(
        good.events,
        [
            "Object Created",
            "Image Ingested",
            "Image Analysis Completed",
            "Asset Analysis Completed"
        ]
    );
    assert!(good.results.iter().any(|r| r.name == "exif"));
    let bad = views
        .values()
        .find(|v| v.source.as_deref() == Some("s3://ingest/photos/broken.bad"))
        .unwrap();
    match &bad.state {
        AssetState::Failed { cause } => {
            assert!(
                cause.contains("CorruptMedia") && cause.contains("photos/broken.bad is not media"),
                "{cause}"
            )
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(
        runtime
            .bus
            .dead_letters(Default::default())
            .await
            .unwrap()
            .len(),
        1
    );

    // Re-delivering everything changes nothing: handlers are idempotent, ids deterministic.
    let before = archive(&runtime).await.len();
    let replayed = runtime.bus.replay(Default::default()).await.unwrap();
    assert!(replayed > 0);
    runtime.bus.run_until_idle().await.unwrap();
    assert_eq!(archive(&runtime).await.len(), before);
}
