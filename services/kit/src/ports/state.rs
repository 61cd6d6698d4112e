use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

use serde_json::{Map, Number, Value};

use super::Retryable;

/// A stored item: a JSON object under a key in a table, with a version that increases by one
/// on every write (for optimistic concurrency) and an optional expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: String,
    pub value: Map<String, Value>,
    pub version: u64,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The condition a write needs to hold before it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Always,
    /// The item does not exist (or has expired).
    NotExists,
    /// The item exists at exactly this version.
    VersionIs(u64),
    /// The item does not exist, or exists without this field.
    FieldAbsent(String),
}

/// An atomic change of fields of an item (DynamoDB's UpdateItem), creating it when absent.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// Sets a field to a value.
    Set(String, Value),
    /// Adds strings to a field holding a set of strings (a sorted JSON array of unique strings).
    AddToSet(String, Vec<String>),
    /// Removes strings from a field holding a set of strings; members it does not hold are
    /// ignored, and so is an absent field. A set left empty is removed from the item, as
    /// DynamoDB (which has no empty set) does.
    RemoveFromSet(String, Vec<String>),
    /// Adds to a numeric field (absent counts as 0).
    Increment(String, i64),
}

/// Why an [`Update`] cannot apply to an item's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateConflict {
    /// The field holds something else than the update needs.
    WrongType {
        field: String,
        expected: &'static str,
    },
    /// An increment would leave the range of 64-bit integers.
    Overflow { field: String, by: i64 },
}

impl Update {
    /// Applies the update to an item's value, exactly as the port defines it. Every store
    /// applies updates through this, so their semantics cannot drift apart.
    pub fn apply_to(&self, value: &mut Map<String, Value>) -> Result<(), UpdateConflict> {
        let wrong_type = |field: &str, expected| UpdateConflict::WrongType {
            field: field.to_owned(),
            expected,
        };
        match self {
            Self::Set(field, new) => {
                value.insert(field.clone(), new.clone());
            }
            Self::AddToSet(field, members) => {
                let mut set =
                    string_set(value, field).ok_or_else(|| wrong_type(field, "set of strings"))?;
                set.extend(members.iter().cloned());
                value.insert(
                    field.clone(),
                    Value::Array(set.into_iter().map(Value::String).collect()),
                );
            }
            Self::RemoveFromSet(field, members) => {
                let mut set =
                    string_set(value, field).ok_or_else(|| wrong_type(field, "set of strings"))?;
                for member in members {
                    set.remove(member);
                }
                if set.is_empty() {
                    value.remove(field);
                } else {
                    value.insert(
                        field.clone(),
                        Value::Array(set.into_iter().map(Value::String).collect()),
                    );
                }
            }
            Self::Increment(field, by) => {
                let sum = match value.get(field) {
                    None => Value::from(*by),
                    Some(Value::Number(number)) => {
                        add(number, *by).ok_or_else(|| UpdateConflict::Overflow {
                            field: field.clone(),
                            by: *by,
                        })?
                    }
                    Some(_) => return Err(wrong_type(field, "number")),
                };
                value.insert(field.clone(), sum);
            }
        }
        Ok(())
    }
}

/// The strings of the set `field` holds (empty when absent); `None` when it holds anything
/// else than an array of strings.
fn string_set(value: &Map<String, Value>, field: &str) -> Option<BTreeSet<String>> {
    match value.get(field) {
        None => Some(BTreeSet::new()),
        Some(Value::Array(existing)) => existing
            .iter()
            .map(|member| member.as_str().map(str::to_owned))
            .collect(),
        Some(_) => None,
    }
}

/// `number + by`: exact for integers (up to the range of `u64`/`i64`), floating otherwise.
fn add(number: &Number, by: i64) -> Option<Value> {
    let whole = number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from));
    match whole {
        Some(whole) => {
            let sum = whole.checked_add(i128::from(by))?;
            i64::try_from(sum)
                .map(Value::from)
                .or_else(|_| u64::try_from(sum).map(Value::from))
                .ok()
        }
        None => Number::from_f64(number.as_f64()? + by as f64).map(Value::Number),
    }
}

impl StateError {
    /// The store's error for an update of `table`/`key` that could not apply.
    pub fn from_conflict(table: &str, key: &str, conflict: UpdateConflict) -> Self {
        match conflict {
            UpdateConflict::WrongType { field, expected } => Self::WrongType {
                table: table.to_owned(),
                key: key.to_owned(),
                field,
                expected,
            },
            UpdateConflict::Overflow { field, by } => Self::Failed(format!(
                "adding {by} to field {field} of {table}/{key} overflows"
            )),
        }
    }
}

/// Key-value state with conditional writes: SQLite locally, DynamoDB on AWS. Used for joins
/// without an orchestrator (record each arrival, act once when the set is complete).
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The item, or `None` when absent or expired.
    async fn get(&self, table: &str, key: &str) -> Result<Option<Item>, StateError>;
    /// Replaces the whole item when `condition` holds; returns what was written.
    async fn put(
        &self,
        table: &str,
        key: &str,
        value: Map<String, Value>,
        condition: Condition,
        ttl: Option<Duration>,
    ) -> Result<Item, StateError>;
    /// Applies `updates` atomically when `condition` holds; returns the item after them.
    async fn update(
        &self,
        table: &str,
        key: &str,
        updates: &[Update],
        condition: Condition,
    ) -> Result<Item, StateError>;
    async fn delete(&self, table: &str, key: &str) -> Result<(), StateError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The write's condition did not hold: someone else got there first.
    #[error("condition failed for {table}/{key}")]
    ConditionFailed { table: String, key: String },
    #[error("field {field} of {table}/{key} is not a {expected}")]
    WrongType {
        table: String,
        key: String,
        field: String,
        expected: &'static str,
    },
    #[error("the state store is unavailable: {0}")]
    Unavailable(String),
    #[error("the state store failed: {0}")]
    Failed(String),
}

impl Retryable for StateError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_add_exactly_and_overflow_is_refused() {
        assert_eq!(add(&Number::from(2), 3), Some(Value::from(5)));
        assert_eq!(
            add(&Number::from(i64::MAX), 1),
            Some(Value::from(i64::MAX as u64 + 1))
        );
        assert_eq!(add(&Number::from(u64::MAX), 1), None);
        assert_eq!(add(&Number::from(i64::MIN), -1), None);
        assert_eq!(
            add(&Number::from_f64(1.5).unwrap(), 1),
            Some(Value::from(2.5))
        );
    }

    #[test]
    fn updates_apply_as_documented() {
        let mut value = Map::new();
        Update::AddToSet("arrived".into(), vec!["video".into(), "audio".into()])
            .apply_to(&mut value)
            .unwrap();
        Update::AddToSet("arrived".into(), vec!["video".into()])
            .apply_to(&mut value)
            .unwrap();
        Update::Increment("count".into(), 2)
            .apply_to(&mut value)
            .unwrap();
        assert_eq!(
            Value::Object(value.clone()),
            serde_json::json!({"arrived": ["audio", "video"], "count": 2})
        );
        assert_eq!(
            Update::Increment("arrived".into(), 1).apply_to(&mut value),
            Err(UpdateConflict::WrongType {
                field: "arrived".into(),
                expected: "number"
            })
        );
        Update::RemoveFromSet("arrived".into(), vec!["video".into(), "text".into()])
            .apply_to(&mut value)
            .unwrap();
        Update::RemoveFromSet("absent".into(), vec!["video".into()])
            .apply_to(&mut value)
            .unwrap();
        assert_eq!(
            Value::Object(value.clone()),
            serde_json::json!({"arrived": ["audio"], "count": 2})
        );
        Update::RemoveFromSet("arrived".into(), vec!["audio".into()])
            .apply_to(&mut value)
            .unwrap();
        assert_eq!(
            Value::Object(value.clone()),
            serde_json::json!({"count": 2}),
            "an emptied set is removed"
        );
        assert_eq!(
            Update::RemoveFromSet("count".into(), vec!["x".into()]).apply_to(&mut value),
            Err(UpdateConflict::WrongType {
                field: "count".into(),
                expected: "set of strings"
            })
        );
    }
}
