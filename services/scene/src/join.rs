//! The join without an orchestrator: each video or audio outcome of one processing run of an
//! asset is recorded in the state table; the arrival that completes the set claims the work.
//!
//! One item per run, keyed `<assetId>/<correlationId>` (a re-ingest is a new run with its own
//! item). Each arrival is one atomic update of its own field, so any order and any number of
//! duplicates leave the same item. The set is complete when the video's outcome is there and,
//! if the plan has audio, the audio's (its completion, or its failure: scenes are then built
//! from the pictures alone). The arrival that finds the set complete claims it with a write
//! conditioned on the version it read; a later arrival finds the claim and stands down, unless
//! it is the claimer itself delivered again (it rebuilds the same outputs) or the claim has
//! gone stale (its claimer died; it is taken over). A failure never replaces an outcome; a
//! completion replaces a failure, and the set so changed is claimed anew (`kit::claim`): an
//! audio analysis retried to completion from the dead letters gets its scenes rebuilt with
//! speech. The item is left to expire.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mediasift_kit::claim::{Claim, CompleteSet, claim_when_complete};
use mediasift_kit::ports::{Condition, Item, StateError, StateStore, Update};
use mediasift_schemas::{AnalysisKind, AnalysisPlan, ResultRef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The state table of the joins.
pub const TABLE: &str = "scene-joins";
/// How long a join item is kept.
const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// A claim older than this is taken over by the next arrival (its claimer died).
pub const CLAIM_LEASE: Duration = Duration::from_secs(15 * 60);

/// What arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// The event that brought it.
    pub event_id: String,
    /// False for a `Processing Failed`.
    pub completed: bool,
    #[serde(default)]
    pub results: Vec<ResultRef>,
    /// The asset's plan (from the completions; failures do not carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<AnalysisPlan>,
    /// The speech's language (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Why it failed (audio failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Which analysis an outcome is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Video,
    Audio,
}

impl Side {
    fn field(self) -> &'static str {
        match self {
            Side::Video => "video",
            Side::Audio => "audio",
        }
    }
}

/// Both outcomes, once the set is complete.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    pub video: Outcome,
    pub plan: AnalysisPlan,
    /// `None` when the plan has no audio.
    pub audio: Option<Outcome>,
}

impl CompleteSet for Joined {
    fn fingerprint(&self) -> String {
        let status = |outcome: Option<&Outcome>| match outcome {
            None => "none",
            Some(outcome) if outcome.completed => "completed",
            Some(_) => "failed",
        };
        format!(
            "video:{},audio:{}",
            status(Some(&self.video)),
            status(self.audio.as_ref())
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum JoinState {
    /// The other outcome has not arrived.
    Waiting,
    /// This arrival builds the scenes.
    Claimed(Box<Joined>),
    /// Another arrival claimed the set and is building (or built) the scenes.
    TakenBy(String),
}

/// Records `outcome` as `side` of the run `key` and says what this arrival should do.
pub async fn arrive(
    state: &dyn StateStore,
    key: &str,
    side: Side,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<JoinState, StateError> {
    // Created with its expiry by whichever arrival comes first.
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
    let value = serde_json::to_value(outcome).map_err(|e| StateError::Failed(e.to_string()))?;
    // A completion replaces a failure (a dead letter retried after its fix); a failure never
    // replaces anything, so a late duplicate failure cannot undo a completion.
    let condition = if outcome.completed {
        Condition::Always
    } else {
        Condition::FieldAbsent(side.field().into())
    };
    let item = match state
        .update(
            TABLE,
            key,
            &[Update::Set(side.field().into(), value)],
            condition,
        )
        .await
    {
        Ok(item) => item,
        Err(StateError::ConditionFailed { .. }) => state
            .get(TABLE, key)
            .await?
            .ok_or_else(|| StateError::Failed(format!("{TABLE}/{key} vanished")))?,
        Err(e) => return Err(e),
    };
    let claimed = claim_when_complete(
        state,
        TABLE,
        item,
        &outcome.event_id,
        now,
        CLAIM_LEASE,
        complete,
    )
    .await?;
    Ok(match claimed {
        Claim::Waiting => JoinState::Waiting,
        Claim::Claimed(joined) => JoinState::Claimed(Box::new(joined)),
        Claim::TakenBy(claimer) => JoinState::TakenBy(claimer),
    })
}

/// Both outcomes when the set is complete.
fn complete(item: &Item) -> Result<Option<Joined>, StateError> {
    let read = |field: &str| -> Result<Option<Outcome>, StateError> {
        item.value
            .get(field)
            .map(|v| serde_json::from_value::<Outcome>(v.clone()))
            .transpose()
            .map_err(|e| StateError::Failed(format!("{TABLE}/{}: {field}: {e}", item.key)))
    };
    let Some(video) = read("video")? else {
        return Ok(None);
    };
    // A video failure never reaches the scene service's rule; a completion carries the plan.
    let Some(plan) = video.plan.clone() else {
        return Ok(None);
    };
    let audio = read("audio")?;
    if plan.includes(AnalysisKind::Audio) {
        match audio {
            None => Ok(None),
            Some(audio) => Ok(Some(Joined {
                video,
                plan,
                audio: Some(audio),
            })),
        }
    } else {
        Ok(Some(Joined {
            video,
            plan,
            audio: None,
        }))
    }
}

/// The join key of a run: `<assetId>/<correlationId>`.
pub fn key(asset_id: uuid::Uuid, correlation_id: &str) -> String {
    format!("{asset_id}/{correlation_id}")
}

/// For tests and tools: the item's raw value.
pub async fn item(
    state: &dyn StateStore,
    key: &str,
) -> Result<Option<Map<String, Value>>, StateError> {
    Ok(state.get(TABLE, key).await?.map(|i| i.value))
}
