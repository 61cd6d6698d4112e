//! The Amazon EventBridge event-pattern matcher.
//!
//! [`Pattern::parse`] validates a pattern the way EventBridge does and compiles it: `$or`s are
//! expanded into branches (each a conjunction of field conditions), every field path is interned,
//! exact values go into hash sets. [`Pattern::matches`] then flattens the event once, keeping
//! only the leaf values at paths the pattern tests, and checks the branches against them.
//! [`PatternSet`] does the same for many patterns at once, and uses a required exact value
//! (typically `source` or `detail-type`) to skip patterns that cannot match.
//!
//! Semantics follow AWS's (and its open-source engine's, `aws/event-ruler`):
//!
//! - Field paths join nested names with `.`, so `{"a": {"b": [1]}}` and `{"a.b": [1]}` are the
//!   same condition, on events spelled either way.
//! - Conditions on different fields must all hold; the values listed for one field are
//!   alternatives. An event array offers each element as a value, and when several fields come
//!   from objects inside one array they must come from the same element.
//! - Operators test leaf values only (strings, numbers, booleans, null); an object is not a value.
//!   `{"exists": false}` matches when the path has no leaf value at all.

mod branch;
mod cidr;
mod event;
mod fast_hash;
mod matcher;
mod parse;
mod set;
mod wildcard;

use serde_json::Value;

use self::branch::Branch;
use self::event::{PathIndex, with_scratch};

pub use self::set::PatternSet;

/// Why a pattern is not valid; the message reads like EventBridge's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Event pattern is not valid. Reason: {0}")]
pub struct PatternError(pub String);

/// A validated, compiled event pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    paths: PathIndex,
    branches: Vec<Branch>,
}

impl Pattern {
    /// Validates and compiles a pattern given as JSON.
    pub fn from_value(pattern: &Value) -> Result<Self, PatternError> {
        parse::compile(pattern).map_err(PatternError)
    }

    /// Validates and compiles a pattern given as JSON text.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let value: Value = serde_json::from_str(pattern)
            .map_err(|e| PatternError(format!("Filter is not valid JSON: {e}")))?;
        Self::from_value(&value)
    }

    /// Whether the event matches. Events are JSON objects; any other value matches nothing.
    pub fn matches(&self, event: &Value) -> bool {
        with_scratch(|scratch| {
            scratch.event.load(&self.paths, event)
                && self
                    .branches
                    .iter()
                    .any(|branch| branch.matches(&scratch.event))
        })
    }
}
