//! The graph service's ports with faults injected and retried, as `kit::faults` and
//! `kit::retry` do for the shared ports (the graph's ports live in its own crate).

use std::sync::Arc;

use async_trait::async_trait;
use mediasift_graph::model::Facts;
use mediasift_graph::ports::{GraphError, GraphStore, SearchDoc, SearchHit, SearchIndex};
use mediasift_kit::faults::{Injector, Port};
use mediasift_kit::retry::RetryPolicy;

/// A knowledge graph and search index whose calls fail as the injector decides, and are
/// retried as the other ports' are.
pub struct FaultyGraph<G> {
    inner: Arc<G>,
    injector: Arc<Injector>,
    retry: RetryPolicy,
}

impl<G> FaultyGraph<G> {
    pub fn new(inner: Arc<G>, injector: Arc<Injector>) -> Self {
        Self {
            inner,
            injector,
            retry: RetryPolicy::default(),
        }
    }

    async fn call<T, F, Fut>(&self, operation: &str, target: &str, call: F) -> Result<T, GraphError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, GraphError>>,
    {
        self.retry
            .retry(|| {
                self.injector.guarded(
                    Port::Graph,
                    operation,
                    target,
                    &call,
                    GraphError::Unavailable,
                    GraphError::Failed,
                )
            })
            .await
    }
}

#[async_trait]
impl<G: GraphStore + 'static> GraphStore for FaultyGraph<G> {
    async fn apply(&self, facts: &Facts) -> Result<(), GraphError> {
        let target = format!("{}/{}", facts.asset_id, facts.analysis);
        self.call("apply", &target, || self.inner.apply(facts))
            .await
    }

    async fn assets_with_checksum(&self, md5: &str) -> Result<Vec<String>, GraphError> {
        self.call("assets-with-checksum", md5, || {
            self.inner.assets_with_checksum(md5)
        })
        .await
    }
}

#[async_trait]
impl<G: SearchIndex + 'static> SearchIndex for FaultyGraph<G> {
    async fn replace(
        &self,
        asset_id: &str,
        analysis: &str,
        docs: &[SearchDoc],
    ) -> Result<(), GraphError> {
        let target = format!("{asset_id}/{analysis}");
        self.call("replace", &target, || {
            self.inner.replace(asset_id, analysis, docs)
        })
        .await
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, GraphError> {
        self.call("search", query, || self.inner.search(query, limit))
            .await
    }
}
