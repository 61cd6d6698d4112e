//! Claiming a completed set once, without an orchestrator: the arrival that finds an item's
//! set complete claims it with a write conditioned on the version it read. A later arrival
//! finds the claim and stands down, unless it is the claimer itself delivered again (it redoes
//! the same work) or the claim is older than the lease (its claimer died; it is taken over).
//! The scene service's join and the graph service's completion tracking both claim this way.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::ports::{Condition, Item, StateError, StateStore, Update};

/// Attempts at claiming against concurrent writers.
const CLAIM_ATTEMPTS: usize = 5;
/// The field of the item that holds the claim: `{"eventId": …, "at": RFC 3339}`.
pub const CLAIM_FIELD: &str = "claim";

/// What an arrival does.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim<T> {
    /// The set is not complete.
    Waiting,
    /// This arrival does the work, with what `complete` read.
    Claimed(T),
    /// Another arrival (this event id) claimed it.
    TakenBy(String),
}

/// Claims `item` (of `table`/`key`, just written by this arrival) for `claimer` when
/// `complete` finds its set complete; re-reads and tries again when a concurrent writer got in
/// between.
pub async fn claim_when_complete<T>(
    state: &dyn StateStore,
    table: &str,
    mut item: Item,
    claimer: &str,
    now: DateTime<Utc>,
    lease: Duration,
    complete: impl Fn(&Item) -> Result<Option<T>, StateError>,
) -> Result<Claim<T>, StateError> {
    let key = item.key.clone();
    for _ in 0..CLAIM_ATTEMPTS {
        let Some(done) = complete(&item)? else {
            return Ok(Claim::Waiting);
        };
        if let Some(claim) = item.value.get(CLAIM_FIELD) {
            let holder = claim["eventId"].as_str().unwrap_or_default().to_owned();
            let at = claim["at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            let stale = at.is_none_or(|at| {
                now.signed_duration_since(at).to_std().unwrap_or_default() > lease
            });
            if holder == claimer {
                return Ok(Claim::Claimed(done));
            }
            if !stale {
                return Ok(Claim::TakenBy(holder));
            }
        }
        let claim = json!({"eventId": claimer, "at": now.to_rfc3339()});
        match state
            .update(
                table,
                &key,
                &[Update::Set(CLAIM_FIELD.into(), claim)],
                Condition::VersionIs(item.version),
            )
            .await
        {
            Ok(_) => return Ok(Claim::Claimed(done)),
            Err(StateError::ConditionFailed { .. }) => {
                item = state
                    .get(table, &key)
                    .await?
                    .ok_or_else(|| StateError::Failed(format!("{table}/{key} vanished")))?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StateError::Unavailable(format!(
        "{table}/{key}: {CLAIM_ATTEMPTS} concurrent writers in a row"
    )))
}
