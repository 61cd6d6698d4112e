//! The embedded bus end to end: 2,000 events published to eight subscribers (rules matching
//! from a quarter to all of them, about four deliveries an event), timed from `publish` to
//! `wait_idle`, with the database on a temp file. Throughput is in events.
//!
//! `cargo bench -p mediasift-kit --bench bus` (`MEDIASIFT_BENCH_CONCURRENCY=8` to try another
//! `concurrency_per_target` than the default 2).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mediasift_kit::local::bus::{BusConfig, LocalBus};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{EventPublisher, SystemClock};
use mediasift_kit::{Handler, HandlerError, Ports, Rule, Subscriptions};
use mediasift_schemas::{Envelope, RawEvent};
use serde_json::{Value, json};

const EVENTS: usize = 2_000;
/// Events per `publish` call, as services publish a handful at a time.
const PUBLISH_BATCH: usize = 50;
const DETAIL_TYPES: [&str; 4] = [
    "Video Ingested",
    "Audio Ingested",
    "Image Ingested",
    "Document Ingested",
];

/// Each service's rule; the share of events it matches in the comment.
fn rules() -> Vec<(&'static str, Value)> {
    vec![
        ("ingest", json!({ "source": ["mediasift.ingest"] })), // all
        ("graph", json!({ "source": [{ "prefix": "mediasift." }] })), // all
        ("video", json!({ "detail-type": ["Video Ingested"] })), // 1/4
        (
            "audio",
            json!({ "detail-type": ["Video Ingested", "Audio Ingested"] }),
        ), // 1/2
        ("image", json!({ "detail-type": ["Image Ingested"] })), // 1/4
        (
            "document",
            json!({ "detail": { "plan": { "analyses": ["document"] } } }),
        ), // 1/4
        (
            "scene",
            json!({ "detail": { "bucket": [{ "numeric": ["<", 2] }] } }),
        ), // 1/4
        (
            "adbreak",
            json!({ "detail": { "tag": [{ "prefix": "ad" }] } }),
        ), // 1/2
    ]
}

fn event(i: usize) -> RawEvent {
    let detail_type = DETAIL_TYPES[i % 4];
    let analyses = if detail_type == "Document Ingested" {
        vec!["document"]
    } else {
        vec!["video", "audio"]
    };
    Envelope {
        version: "0".into(),
        id: uuid::Uuid::new_v4().to_string(),
        detail_type: detail_type.into(),
        source: "mediasift.ingest".into(),
        account: "000000000000".into(),
        time: Utc::now(),
        region: "local".into(),
        resources: vec![format!("s3://ingest/media/{i}.mp4")],
        detail: json!({
            "assetId": uuid::Uuid::new_v4().to_string(),
            "schemaVersion": "1.0",
            "bucket": (i / 4) % 8,
            "tag": if i.is_multiple_of(2) { "adBreaks" } else { "none" },
            "plan": { "analyses": analyses },
        }),
    }
}

struct Trivial {
    service: &'static str,
    rule: Value,
}

#[async_trait]
impl Handler for Trivial {
    fn service(&self) -> &'static str {
        self.service
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions::new(
            self.service,
            vec![Rule::new("bench", "bench", self.rule.clone())],
        )
    }

    async fn handle(
        &self,
        _event: &RawEvent,
        _ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        Ok(Vec::new())
    }
}

/// Publishes `events` on a fresh bus and returns the time until every delivery is done.
async fn run_once(events: &[RawEvent]) -> Duration {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let bus = LocalBus::open(
        &dir.path().join("bus.sqlite"),
        BusConfig {
            concurrency_per_target: concurrency(),
            ..BusConfig::default()
        },
        ports(),
    )
    .expect("opens");
    for (service, rule) in rules() {
        bus.register(Arc::new(Trivial { service, rule }))
            .expect("registers");
    }
    let handle = bus.start().expect("starts");
    let started = Instant::now();
    for batch in events.chunks(PUBLISH_BATCH) {
        bus.publish(batch).await.expect("publishes");
    }
    handle.wait_idle().await.expect("goes idle");
    let elapsed = started.elapsed();
    handle.shutdown().await.expect("shuts down");
    elapsed
}

/// `concurrency_per_target`: the default 2, or `MEDIASIFT_BENCH_CONCURRENCY`.
fn concurrency() -> usize {
    std::env::var("MEDIASIFT_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(BusConfig::default().concurrency_per_target)
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("local_bus");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("publish_to_idle_2000_events_8_subscribers", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let events: Vec<RawEvent> = (0..EVENTS).map(event).collect();
                total += runtime.block_on(run_once(&events));
            }
            total
        })
    });
    group.finish();
}

criterion_group!(bus_benches, benches);
criterion_main!(bus_benches);

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
