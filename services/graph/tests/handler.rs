//! The graph handler when its graph store refuses every write: the asset still completes, and
//! the graph service says what failed and what to do.

use std::sync::Arc;

use async_trait::async_trait;
use mediasift_graph::model::Facts;
use mediasift_graph::ports::{GraphError, GraphStore};
use mediasift_graph::{Graph, GraphConfig};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::SystemClock;
use mediasift_kit::{Handler, Ports};
use mediasift_schemas::{
    AnalysisKind, Envelope, EventDetail, ImageAnalysisCompleted, ImageIngested, RawEvent, sources,
};

/// A graph store whose disk went read-only.
struct ReadOnlyGraph;

#[async_trait]
impl GraphStore for ReadOnlyGraph {
    async fn apply(&self, _facts: &Facts) -> Result<(), GraphError> {
        Err(GraphError::Failed(
            "attempt to write a readonly database".into(),
        ))
    }

    async fn assets_with_checksum(&self, _md5: &str) -> Result<Vec<String>, GraphError> {
        Err(GraphError::Failed(
            "attempt to write a readonly database".into(),
        ))
    }
}

fn event<D: EventDetail>(source: &str, detail: D) -> RawEvent {
    Envelope::new(source, detail).to_raw().unwrap()
}

#[tokio::test]
async fn a_graph_store_that_refuses_writes_does_not_hold_up_the_asset() {
    let dir = tempfile::tempdir().unwrap();
    let objects = Arc::new(LocalObjectStore::open(dir.path()).unwrap());
    objects.create_bucket("derived").await.unwrap();
    let ports = Ports {
        objects,
        state: Arc::new(SqliteStateStore::open_in_memory().unwrap()),
        clock: Arc::new(SystemClock),
        derived_bucket: "derived".into(),
        ingest_bucket: "ingest".into(),
    };
    let graph = Graph::new(GraphConfig::default(), Some(Arc::new(ReadOnlyGraph)), None);

    let mut ingested = ImageIngested::example();
    ingested.plan.analyses = vec![AnalysisKind::Image];
    let ingested = event(sources::INGEST, ingested);
    let out = graph.handle(&ingested, &ports).await.unwrap();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].detail_type, "Processing Failed");
    assert_eq!(out[0].source, sources::GRAPH);
    assert_eq!(out[0].detail["errorCode"], "GraphStoreFailed");
    assert!(
        out[0].detail["cause"]
            .as_str()
            .unwrap()
            .contains("readonly database"),
        "{}",
        out[0].detail
    );
    assert!(
        out[0].detail["action"].as_str().unwrap().contains("replay"),
        "{}",
        out[0].detail
    );

    // The image's result documents are not in the store: left out, not fatal.
    let completed = event(sources::IMAGE, ImageAnalysisCompleted::example());
    let out = graph.handle(&completed, &ports).await.unwrap();
    let types: Vec<&str> = out.iter().map(|e| e.detail_type.as_str()).collect();
    assert_eq!(types, ["Processing Failed", "Asset Analysis Completed"]);
    assert_eq!(out[1].detail["status"], "completed");
    assert_eq!(out[1].detail["analyses"][0]["analysis"], "image");

    // Delivered again: the same completion, by id.
    let again = graph.handle(&completed, &ports).await.unwrap();
    assert_eq!(again[1].id, out[1].id);
}
