//! `contracts/` and `docs/events.md`, generated from the schemas crate and the services'
//! rules. [`render`] builds every file in memory; [`export`] writes them and [`drift`]
//! compares them with what is on disk, so both agree by construction.

mod asyncapi;
mod docs;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use mediasift_kit::{Pattern, PatternError, Subscriptions};
use mediasift_schemas::{CatalogEntry, catalog};
use serde_json::Value;

/// The folders export owns entirely: a file in them that export did not write is stale.
pub const OWNED_DIRS: [&str; 4] = [
    "contracts/schemas",
    "contracts/rules",
    "contracts/examples",
    "contracts/iam",
];

/// The command that regenerates the contracts, for messages.
pub const EXPORT_COMMAND: &str = "cargo run -- contracts export";

/// An entry of the catalog with the rules that receive it.
pub struct Routed {
    pub entry: CatalogEntry,
    /// (service, rule name) of every rule that matches the entry's example.
    pub subscribers: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("rule {service}/{rule} has an invalid pattern: {source}")]
    InvalidRule {
        service: String,
        rule: String,
        source: PatternError,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Every catalog entry with the rules that match its example.
pub fn route(subscriptions: &[Subscriptions]) -> Result<Vec<Routed>, ContractError> {
    let mut compiled: Vec<(String, String, Pattern)> = Vec::new();
    for subs in subscriptions {
        for rule in &subs.rules {
            let pattern = rule
                .compile()
                .map_err(|source| ContractError::InvalidRule {
                    service: subs.service.clone(),
                    rule: rule.name.clone(),
                    source,
                })?;
            compiled.push((subs.service.clone(), rule.name.clone(), pattern));
        }
    }
    Ok(catalog()
        .into_iter()
        .map(|entry| {
            let example = entry.example();
            let subscribers = compiled
                .iter()
                .filter(|(_, _, pattern)| pattern.matches(&example))
                .map(|(service, rule, _)| (service.clone(), rule.clone()))
                .collect();
            Routed { entry, subscribers }
        })
        .collect())
}

/// Every generated file, by path relative to the repository root.
pub fn render(subscriptions: &[Subscriptions]) -> Result<BTreeMap<PathBuf, String>, ContractError> {
    let routed = route(subscriptions)?;
    let mut files = BTreeMap::new();
    for r in &routed {
        let name = r.entry.registry_name();
        files.insert(
            PathBuf::from(format!("contracts/schemas/{name}.json")),
            pretty(&r.entry.registry_schema()),
        );
        files.insert(
            PathBuf::from(format!("contracts/examples/{name}.json")),
            pretty(&r.entry.example()),
        );
    }
    for subs in subscriptions {
        files.insert(
            PathBuf::from(format!("contracts/rules/{}.json", subs.service)),
            pretty(&serde_json::to_value(subs).expect("rules serialize")),
        );
    }
    for permissions in crate::all_permissions() {
        files.insert(
            PathBuf::from(format!("contracts/iam/{}.json", permissions.service)),
            pretty(&serde_json::to_value(&permissions).expect("permissions serialize")),
        );
    }
    files.insert(
        PathBuf::from("contracts/asyncapi.yaml"),
        asyncapi::render(&routed, subscriptions),
    );
    files.insert(PathBuf::from("docs/events.md"), docs::render(&routed));
    files.insert(
        PathBuf::from("contracts/openapi.json"),
        pretty(&crate::serve::openapi::document()),
    );
    Ok(files)
}

/// Writes every generated file under `root` and removes stale files from the owned folders.
/// Returns the paths written or removed.
pub fn export(root: &Path, subscriptions: &[Subscriptions]) -> Result<Vec<PathBuf>, ContractError> {
    let files = render(subscriptions)?;
    let mut changed = Vec::new();
    for stale in stale_files(root, &files)? {
        std::fs::remove_file(root.join(&stale)).map_err(|source| io_error(&stale, source))?;
        changed.push(stale);
    }
    for (path, content) in &files {
        let full = root.join(path);
        if std::fs::read_to_string(&full).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
        }
        std::fs::write(&full, content).map_err(|source| io_error(&full, source))?;
        changed.push(path.clone());
    }
    Ok(changed)
}

/// The generated files that differ from (or are missing on, or are stale on) disk.
pub fn drift(root: &Path, subscriptions: &[Subscriptions]) -> Result<Vec<PathBuf>, ContractError> {
    let files = render(subscriptions)?;
    let mut differing: Vec<PathBuf> = files
        .iter()
        .filter(|(path, content)| {
            std::fs::read_to_string(root.join(path)).ok().as_deref() != Some(content.as_str())
        })
        .map(|(path, _)| path.clone())
        .collect();
    differing.extend(stale_files(root, &files)?);
    Ok(differing)
}

fn stale_files(
    root: &Path,
    files: &BTreeMap<PathBuf, String>,
) -> Result<Vec<PathBuf>, ContractError> {
    let mut stale = Vec::new();
    for dir in OWNED_DIRS {
        let entries = match std::fs::read_dir(root.join(dir)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(io_error(&root.join(dir), source)),
        };
        for entry in entries {
            let entry = entry.map_err(|source| io_error(&root.join(dir), source))?;
            let relative = Path::new(dir).join(entry.file_name());
            if !files.contains_key(&relative) {
                stale.push(relative);
            }
        }
    }
    stale.sort();
    Ok(stale)
}

fn io_error(path: &Path, source: io::Error) -> ContractError {
    ContractError::Io {
        path: path.to_owned(),
        source,
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    text.push('\n');
    text
}
