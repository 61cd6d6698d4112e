//! The embedded bus end to end: real SQLite files, real patterns, small test handlers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures::future::BoxFuture;
use mediasift_kit::handler::derived_event_id;
use mediasift_kit::local::bus::{
    BusConfig, BusError, BusHandle, DeadLetterFilter, DeliveryStatus, EventQuery, LocalBus,
    ReplayFilter,
};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{EventPublisher, PublishError, SystemClock};
use mediasift_kit::{Failure, Handler, HandlerError, Ports, Rule, Subscriptions};
use mediasift_schemas::{Envelope, RawEvent};
use serde_json::{Value, json};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Real local stores; these handlers never touch them.
fn ports() -> Ports {
    Ports {
        objects: Arc::new(
            LocalObjectStore::open(std::env::temp_dir().join("mediasift-bus-tests"))
                .expect("opens"),
        ),
        state: Arc::new(SqliteStateStore::open_in_memory().expect("opens")),
        clock: Arc::new(SystemClock),
        derived_bucket: "derived".into(),
        ingest_bucket: "ingest".into(),
    }
}

fn fast_config() -> BusConfig {
    BusConfig {
        max_attempts: 4,
        backoff_base: Duration::from_millis(1),
        backoff_cap: Duration::from_millis(5),
        poll_interval: Duration::from_millis(20),
        shutdown_grace: Duration::from_secs(5),
        ..BusConfig::default()
    }
}

fn db(dir: &TempDir) -> PathBuf {
    dir.path().join("bus.sqlite")
}

fn open(path: &Path, config: BusConfig) -> LocalBus {
    LocalBus::open(path, config, ports()).expect("the bus opens")
}

fn event(source: &str, detail_type: &str, detail: Value) -> RawEvent {
    Envelope {
        version: "0".into(),
        id: uuid::Uuid::new_v4().to_string(),
        detail_type: detail_type.into(),
        source: source.into(),
        account: "000000000000".into(),
        time: Utc::now(),
        region: "local".into(),
        resources: Vec::new(),
        detail,
    }
}

fn ingested(kind: &str, asset: &str, analyses: &[&str]) -> RawEvent {
    event(
        "mediasift.ingest",
        &format!("{kind} Ingested"),
        json!({ "assetId": asset, "plan": { "analyses": analyses } }),
    )
}

/// The event a handler derives from `cause`: same cause, same id.
fn derived(cause: &RawEvent, service: &str, detail_type: &str) -> RawEvent {
    let mut out = event(
        &format!("mediasift.{service}"),
        detail_type,
        cause.detail.clone(),
    );
    out.id = derived_event_id(&cause.id, service, detail_type);
    out
}

fn rule(name: &str, pattern: Value) -> Rule {
    Rule::new(name, "test rule", pattern)
}

async fn idle(handle: &BusHandle) {
    tokio::time::timeout(Duration::from_secs(20), handle.wait_idle())
        .await
        .expect("the bus goes idle in time")
        .expect("wait_idle succeeds");
}

async fn publish(bus: &LocalBus, events: &[RawEvent]) {
    bus.publish(events).await.expect("publish succeeds");
}

// ---------------------------------------------------------------------------------------------
// A test handler: a service name, its rules, and what it does with each event.

type Behaviour = Box<
    dyn Fn(RawEvent, usize) -> BoxFuture<'static, Result<Vec<RawEvent>, HandlerError>>
        + Send
        + Sync,
>;

struct TestHandler {
    service: &'static str,
    rules: Vec<Rule>,
    /// Ids of the events handled, in call order (a call that panics is recorded too).
    seen: Mutex<Vec<String>>,
    behaviour: Behaviour,
}

impl TestHandler {
    /// `behaviour` gets the event and how many times this handler was called before.
    fn new<F>(service: &'static str, rules: Vec<Rule>, behaviour: F) -> Arc<Self>
    where
        F: Fn(RawEvent, usize) -> BoxFuture<'static, Result<Vec<RawEvent>, HandlerError>>
            + Send
            + Sync
            + 'static,
    {
        Arc::new(Self {
            service,
            rules,
            seen: Mutex::new(Vec::new()),
            behaviour: Box::new(behaviour),
        })
    }

    /// Handles every event successfully, publishing nothing.
    fn sink(service: &'static str, rules: Vec<Rule>) -> Arc<Self> {
        Self::new(service, rules, |_, _| Box::pin(async { Ok(Vec::new()) }))
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("not poisoned").clone()
    }

    fn seen_set(&self) -> BTreeSet<String> {
        self.seen().into_iter().collect()
    }
}

#[async_trait]
impl Handler for TestHandler {
    fn service(&self) -> &'static str {
        self.service
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions::new(self.service, self.rules.clone())
    }

    async fn handle(
        &self,
        event: &RawEvent,
        _ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let calls = {
            let mut seen = self.seen.lock().expect("not poisoned");
            seen.push(event.id.clone());
            seen.len() - 1
        };
        (self.behaviour)(event.clone(), calls).await
    }
}

fn ids(events: &[RawEvent]) -> BTreeSet<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

// ---------------------------------------------------------------------------------------------
// Routing

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reaches_exactly_the_services_whose_rules_match() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    // Exact source and detail-type, nested detail condition.
    let video = TestHandler::sink(
        "video",
        vec![rule(
            "video-ingested",
            json!({ "source": ["mediasift.ingest"], "detail-type": ["Video Ingested"],
                    "detail": { "plan": { "analyses": ["video"] } } }),
        )],
    );
    let audio = TestHandler::sink(
        "audio",
        vec![rule(
            "media-ingested",
            json!({ "detail-type": ["Audio Ingested", "Video Ingested"],
                    "detail": { "plan": { "analyses": ["audio"] } } }),
        )],
    );
    // A prefix, and a second rule that matches some of the same events: still one delivery.
    let graph = TestHandler::sink(
        "graph",
        vec![
            rule(
                "everything-of-ours",
                json!({ "source": [{ "prefix": "mediasift." }] }),
            ),
            rule(
                "ingested",
                json!({ "detail-type": [{ "suffix": " Ingested" }] }),
            ),
        ],
    );
    for handler in [&video, &audio, &graph] {
        bus.register(handler.clone()).expect("registers");
    }

    let both = ingested("Video", "a1", &["video", "audio"]);
    let silent = ingested("Video", "a2", &["video"]);
    let audio_only = ingested("Audio", "a3", &["audio"]);
    let upload = event(
        "aws.s3",
        "Object Created",
        json!({ "bucket": { "name": "ingest" } }),
    );
    let all = [
        both.clone(),
        silent.clone(),
        audio_only.clone(),
        upload.clone(),
    ];

    assert_eq!(
        bus.targets(&both).expect("routes"),
        ["audio", "graph", "video"]
    );
    assert!(bus.targets(&upload).expect("routes").is_empty());

    let handle = bus.start().expect("starts");
    publish(&bus, &all).await;
    idle(&handle).await;
    handle.shutdown().await.expect("shuts down");

    assert_eq!(video.seen_set(), ids(&[both.clone(), silent.clone()]));
    assert_eq!(audio.seen_set(), ids(&[both.clone(), audio_only.clone()]));
    assert_eq!(
        graph.seen().len(),
        3,
        "two matching rules of one service make one delivery"
    );
    assert_eq!(graph.seen_set(), ids(&[both, silent, audio_only]));

    // The unmatched upload is archived all the same.
    let archived = bus
        .events(EventQuery::default())
        .await
        .expect("reads the archive");
    assert_eq!(archived.len(), 4);
    assert_eq!(
        archived
            .iter()
            .map(|(_, e)| e.id.clone())
            .collect::<BTreeSet<_>>(),
        ids(&all)
    );
    assert!(
        archived.windows(2).all(|w| w[0].0 < w[1].0),
        "in archive order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_rules_take_precedence_over_a_handlers_own() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let video = TestHandler::sink(
        "video",
        vec![rule("all", json!({ "source": ["mediasift.ingest"] }))],
    );
    // Contract rules registered before the handler still win.
    bus.register_rules(&Subscriptions::new(
        "video",
        vec![rule(
            "video-only",
            json!({ "detail-type": ["Video Ingested"] }),
        )],
    ))
    .expect("valid rules");
    bus.register(video.clone()).expect("registers");

    assert_eq!(
        bus.targets(&ingested("Video", "a", &[])).expect("routes"),
        ["video"]
    );
    assert!(
        bus.targets(&ingested("Image", "a", &[]))
            .expect("routes")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_load_from_a_directory_of_subscriptions_files() {
    let dir = TempDir::new().expect("temp dir");
    let rules_dir = dir.path().join("rules");
    std::fs::create_dir(&rules_dir).expect("mkdir");
    let subs = Subscriptions::new(
        "scene",
        vec![rule(
            "done",
            json!({ "detail-type": ["Video Analysis Completed"] }),
        )],
    );
    std::fs::write(
        rules_dir.join("scene.json"),
        serde_json::to_string(&subs).expect("json"),
    )
    .expect("write");
    std::fs::write(rules_dir.join("README.txt"), "not rules").expect("write");

    let bus = open(&db(&dir), fast_config());
    assert_eq!(bus.load_rules_dir(&rules_dir).expect("loads"), ["scene"]);
    let done = event("mediasift.video", "Video Analysis Completed", json!({}));
    assert_eq!(bus.targets(&done).expect("routes"), ["scene"]);

    std::fs::write(rules_dir.join("broken.json"), "{").expect("write");
    let error = bus
        .load_rules_dir(&rules_dir)
        .expect_err("a broken file is an error");
    assert!(error.to_string().contains("broken.json"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_rule_is_refused_naming_the_service_and_rule() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let bad = TestHandler::sink(
        "video",
        vec![rule("bad", json!({ "source": "not-an-array" }))],
    );
    let error = bus.register(bad).expect_err("invalid pattern");
    assert!(matches!(error, BusError::InvalidRule { .. }), "{error:?}");
    assert!(
        error.to_string().contains("video") && error.to_string().contains("bad"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Publishing

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_published_twice_is_archived_and_delivered_once() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let video = TestHandler::sink(
        "video",
        vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
    );
    bus.register(video.clone()).expect("registers");
    let e = ingested("Video", "a", &[]);
    publish(&bus, &[e.clone(), e.clone()]).await;
    publish(&bus, std::slice::from_ref(&e)).await;
    bus.run_until_idle().await.expect("runs");
    assert_eq!(video.seen(), [e.id.as_str()]);
    assert_eq!(
        bus.events(EventQuery::default())
            .await
            .expect("reads")
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_over_256_kb_is_refused_and_not_archived() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let big = event(
        "mediasift.video",
        "Video Analysis Completed",
        json!({ "blob": "x".repeat(300 * 1024) }),
    );
    let error = bus.publish(&[big]).await.expect_err("too large");
    assert!(matches!(error, PublishError::TooLarge { .. }), "{error:?}");
    assert!(
        bus.events(EventQuery::default())
            .await
            .expect("reads")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_events_survive_a_restart_before_any_delivery() {
    let dir = TempDir::new().expect("temp dir");
    let events: Vec<RawEvent> = (0..5)
        .map(|i| ingested("Video", &format!("a{i}"), &[]))
        .collect();
    {
        let bus = open(&db(&dir), fast_config());
        bus.register(TestHandler::sink(
            "video",
            vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
        ))
        .expect("registers");
        publish(&bus, &events).await;
    }
    let bus = open(&db(&dir), fast_config());
    let video = TestHandler::sink(
        "video",
        vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
    );
    bus.register(video.clone()).expect("registers");
    bus.run_until_idle().await.expect("runs");
    assert_eq!(video.seen_set(), ids(&events));
}

// ---------------------------------------------------------------------------------------------
// Chains and duplicates

/// `video` turns `Video Ingested` into `Video Analysis Completed` (deterministic id); `scene`
/// consumes that.
fn chain() -> (Arc<TestHandler>, Arc<TestHandler>) {
    let video = TestHandler::new(
        "video",
        vec![rule(
            "ingested",
            json!({ "source": ["mediasift.ingest"], "detail-type": ["Video Ingested"] }),
        )],
        |event, _| {
            Box::pin(async move { Ok(vec![derived(&event, "video", "Video Analysis Completed")]) })
        },
    );
    let scene = TestHandler::sink(
        "scene",
        vec![rule(
            "analysed",
            json!({ "source": ["mediasift.video"], "detail-type": ["Video Analysis Completed"] }),
        )],
    );
    (video, scene)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handlers_output_is_delivered_to_the_next_handler_before_the_bus_is_idle() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let (video, scene) = chain();
    bus.register(video.clone()).expect("registers");
    bus.register(scene.clone()).expect("registers");
    let handle = bus.start().expect("starts");

    let input = ingested("Video", "asset-1", &[]);
    publish(&bus, std::slice::from_ref(&input)).await;
    idle(&handle).await;

    let output = derived(&input, "video", "Video Analysis Completed");
    assert_eq!(video.seen(), [input.id.as_str()]);
    assert_eq!(scene.seen(), [output.id.as_str()]);
    let records = bus.deliveries_for_asset("asset-1").await.expect("reads");
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|r| r.status == DeliveryStatus::Done && r.attempts == 1),
        "{records:?}"
    );
    handle.shutdown().await.expect("shuts down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_until_idle_drives_a_chain_without_a_background_dispatcher() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let (video, scene) = chain();
    bus.register(video.clone()).expect("registers");
    bus.register(scene.clone()).expect("registers");
    let inputs: Vec<RawEvent> = (0..10)
        .map(|i| ingested("Video", &format!("a{i}"), &[]))
        .collect();
    publish(&bus, &inputs).await;
    bus.run_until_idle().await.expect("runs");
    assert_eq!(video.seen().len(), 10);
    assert_eq!(scene.seen().len(), 10);
    let handle = bus
        .start()
        .expect("the bus can be started after run_until_idle");
    assert!(matches!(
        bus.run_until_idle().await,
        Err(BusError::AlreadyRunning)
    ));
    handle.shutdown().await.expect("shuts down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_to_an_idempotent_handler_is_harmless() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let (video, scene) = chain();
    bus.register(video.clone()).expect("registers");
    bus.register(scene.clone()).expect("registers");
    let handle = bus.start().expect("starts");
    let input = ingested("Video", "asset-1", &[]);
    publish(&bus, std::slice::from_ref(&input)).await;
    idle(&handle).await;

    assert_eq!(bus.redeliver(&input.id).await.expect("redelivers"), 1);
    idle(&handle).await;

    assert_eq!(
        video.seen(),
        [input.id.clone(), input.id.clone()],
        "video got the event twice"
    );
    assert_eq!(
        scene.seen().len(),
        1,
        "its identical output was not delivered again"
    );
    let archive = bus.events(EventQuery::default()).await.expect("reads");
    let outputs = archive
        .iter()
        .filter(|(_, e)| e.detail_type == "Video Analysis Completed")
        .count();
    assert_eq!(outputs, 1, "the archive holds one copy of the output");
    assert!(matches!(
        bus.redeliver("no-such-event").await,
        Err(BusError::UnknownEvent(_))
    ));
    handle.shutdown().await.expect("shuts down");
}

// ---------------------------------------------------------------------------------------------
// Failures

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_failure_is_retried_until_it_succeeds() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let flaky = TestHandler::new(
        "video",
        vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
        |_, calls| {
            Box::pin(async move {
                if calls < 2 {
                    Err(HandlerError::retryable(format!("throttled (call {calls})")))
                } else {
                    Ok(Vec::new())
                }
            })
        },
    );
    bus.register(flaky.clone()).expect("registers");
    let handle = bus.start().expect("starts");
    publish(&bus, &[ingested("Video", "asset-1", &[])]).await;
    idle(&handle).await;

    assert_eq!(flaky.seen().len(), 3);
    let records = bus.deliveries_for_asset("asset-1").await.expect("reads");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status, DeliveryStatus::Done);
    assert_eq!(records[0].attempts, 3);
    assert_eq!(records[0].last_error.as_deref(), Some("throttled (call 1)"));
    assert!(
        bus.dead_letters(DeadLetterFilter::default())
            .await
            .expect("reads")
            .is_empty()
    );
    handle.shutdown().await.expect("shuts down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_and_permanent_failures_are_dead_lettered_announced_and_retryable() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(
        &db(&dir),
        BusConfig {
            max_attempts: 3,
            ..fast_config()
        },
    );
    let fixed = Arc::new(AtomicBool::new(false));
    let video = TestHandler::new(
        "video",
        vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
        {
            let fixed = fixed.clone();
            move |_, _| {
                let fixed = fixed.load(Ordering::SeqCst);
                Box::pin(async move {
                    if fixed {
                        Ok(Vec::new())
                    } else {
                        Err(HandlerError::retryable("Rekognition throttled"))
                    }
                })
            }
        },
    );
    let audio = TestHandler::new(
        "audio",
        vec![rule("a", json!({ "detail-type": ["Video Ingested"] }))],
        {
            let fixed = fixed.clone();
            move |_, _| {
                let fixed = fixed.load(Ordering::SeqCst);
                Box::pin(async move {
                    if fixed {
                        Ok(Vec::new())
                    } else {
                        Err(HandlerError::permanent(Failure::new(
                            "CorruptMedia",
                            "moov atom not found",
                            "Re-upload the file.",
                        )))
                    }
                })
            }
        },
    );
    let failures = Arc::new(Mutex::new(Vec::<RawEvent>::new()));
    let graph = TestHandler::new(
        "graph",
        vec![rule(
            "failed",
            json!({ "detail-type": ["Processing Failed"] }),
        )],
        {
            let failures = failures.clone();
            move |event, _| {
                failures.lock().expect("not poisoned").push(event);
                Box::pin(async { Ok(Vec::new()) })
            }
        },
    );
    for handler in [&video, &audio, &graph] {
        bus.register(handler.clone()).expect("registers");
    }
    let handle = bus.start().expect("starts");
    let asset = uuid::Uuid::new_v4().to_string();
    let input = ingested("Video", &asset, &[]);
    publish(&bus, std::slice::from_ref(&input)).await;
    idle(&handle).await;

    assert_eq!(video.seen().len(), 3, "max_attempts attempts");
    assert_eq!(audio.seen().len(), 1, "a permanent failure is not retried");

    let dead = bus
        .dead_letters(DeadLetterFilter::default())
        .await
        .expect("reads");
    let by_service: BTreeMap<&str, _> = dead.iter().map(|d| (d.service.as_str(), d)).collect();
    assert_eq!(
        by_service.keys().copied().collect::<Vec<_>>(),
        ["audio", "video"]
    );
    let video_dead = by_service["video"];
    assert_eq!(video_dead.event_id, input.id);
    assert_eq!(video_dead.detail_type, "Video Ingested");
    assert_eq!(video_dead.asset_id.as_deref(), Some(asset.as_str()));
    assert_eq!(video_dead.attempts, 3);
    let video_error = video_dead.last_error.as_deref().unwrap_or_default();
    assert!(
        video_error.contains("RetriesExhausted") && video_error.contains("Rekognition throttled"),
        "{video_error}"
    );
    assert_eq!(by_service["audio"].attempts, 1);
    assert_eq!(
        by_service["audio"].last_error.as_deref(),
        Some("CorruptMedia: moov atom not found")
    );

    // Each dead letter published a Processing Failed event, which the graph rule received.
    let failures: Vec<RawEvent> = failures.lock().expect("not poisoned").clone();
    assert_eq!(failures.len(), 2);
    let by_service: BTreeMap<String, &RawEvent> = failures
        .iter()
        .map(|e| {
            (
                e.detail["service"].as_str().unwrap_or_default().to_owned(),
                e,
            )
        })
        .collect();
    let video_failed = &by_service["video"].detail;
    assert_eq!(by_service["video"].source, "mediasift.video");
    assert_eq!(video_failed["errorCode"], "RetriesExhausted");
    assert_eq!(video_failed["failedEventId"], input.id.as_str());
    assert_eq!(video_failed["failedDetailType"], "Video Ingested");
    assert_eq!(video_failed["assetId"], asset.as_str());
    assert_eq!(video_failed["retryable"], true);
    assert!(
        video_failed["cause"]
            .as_str()
            .unwrap_or_default()
            .contains("gave up after 3 attempts")
    );
    let audio_failed = &by_service["audio"].detail;
    assert_eq!(audio_failed["errorCode"], "CorruptMedia");
    assert_eq!(audio_failed["cause"], "moov atom not found");
    assert_eq!(audio_failed["action"], "Re-upload the file.");
    assert_eq!(audio_failed["failedEventId"], input.id.as_str());

    // Filters select dead letters.
    let only_video = DeadLetterFilter {
        service: Some("video".into()),
        ..DeadLetterFilter::default()
    };
    assert_eq!(bus.dead_letters(only_video).await.expect("reads").len(), 1);

    // Once the cause is fixed, retrying the dead letters completes them.
    fixed.store(true, Ordering::SeqCst);
    assert_eq!(
        bus.retry_dead_letters(DeadLetterFilter::default())
            .await
            .expect("retries"),
        2
    );
    idle(&handle).await;
    assert!(
        bus.dead_letters(DeadLetterFilter::default())
            .await
            .expect("reads")
            .is_empty()
    );
    let records = bus.deliveries_for_asset(&asset).await.expect("reads");
    let statuses: BTreeMap<&str, DeliveryStatus> = records
        .iter()
        .filter(|r| r.detail_type == "Video Ingested")
        .map(|r| (r.service.as_str(), r.status))
        .collect();
    assert_eq!(
        statuses,
        BTreeMap::from([
            ("audio", DeliveryStatus::Done),
            ("video", DeliveryStatus::Done)
        ])
    );
    assert_eq!(video.seen().len(), 4);
    assert_eq!(audio.seen().len(), 2);
    handle.shutdown().await.expect("shuts down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_failure_of_an_event_past_its_maximum_age_is_dead_lettered() {
    let dir = TempDir::new().expect("temp dir");
    let config = BusConfig {
        max_attempts: 100,
        max_event_age: Duration::from_secs(60),
        ..fast_config()
    };
    let bus = open(&db(&dir), config);
    let video = TestHandler::new(
        "video",
        vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
        |_, _| Box::pin(async { Err(HandlerError::retryable("store unavailable")) }),
    );
    bus.register(video.clone()).expect("registers");
    let mut old = ingested("Video", "old", &[]);
    old.time = Utc::now() - chrono::Duration::minutes(5);
    publish(&bus, &[old]).await;
    bus.run_until_idle().await.expect("runs");
    assert_eq!(video.seen().len(), 1);
    let dead = bus
        .dead_letters(DeadLetterFilter::default())
        .await
        .expect("reads");
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("maximum age"),
        "{dead:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_dead_lettered_and_the_bus_keeps_working() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let video = TestHandler::new(
        "video",
        vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
        |event, _| {
            Box::pin(async move {
                if event.detail["assetId"] == "poison" {
                    panic!("boom on {}", event.id);
                }
                Ok(Vec::new())
            })
        },
    );
    bus.register(video.clone()).expect("registers");
    let handle = bus.start().expect("starts");
    let poison = ingested("Video", "poison", &[]);
    let fine = ingested("Video", "fine", &[]);
    publish(&bus, &[poison.clone(), fine.clone()]).await;
    idle(&handle).await;

    let dead = bus
        .dead_letters(DeadLetterFilter::default())
        .await
        .expect("reads");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, poison.id);
    let error = dead[0].last_error.as_deref().unwrap_or_default();
    assert!(
        error.contains(&format!("handler panicked: boom on {}", poison.id)),
        "{error}"
    );
    assert_eq!(dead[0].attempts, 1, "a panic is not retried");

    let later = ingested("Video", "later", &[]);
    publish(&bus, std::slice::from_ref(&later)).await;
    idle(&handle).await;
    assert_eq!(video.seen_set(), ids(&[poison, fine, later]));
    handle.shutdown().await.expect("shuts down");
}

// ---------------------------------------------------------------------------------------------
// Replay

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_redelivers_the_archived_events_matching_the_filter() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    let video = TestHandler::sink(
        "video",
        vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
    );
    let graph = TestHandler::sink(
        "graph",
        vec![rule("g", json!({ "source": [{ "prefix": "mediasift." }] }))],
    );
    bus.register(video.clone()).expect("registers");
    bus.register(graph.clone()).expect("registers");
    let handle = bus.start().expect("starts");
    let a1 = [ingested("Video", "a1", &[]), ingested("Image", "a1", &[])];
    let a2 = ingested("Video", "a2", &[]);
    publish(&bus, &a1).await;
    publish(&bus, std::slice::from_ref(&a2)).await;
    idle(&handle).await;

    // Asset a1: video gets one event, graph two.
    let replayed = bus
        .replay(ReplayFilter {
            asset_id: Some("a1".into()),
            ..ReplayFilter::default()
        })
        .await
        .expect("replays");
    assert_eq!(replayed, 3);
    idle(&handle).await;
    assert_eq!(video.seen().iter().filter(|id| **id == a1[0].id).count(), 2);
    assert_eq!(video.seen().iter().filter(|id| **id == a2.id).count(), 1);
    assert_eq!(graph.seen().len(), 3 + 2);

    // One service only.
    let only_video = ReplayFilter {
        service: Some("video".into()),
        ..ReplayFilter::default()
    };
    assert_eq!(bus.replay(only_video).await.expect("replays"), 2);
    idle(&handle).await;
    assert_eq!(graph.seen().len(), 5, "graph was not replayed to");
    assert_eq!(video.seen().len(), 5);

    // Nothing happened after a time in the future.
    let future = ReplayFilter {
        since: Some(Utc::now() + chrono::Duration::hours(1)),
        ..ReplayFilter::default()
    };
    assert_eq!(bus.replay(future).await.expect("replays"), 0);

    // The archive can be followed page by page.
    let first = bus
        .events(EventQuery {
            after_seq: 0,
            limit: 2,
            ..EventQuery::default()
        })
        .await
        .expect("reads");
    assert_eq!(first.len(), 2);
    let rest = bus
        .events(EventQuery {
            after_seq: first[1].0,
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .expect("reads");
    assert_eq!(
        rest.iter().map(|(_, e)| e.id.as_str()).collect::<Vec<_>>(),
        [a2.id.as_str()]
    );
    let of_a1 = bus
        .events(EventQuery {
            asset_id: Some("a1".into()),
            ..EventQuery::default()
        })
        .await
        .expect("reads");
    assert_eq!(of_a1.len(), 2);
    handle.shutdown().await.expect("shuts down");
}

// ---------------------------------------------------------------------------------------------
// Crash safety and concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_delivery_loses_no_event() {
    let dir = TempDir::new().expect("temp dir");
    let rules = || vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))];
    let events: Vec<RawEvent> = (0..6)
        .map(|i| ingested("Video", "crash", &[&format!("n{i}")]))
        .collect();
    {
        let bus = open(&db(&dir), fast_config());
        let entered = Arc::new(AtomicUsize::new(0));
        let stuck = TestHandler::new("video", rules(), {
            let entered = entered.clone();
            move |_, _| {
                entered.fetch_add(1, Ordering::SeqCst);
                Box::pin(std::future::pending())
            }
        });
        bus.register(stuck).expect("registers");
        let handle = bus.start().expect("starts");
        publish(&bus, &events).await;
        tokio::time::timeout(Duration::from_secs(10), async {
            while entered.load(Ordering::SeqCst) < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("two deliveries start");
        let records = bus.deliveries_for_asset("crash").await.expect("reads");
        assert!(
            records.iter().all(|r| r.status != DeliveryStatus::Done),
            "{records:?}"
        );
        assert!(
            records
                .iter()
                .filter(|r| r.status == DeliveryStatus::InFlight)
                .count()
                >= 2
        );
        // The crash: no shutdown.
        drop(handle);
        drop(bus);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let bus = open(&db(&dir), fast_config());
    let video = TestHandler::sink("video", rules());
    bus.register(video.clone()).expect("registers");
    let handle = bus.start().expect("starts");
    idle(&handle).await;
    assert_eq!(
        video.seen_set(),
        ids(&events),
        "every event is delivered at least once"
    );
    let records = bus.deliveries_for_asset("crash").await.expect("reads");
    assert_eq!(records.len(), 6);
    assert!(
        records.iter().all(|r| r.status == DeliveryStatus::Done),
        "{records:?}"
    );
    handle.shutdown().await.expect("shuts down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_running_handlers_finish_and_releases_the_rest() {
    let dir = TempDir::new().expect("temp dir");
    let config = BusConfig {
        concurrency_per_target: 1,
        ..fast_config()
    };
    let bus = open(&db(&dir), config);
    let slow = TestHandler::new(
        "video",
        vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
        |_, _| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(Vec::new())
            })
        },
    );
    bus.register(slow.clone()).expect("registers");
    let handle = bus.start().expect("starts");
    // With one slot, the first runs while the others wait, claimed.
    let events: Vec<RawEvent> = (0..4).map(|_| ingested("Video", "s", &[])).collect();
    publish(&bus, &events).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while slow.seen().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the delivery starts");
    handle.shutdown().await.expect("shuts down");

    let records = bus.deliveries_for_asset("s").await.expect("reads");
    let done: Vec<_> = records
        .iter()
        .filter(|r| r.status == DeliveryStatus::Done)
        .collect();
    assert_eq!(
        done.len(),
        slow.seen().len(),
        "what ran finished: {records:?}"
    );
    assert!(
        records
            .iter()
            .filter(|r| r.status != DeliveryStatus::Done)
            .all(|r| r.status == DeliveryStatus::Pending && r.attempts == 0),
        "what did not run is pending again, unattempted: {records:?}"
    );

    // The next start delivers the rest.
    let handle = bus.start().expect("starts again");
    idle(&handle).await;
    assert_eq!(slow.seen_set(), ids(&events));
    handle.shutdown().await.expect("shuts down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_prompt_under_endless_load() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    // Every tick makes two more: the work never runs out.
    let ticker = TestHandler::new(
        "video",
        vec![rule("tick", json!({ "detail-type": ["Tick"] }))],
        |_, _| {
            Box::pin(async {
                Ok((0..2)
                    .map(|_| event("mediasift.video", "Tick", json!({})))
                    .collect())
            })
        },
    );
    bus.register(ticker.clone()).expect("registers");
    let handle = bus.start().expect("starts");
    publish(&bus, &[event("mediasift.video", "Tick", json!({}))]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown())
        .await
        .expect("shutdown returns promptly")
        .expect("shuts down");
    assert!(
        ticker.seen().len() > 10,
        "the ticker ran: {}",
        ticker.seen().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_runs_without_waiting_for_polls() {
    let dir = TempDir::new().expect("temp dir");
    // Polling so rarely that any step waiting for a poll would blow the time limit.
    let config = BusConfig {
        poll_interval: Duration::from_secs(30),
        ..fast_config()
    };
    let bus = open(&db(&dir), config);
    let step = |service: &'static str, from: &'static str, to: &'static str| {
        TestHandler::new(
            service,
            vec![rule("in", json!({ "detail-type": [from] }))],
            move |event, _| Box::pin(async move { Ok(vec![derived(&event, service, to)]) }),
        )
    };
    let handlers = [
        step("video", "Video Ingested", "Video Analysis Completed"),
        step("scene", "Video Analysis Completed", "Scenes Detected"),
        step("adbreak", "Scenes Detected", "Ad Breaks Detected"),
        TestHandler::sink(
            "graph",
            vec![rule("in", json!({ "detail-type": ["Ad Breaks Detected"] }))],
        ),
    ];
    for handler in &handlers {
        bus.register(handler.clone()).expect("registers");
    }
    let handle = bus.start().expect("starts");
    let started = std::time::Instant::now();
    publish(&bus, &[ingested("Video", "fast", &[])]).await;
    idle(&handle).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(handlers[3].seen().len(), 1);
    handle.shutdown().await.expect("shuts down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_service_runs_more_handlers_at_once_than_its_bound() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(
        &db(&dir),
        BusConfig {
            concurrency_per_target: 2,
            ..fast_config()
        },
    );
    let gauges: Vec<Arc<(AtomicUsize, AtomicUsize)>> =
        (0..2).map(|_| Arc::new(Default::default())).collect();
    let make = |service: &'static str, gauge: Arc<(AtomicUsize, AtomicUsize)>| {
        TestHandler::new(
            service,
            vec![rule("v", json!({ "detail-type": ["Video Ingested"] }))],
            move |_, _| {
                let gauge = gauge.clone();
                Box::pin(async move {
                    let now = gauge.0.fetch_add(1, Ordering::SeqCst) + 1;
                    gauge.1.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    gauge.0.fetch_sub(1, Ordering::SeqCst);
                    Ok(Vec::new())
                })
            },
        )
    };
    bus.register(make("video", gauges[0].clone()))
        .expect("registers");
    bus.register(make("audio", gauges[1].clone()))
        .expect("registers");
    let handle = bus.start().expect("starts");
    let events: Vec<RawEvent> = (0..20)
        .map(|i| ingested("Video", &format!("c{i}"), &[]))
        .collect();
    publish(&bus, &events).await;
    idle(&handle).await;
    for gauge in &gauges {
        assert_eq!(
            gauge.1.load(Ordering::SeqCst),
            2,
            "the bound is reached and never passed"
        );
    }
    handle.shutdown().await.expect("shuts down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_for_a_service_without_a_handler_wait_for_one() {
    let dir = TempDir::new().expect("temp dir");
    let bus = open(&db(&dir), fast_config());
    bus.register_rules(&Subscriptions::new(
        "image",
        vec![rule("i", json!({ "detail-type": ["Image Ingested"] }))],
    ))
    .expect("valid");
    let handle = bus.start().expect("starts");
    publish(&bus, &[ingested("Image", "parked", &[])]).await;
    idle(&handle).await; // nothing to dispatch: the image delivery is parked
    let records = bus.deliveries_for_asset("parked").await.expect("reads");
    assert_eq!(records[0].status, DeliveryStatus::Pending);

    let image = TestHandler::sink("image", Vec::new());
    bus.register(image.clone()).expect("registers");
    idle(&handle).await;
    assert_eq!(image.seen().len(), 1);
    handle.shutdown().await.expect("shuts down");
}

// ---------------------------------------------------------------------------------------------
// Errors

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_database_is_reported_with_its_path() {
    let dir = TempDir::new().expect("temp dir");
    let path = db(&dir);
    std::fs::write(&path, vec![b'x'; 4096]).expect("write");
    let error = LocalBus::open(&path, fast_config(), ports())
        .err()
        .expect("not a database");
    assert!(matches!(error, BusError::Corrupt { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn a_nonsensical_config_is_refused() {
    let dir = TempDir::new().expect("temp dir");
    let config = BusConfig {
        concurrency_per_target: 0,
        ..BusConfig::default()
    };
    let error = LocalBus::open(&db(&dir), config, ports())
        .err()
        .expect("invalid");
    assert!(
        error.to_string().contains("concurrency_per_target"),
        "{error}"
    );
}
