//! Rules: a service's subscriptions as EventBridge event patterns.
//!
//! Each service declares its rules in Rust beside its handler. `mediasift contracts export`
//! writes them to `contracts/rules/<service>.json`, and that one file feeds the embedded
//! bus, Terraform (`aws_cloudwatch_event_rule`) and the contract tests.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pattern::{Pattern, PatternError};

/// One EventBridge rule: a name unique within the service, what it is for, and its pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub name: String,
    pub description: String,
    pub event_pattern: Value,
}

impl Rule {
    pub fn new(name: &str, description: &str, event_pattern: Value) -> Self {
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            event_pattern,
        }
    }

    /// Parses (and so validates) the rule's pattern.
    pub fn compile(&self) -> Result<Pattern, PatternError> {
        Pattern::from_value(&self.event_pattern)
    }
}

/// Everything one service subscribes to: the content of `contracts/rules/<service>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscriptions {
    pub service: String,
    pub rules: Vec<Rule>,
}

impl Subscriptions {
    pub fn new(service: &str, rules: Vec<Rule>) -> Self {
        Self {
            service: service.to_owned(),
            rules,
        }
    }
}
