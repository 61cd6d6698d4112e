//! The graph service as an AWS Lambda function: every `… Ingested`, analysis completion and
//! `Processing Failed` in; the knowledge graph in Amazon Neptune (openCypher), each
//! contribution's search documents in the derived bucket, and `Asset Analysis Completed` out
//! once an asset's plan is done. Without a graph database (`MEDIASIFT_NEPTUNE_ENDPOINT=off`)
//! it still tracks completion and writes the search documents.
//!
//! Everything is read once, at cold start; a missing or invalid variable stops the function
//! before it takes any event, with a message naming it.

use std::sync::Arc;

use mediasift_graph::Graph;
use mediasift_graph::config::LambdaSettings;
use mediasift_graph::neptune::NeptuneGraph;
use mediasift_graph::ports::GraphStore;
use mediasift_kit::aws::load_sdk_config;
use mediasift_kit::lambda::{LambdaConfig, run};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (settings, kit) = match LambdaSettings::from_env()
        .map_err(Error::from)
        .and_then(|settings| Ok((settings, LambdaConfig::from_env()?)))
    {
        Ok(read) => read,
        Err(e) => {
            // Before the runtime's JSON logging starts: a plain line reaches CloudWatch.
            eprintln!("mediasift-graph-lambda cannot start: {e}");
            std::process::exit(1);
        }
    };
    let sdk = load_sdk_config(kit.endpoint_url.as_deref()).await;
    let store = settings
        .neptune_endpoint
        .as_deref()
        .map(|endpoint| Arc::new(NeptuneGraph::from_conf(&sdk, endpoint)) as Arc<dyn GraphStore>);
    run(Graph::new(settings.graph, store, None)).await
}
