//! Routing: the registered services, their rules, and which services an event goes to.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use mediasift_schemas::RawEvent;

use super::BusError;
use crate::handler::Handler;
use crate::pattern::{Pattern, PatternSet};
use crate::ports::PublishError;
use crate::rules::Subscriptions;

/// EventBridge's limit on one event (PutEvents entry), in bytes of its JSON.
pub(crate) const MAX_EVENT_BYTES: usize = 256 * 1024;

/// What was registered. Rules given with [`Registry::add_rules`] (the committed contract
/// files) take precedence over a handler's own `subscriptions()`, whatever the order.
#[derive(Default)]
pub(crate) struct Registry {
    handlers: BTreeMap<String, Arc<dyn Handler>>,
    handler_rules: BTreeMap<String, Vec<Pattern>>,
    contract_rules: BTreeMap<String, Vec<Pattern>>,
}

impl Registry {
    pub(crate) fn add_handler(&mut self, handler: Arc<dyn Handler>) -> Result<(), BusError> {
        let service = handler.service().to_owned();
        let patterns = compile(&service, &handler.subscriptions())?;
        self.handler_rules.insert(service.clone(), patterns);
        self.handlers.insert(service, handler);
        Ok(())
    }

    pub(crate) fn add_rules(&mut self, subscriptions: &Subscriptions) -> Result<(), BusError> {
        let patterns = compile(&subscriptions.service, subscriptions)?;
        self.contract_rules
            .insert(subscriptions.service.clone(), patterns);
        Ok(())
    }

    /// The routing table for what is registered now.
    pub(crate) fn routes(&self) -> Routes {
        let mut rules = self.handler_rules.clone();
        rules.extend(self.contract_rules.clone());
        let mut patterns = Vec::new();
        let mut pattern_service = Vec::new();
        let mut services = Vec::new();
        for (service, service_patterns) in rules {
            let service: Arc<str> = service.into();
            for pattern in service_patterns {
                patterns.push(pattern);
                pattern_service.push(services.len());
            }
            services.push(service);
        }
        Routes {
            patterns: PatternSet::new(patterns),
            pattern_service,
            services,
            handlers: self.handlers.clone(),
        }
    }
}

fn compile(service: &str, subscriptions: &Subscriptions) -> Result<Vec<Pattern>, BusError> {
    subscriptions
        .rules
        .iter()
        .map(|rule| {
            rule.compile().map_err(|source| BusError::InvalidRule {
                service: service.to_owned(),
                rule: rule.name.clone(),
                source,
            })
        })
        .collect()
}

/// An immutable routing table; replaced as a whole when a registration changes it.
#[derive(Default)]
pub(crate) struct Routes {
    patterns: PatternSet,
    /// For each pattern, the index of its service in `services`.
    pattern_service: Vec<usize>,
    /// Every service with rules, in name order.
    services: Vec<Arc<str>>,
    handlers: BTreeMap<String, Arc<dyn Handler>>,
}

/// An event ready to be stored: its routing columns, its JSON, and the services it goes to.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub id: String,
    pub time_ms: i64,
    pub source: String,
    pub detail_type: String,
    pub asset_id: Option<String>,
    pub body: String,
    pub targets: Vec<Arc<str>>,
}

impl Routes {
    pub(crate) fn handler(&self, service: &str) -> Option<&Arc<dyn Handler>> {
        self.handlers.get(service)
    }

    /// The services with a handler here, in name order: those the dispatcher delivers to.
    pub(crate) fn dispatchable(&self) -> Vec<String> {
        self.handlers.keys().cloned().collect()
    }

    /// Encodes the event, checks its size, and finds its targets: every service with at least
    /// one rule matching the whole event (once per service, however many of its rules match).
    pub(crate) fn prepare(&self, event: &RawEvent) -> Result<Prepared, PublishError> {
        let json = serde_json::to_value(event).map_err(|e| {
            PublishError::Rejected(format!("event {} cannot be encoded: {e}", event.id))
        })?;
        let body = json.to_string();
        if body.len() > MAX_EVENT_BYTES {
            return Err(PublishError::TooLarge {
                id: event.id.clone(),
                detail_type: event.detail_type.clone(),
                size: body.len(),
                limit: MAX_EVENT_BYTES,
            });
        }
        let mut service_indices: Vec<usize> = self
            .patterns
            .matching(&json)
            .into_iter()
            .filter_map(|pattern| self.pattern_service.get(pattern).copied())
            .collect();
        service_indices.dedup();
        Ok(Prepared {
            id: event.id.clone(),
            time_ms: event.time.timestamp_millis(),
            source: event.source.clone(),
            detail_type: event.detail_type.clone(),
            asset_id: event
                .detail
                .get("assetId")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            body,
            targets: service_indices
                .into_iter()
                .filter_map(|i| self.services.get(i).cloned())
                .collect(),
        })
    }
}

/// Reads every `*.json` file of `dir` (e.g. `contracts/rules/`) as a service's
/// [`Subscriptions`], in file name order.
pub fn read_rules_dir(dir: &Path) -> Result<Vec<Subscriptions>, BusError> {
    let unreadable = |path: &Path, reason: String| BusError::RulesFile {
        path: path.to_path_buf(),
        reason,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(dir, e.to_string()))? {
        let path = entry.map_err(|e| unreadable(dir, e.to_string()))?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(path).map_err(|e| unreadable(path, e.to_string()))?;
            serde_json::from_str(&text)
                .map_err(|e| unreadable(path, format!("not a service's rules: {e}")))
        })
        .collect()
}
