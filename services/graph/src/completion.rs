//! Completion tracking without an orchestrator: the asset's plan (from its `… Ingested` event)
//! and each planned analysis's outcome (its completion or its `Processing Failed`) are
//! recorded in one state item per processing run; the arrival that completes the set claims
//! it and emits `Asset Analysis Completed`, once.
//!
//! One item per run, keyed `<assetId>/<correlationId>`. Each arrival is one atomic update of
//! its own field, so any order and any number of duplicates leave the same item. A completion
//! replaces a failure of the same analysis (a dead letter retried after its fix); a failure
//! never replaces a completion. An analysis whose prerequisite failed never comes: scenes need
//! the video analysis, ad breaks need the scenes, so a video failure ends both and a scene
//! failure ends the ad breaks. The claim is a write conditioned on the version read; the
//! claimer delivered again emits the same event again (its id derives from the run), anyone
//! else stands down unless the claim has gone stale (its claimer died).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mediasift_kit::claim::{CLAIM_FIELD, Claim, CompleteSet, claim_when_complete};
use mediasift_kit::ports::{Condition, Item, StateError, StateStore, Update};
use mediasift_schemas::{
    AnalysisKind, AnalysisOutcome, AssetStatus, MediaType, OutcomeStatus, ResultRef, SourceObject,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The state table of the runs.
pub const TABLE: &str = "graph-runs";
/// How long a run's item is kept.
const RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// A claim older than this is taken over by the next arrival (its claimer died).
pub const CLAIM_LEASE: Duration = Duration::from_secs(15 * 60);

/// The run key: `<assetId>/<correlationId>`.
pub fn key(asset_id: uuid::Uuid, correlation_id: &str) -> String {
    format!("{asset_id}/{correlation_id}")
}

/// What ingest said about the asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    pub event_id: String,
    pub media_type: MediaType,
    pub source: SourceObject,
    pub analyses: Vec<AnalysisKind>,
}

/// What one analysis did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    pub event_id: String,
    pub completed: bool,
    #[serde(default)]
    pub results: Vec<ResultRef>,
    /// Why it failed (`Processing Failed`'s error code, cause and action).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// An arrival.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    Ingested(Planned),
    Outcome(AnalysisKind, Recorded),
}

/// The run once every planned analysis has an outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub planned: Planned,
    pub status: AssetStatus,
    /// In plan order.
    pub analyses: Vec<AnalysisOutcome>,
}

impl CompleteSet for Finished {
    fn fingerprint(&self) -> String {
        self.analyses
            .iter()
            .map(|outcome| {
                let status = match outcome.status {
                    OutcomeStatus::Completed => "completed",
                    OutcomeStatus::Failed => "failed",
                };
                format!("{}:{status}", analysis_name(outcome.analysis))
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// The plan, or some planned analysis's outcome, has not arrived.
    Waiting,
    /// This arrival emits `Asset Analysis Completed`.
    Claimed(Box<Finished>),
    /// Another arrival claimed it.
    TakenBy(String),
}

fn field(analysis: AnalysisKind) -> String {
    format!("outcome.{}", analysis_name(analysis))
}

fn analysis_name(analysis: AnalysisKind) -> &'static str {
    match analysis {
        AnalysisKind::Video => "video",
        AnalysisKind::Audio => "audio",
        AnalysisKind::Image => "image",
        AnalysisKind::Document => "document",
        AnalysisKind::Scenes => "scenes",
        AnalysisKind::AdBreaks => "adBreaks",
    }
}

/// The analysis whose failure means `analysis` never runs.
fn prerequisite(analysis: AnalysisKind) -> Option<AnalysisKind> {
    match analysis {
        AnalysisKind::Scenes => Some(AnalysisKind::Video),
        AnalysisKind::AdBreaks => Some(AnalysisKind::Scenes),
        _ => None,
    }
}

/// Records `arrival` (by event `event_id`) in the run `key`, and says what this arrival does.
pub async fn arrive(
    state: &dyn StateStore,
    key: &str,
    arrival: &Arrival,
    now: DateTime<Utc>,
) -> Result<RunState, StateError> {
    match state
        .put(
            TABLE,
            key,
            Map::new(),
            Condition::NotExists,
            Some(RETENTION),
        )
        .await
    {
        Ok(_) | Err(StateError::ConditionFailed { .. }) => {}
        Err(e) => return Err(e),
    }
    let (field_name, value, condition, event_id) = match arrival {
        Arrival::Ingested(planned) => (
            "ingested".to_owned(),
            to_value(planned)?,
            Condition::Always,
            planned.event_id.clone(),
        ),
        Arrival::Outcome(analysis, recorded) => (
            field(*analysis),
            to_value(recorded)?,
            if recorded.completed {
                Condition::Always
            } else {
                Condition::FieldAbsent(field(*analysis))
            },
            recorded.event_id.clone(),
        ),
    };
    let item = match state
        .update(TABLE, key, &[Update::Set(field_name, value)], condition)
        .await
    {
        Ok(item) => item,
        // A failure after an outcome (a completion, or the same failure again) changes nothing.
        Err(StateError::ConditionFailed { .. }) => state
            .get(TABLE, key)
            .await?
            .ok_or_else(|| StateError::Failed(format!("{TABLE}/{key} vanished")))?,
        Err(e) => return Err(e),
    };
    let claimed =
        claim_when_complete(state, TABLE, item, &event_id, now, CLAIM_LEASE, finished).await?;
    Ok(match claimed {
        Claim::Waiting => RunState::Waiting,
        Claim::Claimed(finished) => RunState::Claimed(Box::new(finished)),
        Claim::TakenBy(claimer) => RunState::TakenBy(claimer),
    })
}

/// A run as recorded so far (for `mediasift show`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    pub planned: Option<Planned>,
    pub outcomes: BTreeMap<AnalysisKind, Recorded>,
    /// Whether `Asset Analysis Completed` was claimed (emitted).
    pub completed: bool,
}

/// Reads a run's item.
pub fn record(item: &Item) -> Result<RunRecord, StateError> {
    let planned = read::<Planned>(item, "ingested")?;
    let mut outcomes = BTreeMap::new();
    for analysis in [
        AnalysisKind::Video,
        AnalysisKind::Audio,
        AnalysisKind::Image,
        AnalysisKind::Document,
        AnalysisKind::Scenes,
        AnalysisKind::AdBreaks,
    ] {
        if let Some(recorded) = read::<Recorded>(item, &field(analysis))? {
            outcomes.insert(analysis, recorded);
        }
    }
    Ok(RunRecord {
        planned,
        outcomes,
        completed: item.value.contains_key(CLAIM_FIELD),
    })
}

/// The finished run, when the plan and every planned analysis's outcome are there.
fn finished(item: &Item) -> Result<Option<Finished>, StateError> {
    let run = record(item)?;
    let Some(planned) = run.planned else {
        return Ok(None);
    };
    let mut analyses = Vec::new();
    for &analysis in &planned.analyses {
        let outcome = match run.outcomes.get(&analysis) {
            Some(recorded) => AnalysisOutcome {
                analysis,
                status: if recorded.completed {
                    OutcomeStatus::Completed
                } else {
                    OutcomeStatus::Failed
                },
                event_id: recorded.event_id.clone(),
                results: recorded.results.clone(),
                cause: recorded.cause.clone(),
            },
            None => match failed_prerequisite(&run.outcomes, analysis) {
                Some((prerequisite, recorded)) => AnalysisOutcome {
                    analysis,
                    status: OutcomeStatus::Failed,
                    event_id: recorded.event_id.clone(),
                    results: Vec::new(),
                    cause: Some(format!(
                        "not run: the {} analysis it needs failed",
                        analysis_name(prerequisite)
                    )),
                },
                None => return Ok(None),
            },
        };
        analyses.push(outcome);
    }
    let failed = analyses
        .iter()
        .filter(|a| a.status == OutcomeStatus::Failed)
        .count();
    let status = if failed == 0 {
        AssetStatus::Completed
    } else if failed == analyses.len() {
        AssetStatus::Failed
    } else {
        AssetStatus::Partial
    };
    Ok(Some(Finished {
        planned,
        status,
        analyses,
    }))
}

/// The failed analysis (directly or through its own prerequisite) that means `analysis`
/// never comes.
fn failed_prerequisite(
    outcomes: &BTreeMap<AnalysisKind, Recorded>,
    analysis: AnalysisKind,
) -> Option<(AnalysisKind, &Recorded)> {
    let mut current = analysis;
    while let Some(needed) = prerequisite(current) {
        match outcomes.get(&needed) {
            Some(recorded) if !recorded.completed => return Some((needed, recorded)),
            Some(_) => return None,
            None => current = needed,
        }
    }
    None
}

fn read<T: serde::de::DeserializeOwned>(item: &Item, field: &str) -> Result<Option<T>, StateError> {
    item.value
        .get(field)
        .map(|v| serde_json::from_value::<T>(v.clone()))
        .transpose()
        .map_err(|e| StateError::Failed(format!("{TABLE}/{}: {field}: {e}", item.key)))
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, StateError> {
    serde_json::to_value(value).map_err(|e| StateError::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(event_id: &str, completed: bool) -> Recorded {
        Recorded {
            event_id: event_id.into(),
            completed,
            results: Vec::new(),
            cause: (!completed).then(|| "it broke".into()),
        }
    }

    #[test]
    fn a_failed_prerequisite_ends_its_dependents() {
        let mut outcomes = BTreeMap::new();
        outcomes.insert(AnalysisKind::Video, recorded("v", false));
        let (needed, by) = failed_prerequisite(&outcomes, AnalysisKind::AdBreaks).unwrap();
        assert_eq!((needed, by.event_id.as_str()), (AnalysisKind::Video, "v"));
        outcomes.insert(AnalysisKind::Video, recorded("v", true));
        assert!(failed_prerequisite(&outcomes, AnalysisKind::AdBreaks).is_none());
        outcomes.insert(AnalysisKind::Scenes, recorded("s", false));
        let (needed, _) = failed_prerequisite(&outcomes, AnalysisKind::AdBreaks).unwrap();
        assert_eq!(needed, AnalysisKind::Scenes);
        assert!(failed_prerequisite(&outcomes, AnalysisKind::Audio).is_none());
    }
}
