//! The embedded bus on the committed contracts: `contracts/rules/*.json` route
//! `contracts/examples/*.json` the way the design's event table says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mediasift_kit::local::bus::{BusConfig, DeadLetterFilter, LocalBus};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{EventPublisher, SystemClock};
use mediasift_kit::{Handler, HandlerError, Ports, Subscriptions};
use mediasift_schemas::{RawEvent, SERVICES};
use tempfile::TempDir;

fn contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts")
}

/// Every example event, by file stem (`mediasift.ingest@VideoIngested`).
fn examples() -> BTreeMap<String, RawEvent> {
    let mut examples = BTreeMap::new();
    for entry in std::fs::read_dir(contracts().join("examples")).expect("contracts/examples exists")
    {
        let path = entry.expect("readable").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("readable");
            let event: RawEvent = serde_json::from_str(&text).expect("an example is an event");
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            examples.insert(stem, event);
        }
    }
    examples
}

fn bus(dir: &TempDir) -> LocalBus {
    let ports = Ports {
        objects: Arc::new(
            LocalObjectStore::open(std::env::temp_dir().join("mediasift-bus-tests"))
                .expect("opens"),
        ),
        state: Arc::new(SqliteStateStore::open_in_memory().expect("opens")),
        clock: Arc::new(SystemClock),
        derived_bucket: "derived".into(),
        ingest_bucket: "ingest".into(),
    };
    let bus =
        LocalBus::open(&dir.path().join("bus.sqlite"), BusConfig::default(), ports).expect("opens");
    let loaded = bus
        .load_rules_dir(&contracts().join("rules"))
        .expect("the committed rules load");
    let mut expected: Vec<String> = SERVICES.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(loaded, expected, "one rules file per service");
    bus
}

#[tokio::test]
async fn the_committed_rules_route_the_example_events_to_their_consumers() {
    let dir = TempDir::new().expect("temp dir");
    let bus = bus(&dir);
    let examples = examples();
    let targets = |name: &str| bus.targets(&examples[name]).expect("routes");

    assert_eq!(targets("aws.s3@ObjectCreated"), ["ingest"]);
    for (example, analyser) in [
        ("mediasift.ingest@VideoIngested", "video"),
        ("mediasift.ingest@AudioIngested", "audio"),
        ("mediasift.ingest@ImageIngested", "image"),
        ("mediasift.ingest@DocumentIngested", "document"),
    ] {
        let to = targets(example);
        assert!(
            to.iter().any(|s| s == analyser) && to.iter().any(|s| s == "graph"),
            "{example}: {to:?}"
        );
    }
    assert!(targets("mediasift.video@VideoAnalysisCompleted").contains(&"scene".to_owned()));
    assert!(targets("mediasift.scene@ScenesDetected").contains(&"adbreak".to_owned()));
    assert!(targets("mediasift.video@ProcessingFailed").contains(&"graph".to_owned()));
    assert!(
        targets("mediasift.graph@AssetAnalysisCompleted").is_empty(),
        "for third parties only"
    );
}

/// Handles everything; subscribed by the contract files only.
struct Sink {
    service: &'static str,
    seen: Mutex<usize>,
}

#[async_trait]
impl Handler for Sink {
    fn service(&self) -> &'static str {
        self.service
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions::new(self.service, Vec::new())
    }

    async fn handle(
        &self,
        _event: &RawEvent,
        _ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        *self.seen.lock().expect("not poisoned") += 1;
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn every_example_is_delivered_to_every_service_its_rules_name() {
    let dir = TempDir::new().expect("temp dir");
    let bus = bus(&dir);
    let sinks: Vec<Arc<Sink>> = SERVICES
        .iter()
        .map(|&service| {
            Arc::new(Sink {
                service,
                seen: Mutex::new(0),
            })
        })
        .collect();
    for sink in &sinks {
        bus.register(sink.clone()).expect("registers");
    }
    let examples: Vec<RawEvent> = examples().into_values().collect();
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for example in &examples {
        for service in bus.targets(example).expect("routes") {
            *expected.entry(service).or_default() += 1;
        }
    }
    bus.publish(&examples).await.expect("publishes");
    tokio::time::timeout(Duration::from_secs(20), bus.run_until_idle())
        .await
        .expect("in time")
        .expect("runs");

    let seen: BTreeMap<String, usize> = sinks
        .iter()
        .map(|s| (s.service.to_owned(), *s.seen.lock().expect("not poisoned")))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(seen, expected);
    assert!(
        bus.dead_letters(DeadLetterFilter::default())
            .await
            .expect("reads")
            .is_empty()
    );
}
