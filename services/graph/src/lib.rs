//! The graph service: the knowledge graph of the library, asset completion tracking
//! (`Asset Analysis Completed`), search and queries.

pub mod completion;
pub mod config;
pub mod export;
pub mod extract;
pub mod handler;
pub mod model;
#[cfg(feature = "aws")]
pub mod neptune;
pub mod ports;
pub mod sqlite;

use mediasift_kit::{Rule, Subscriptions};
use mediasift_schemas::*;
use serde_json::json;

pub use config::GraphConfig;
pub use handler::Graph;

pub const SERVICE: &str = "graph";

/// Every asset's plan (`… Ingested`), every analysis result, and every failure of the other
/// services. Sources are listed, not prefixed, so nothing outside mediasift can spoof them and
/// the graph never consumes its own failures.
pub fn subscriptions() -> Subscriptions {
    let analysis_sources = [
        sources::VIDEO,
        sources::AUDIO,
        sources::IMAGE,
        sources::DOCUMENT,
        sources::SCENE,
        sources::ADBREAK,
    ];
    let failing_sources: Vec<&str> = sources::MEDIASIFT
        .into_iter()
        .filter(|s| *s != sources::GRAPH)
        .collect();
    Subscriptions::new(
        SERVICE,
        vec![
            Rule::new(
                "asset-ingested",
                "Record an asset, its plan and its technical facts.",
                json!({
                    "source": [sources::INGEST],
                    "detail-type": [
                        VideoIngested::DETAIL_TYPE,
                        AudioIngested::DETAIL_TYPE,
                        ImageIngested::DETAIL_TYPE,
                        DocumentIngested::DETAIL_TYPE,
                    ],
                }),
            ),
            Rule::new(
                "analysis-completed",
                "Add an analysis's results to the graph and the search index; complete the asset when its plan is done.",
                json!({
                    "source": analysis_sources,
                    "detail-type": [
                        VideoAnalysisCompleted::DETAIL_TYPE,
                        AudioAnalysisCompleted::DETAIL_TYPE,
                        ImageAnalysisCompleted::DETAIL_TYPE,
                        DocumentAnalysisCompleted::DETAIL_TYPE,
                        ScenesDetected::DETAIL_TYPE,
                        AdBreaksDetected::DETAIL_TYPE,
                    ],
                }),
            ),
            Rule::new(
                "processing-failed",
                "Record a failure; it ends its analysis, so the asset can still complete.",
                json!({
                    "source": failing_sources,
                    "detail-type": [ProcessingFailed::DETAIL_TYPE],
                }),
            ),
        ],
    )
}

/// The AWS permissions the graph function's code needs (`contracts/iam/graph.json`).
pub fn permissions() -> mediasift_kit::iam::Permissions {
    use mediasift_kit::iam::{self, Resource, Statement};
    mediasift_kit::iam::Permissions::new(
        SERVICE,
        vec![
            iam::derived_results(),
            iam::state(),
            iam::publish(),
            Statement::new(
                "Neptune",
                &[
                    "neptune-db:ReadDataViaQuery",
                    "neptune-db:WriteDataViaQuery",
                    "neptune-db:DeleteDataViaQuery",
                ],
                &[Resource::NeptuneCluster],
            ),
        ],
    )
}
