//! What became of each asset, read from the bus's archive: every event of one asset's
//! processing shares a correlation id (the id of the `Object Created` event that started it).

use std::collections::BTreeMap;

use mediasift_schemas::{RawEvent, ResultRef};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum AssetState {
    /// `Asset Analysis Completed` said every planned analysis completed.
    Completed,
    /// Some analyses completed, some failed.
    Partial { cause: String },
    /// Nothing could be done with the object (or every analysis failed).
    Failed { cause: String },
    /// Ingested; its planned analyses have not (yet) completed.
    Ingested {
        /// The planned analyses (`video`, `audio`, `scenes`, ...).
        planned: Vec<String>,
    },
    /// Ingest left the object alone, on purpose (zero bytes, a partial upload, ...).
    Skipped { reason: String },
    /// The bus is idle but no service said the asset was finished.
    Unfinished { reason: String },
}

impl AssetState {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Partial { .. } => "partial",
            Self::Failed { .. } => "failed",
            Self::Ingested { .. } => "ingested",
            Self::Skipped { .. } => "skipped",
            Self::Unfinished { .. } => "unfinished",
        }
    }

    pub fn is_success(&self) -> bool {
        matches!(self, Self::Completed)
    }
}

/// One asset's processing, as the events tell it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetView {
    pub correlation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
    /// `s3://bucket/key` of the source object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(flatten)]
    pub state: AssetState,
    /// Detail-types seen, in order.
    pub events: Vec<String>,
    pub results: Vec<ResultRef>,
}

/// Groups events by correlation id and tells each chain's state. Events must be in archive
/// order.
pub fn summarize<'a>(
    events: impl IntoIterator<Item = &'a RawEvent>,
) -> BTreeMap<String, AssetView> {
    let mut views: BTreeMap<String, AssetView> = BTreeMap::new();
    for event in events {
        let view = views
            .entry(event.correlation_id())
            .or_insert_with(|| AssetView {
                correlation_id: event.correlation_id(),
                asset_id: None,
                source: None,
                state: AssetState::Unfinished {
                    reason: "no service reported an outcome".into(),
                },
                events: Vec::new(),
                results: Vec::new(),
            });
        observe(view, event);
    }
    views
}

fn observe(view: &mut AssetView, event: &RawEvent) {
    view.events.push(event.detail_type.clone());
    let detail = &event.detail;
    if view.asset_id.is_none() {
        view.asset_id = detail["assetId"].as_str().map(str::to_owned);
    }
    if view.source.is_none() {
        view.source = source_uri(event);
    }
    if let Ok(results) = serde_json::from_value::<Vec<ResultRef>>(detail["results"].clone()) {
        view.results.extend(results);
    }
    match event.detail_type.as_str() {
        "Asset Analysis Completed" => {
            let failures = failure_causes(&detail["analyses"]);
            view.state = match detail["status"].as_str() {
                Some("completed") => AssetState::Completed,
                Some("partial") => AssetState::Partial { cause: failures },
                _ => AssetState::Failed { cause: failures },
            };
        }
        "Video Ingested" | "Audio Ingested" | "Image Ingested" | "Document Ingested"
            if matches!(view.state, AssetState::Unfinished { .. }) =>
        {
            let planned = detail["plan"]["analyses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect();
            view.state = AssetState::Ingested { planned };
        }
        "Processing Failed"
            if !matches!(
                view.state,
                AssetState::Completed | AssetState::Partial { .. }
            ) =>
        {
            let cause = format!(
                "{} ({}): {} — {}",
                detail["service"].as_str().unwrap_or("?"),
                detail["errorCode"].as_str().unwrap_or("?"),
                detail["cause"].as_str().unwrap_or("no cause given"),
                detail["action"].as_str().unwrap_or(""),
            );
            // Before the asset is ingested nothing else can follow: the asset failed. After,
            // the graph service decides (the failure ends one analysis, not the asset).
            if detail["service"] == "ingest" {
                view.state = AssetState::Failed { cause };
            } else if let AssetState::Unfinished { .. } | AssetState::Ingested { .. } = view.state {
                view.state = AssetState::Unfinished {
                    reason: format!("waiting for the asset's other analyses; a failure: {cause}"),
                };
            }
        }
        _ => {}
    }
}

fn source_uri(event: &RawEvent) -> Option<String> {
    let detail = &event.detail;
    if let Some(uri) = detail["source"]["uri"].as_str() {
        return Some(uri.to_owned());
    }
    let bucket = detail["bucket"]["name"].as_str()?;
    let key = detail["object"]["key"].as_str()?;
    let key = mediasift_schemas::form_url_decode(key).unwrap_or_else(|| key.to_owned());
    Some(format!("s3://{bucket}/{key}"))
}

fn failure_causes(analyses: &Value) -> String {
    analyses
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["status"] == "failed")
        .map(|a| {
            format!(
                "{}: {}",
                a["analysis"].as_str().unwrap_or("?"),
                a["cause"].as_str().unwrap_or("failed")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
