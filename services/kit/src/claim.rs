//! Claiming a completed set once, without an orchestrator: the arrival that finds an item's
//! set complete claims it with a write conditioned on the version it read. A later arrival
//! finds the claim and stands down, unless it is the claimer itself delivered again (it redoes
//! the same work) or the claim is older than the lease (its claimer died; it is taken over).
//! The claim also records the set's fingerprint (what each member's outcome was): when the set
//! changes after its claim — a failure replaced by a completion, as when a dead letter is
//! retried after its fault is fixed — the arrival that changed it claims it anew, so the work
//! is redone on the set as it now is. Duplicates never change a set, so they never re-claim.
//! The scene service's join and the graph service's completion tracking both claim this way.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::ports::{Condition, Item, StateError, StateStore, Update};

/// Attempts at claiming against concurrent writers.
const CLAIM_ATTEMPTS: usize = 5;
/// The field of the item that holds the claim: `{"eventId": …, "at": RFC 3339, "set": …}`.
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

/// A complete set: what the claimer works on, and the set's fingerprint.
pub trait CompleteSet {
    /// What each member's outcome was, as a string equal for equal sets; the claimer derives
    /// its outputs' identity from it, so that a changed set's work gets new event ids.
    fn fingerprint(&self) -> String;
}

/// Claims `item` (of `table`/`key`, just written by this arrival) for `claimer` when
/// `complete` finds its set complete; re-reads and tries again when a concurrent writer got in
/// between.
pub async fn claim_when_complete<T: CompleteSet>(
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
        let set = done.fingerprint();
        // A claim from before fingerprints were recorded counts as of this set.
        let changed = |claim: &serde_json::Value| claim["set"].as_str().is_some_and(|s| s != set);
        if let Some(claim) = item.value.get(CLAIM_FIELD).filter(|claim| !changed(claim)) {
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
        let claim = json!({"eventId": claimer, "at": now.to_rfc3339(), "set": set});
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

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::local::state::SqliteStateStore;

    /// A set complete when both members arrived; its fingerprint is their outcomes.
    #[derive(Debug, PartialEq)]
    struct Pair(String);

    impl CompleteSet for Pair {
        fn fingerprint(&self) -> String {
            self.0.clone()
        }
    }

    fn pair(item: &Item) -> Result<Option<Pair>, StateError> {
        let (Some(a), Some(b)) = (item.value.get("a"), item.value.get("b")) else {
            return Ok(None);
        };
        Ok(Some(Pair(format!("a:{a},b:{b}"))))
    }

    async fn arrive(state: &SqliteStateStore, field: &str, outcome: &str, by: &str) -> Claim<Pair> {
        let item = state
            .update(
                "t",
                "run",
                &[Update::Set(field.into(), outcome.into())],
                Condition::Always,
            )
            .await
            .unwrap();
        let now = Utc::now();
        claim_when_complete(state, "t", item, by, now, Duration::from_secs(60), pair)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_set_is_claimed_once_and_again_only_when_it_changes() {
        let state = SqliteStateStore::open_in_memory().unwrap();
        state
            .put("t", "run", Map::new(), Condition::NotExists, None)
            .await
            .unwrap();
        assert_eq!(arrive(&state, "a", "completed", "e1").await, Claim::Waiting);
        let first = arrive(&state, "b", "failed", "e2").await;
        assert_eq!(
            first,
            Claim::Claimed(Pair(r#"a:"completed",b:"failed""#.into()))
        );
        // The same outcomes delivered again: the claimer redoes its work, others stand down.
        assert_eq!(
            arrive(&state, "b", "failed", "e2").await,
            Claim::Claimed(Pair(r#"a:"completed",b:"failed""#.into()))
        );
        assert_eq!(
            arrive(&state, "a", "completed", "e1").await,
            Claim::TakenBy("e2".into())
        );
        // The failure retried to completion changes the set: its arrival claims it anew.
        assert_eq!(
            arrive(&state, "b", "completed", "e3").await,
            Claim::Claimed(Pair(r#"a:"completed",b:"completed""#.into()))
        );
        assert_eq!(
            arrive(&state, "a", "completed", "e1").await,
            Claim::TakenBy("e3".into())
        );
    }
}
