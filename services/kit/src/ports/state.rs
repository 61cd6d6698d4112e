use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

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
    /// Adds to a numeric field (absent counts as 0).
    Increment(String, i64),
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
