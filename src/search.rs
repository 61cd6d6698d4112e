//! Search results grouped per asset, best asset first: what `mediasift search` prints and
//! `GET /search?q=` returns.

use std::collections::BTreeMap;

use mediasift_graph::ports::{GraphError, GraphQueries, SearchHit, SearchIndex};
use schemars::JsonSchema;
use serde::Serialize;

use crate::runtime::LocalRuntime;

/// One asset and where in it the words were found.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetMatches {
    pub asset_id: String,
    /// The key it was uploaded as.
    pub name: String,
    /// `video`, `audio`, `image`, `document`; `?` when the graph does not know the asset.
    pub media_type: String,
    /// The best match's score; higher is better.
    pub score: f64,
    pub matches: Vec<Match>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Match {
    /// `transcript`, `text`, `page`, `label`, `keyphrase`, `entity`, `person`, `fileName`,
    /// `description`.
    pub field: String,
    /// The matching text, the matched words marked `[like this]`.
    pub text: String,
    /// Where in time (seconds from, to), for time-based media.
    pub ranges: Vec<(f64, f64)>,
    /// The document page, for documents.
    pub page: Option<u32>,
}

/// At most `limit` assets matching `query`, in the order of their best hit.
pub async fn search(
    runtime: &LocalRuntime,
    query: &str,
    limit: usize,
) -> Result<Vec<AssetMatches>, GraphError> {
    let hits = runtime
        .graph
        .search(query, limit.saturating_mul(20).max(100))
        .await?;
    let mut order: Vec<String> = Vec::new();
    let mut by_asset: BTreeMap<String, Vec<SearchHit>> = BTreeMap::new();
    for hit in hits {
        if !by_asset.contains_key(&hit.asset_id) {
            order.push(hit.asset_id.clone());
        }
        by_asset.entry(hit.asset_id.clone()).or_default().push(hit);
    }
    order.truncate(limit);
    let mut out = Vec::with_capacity(order.len());
    for asset_id in order {
        let hits = by_asset.remove(&asset_id).unwrap_or_default();
        let (name, media_type) = match runtime.graph.asset(&asset_id).await? {
            Some(g) => (
                g.asset.name.clone(),
                g.asset
                    .properties
                    .get("mediaType")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
                    .to_owned(),
            ),
            None => (asset_id.clone(), "?".into()),
        };
        out.push(AssetMatches {
            score: hits.first().map_or(0.0, |h| h.score),
            matches: hits
                .into_iter()
                .map(|h| Match {
                    field: h.field.name().to_owned(),
                    text: h.snippet,
                    ranges: h.ranges,
                    page: h.page,
                })
                .collect(),
            asset_id,
            name,
            media_type,
        });
    }
    Ok(out)
}
