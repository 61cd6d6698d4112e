//! `contracts export|check`, `catalog`, `test-pattern`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use mediasift::contracts;
use mediasift_kit::Pattern;

pub fn export(root: &Path) -> anyhow::Result<ExitCode> {
    let changed = contracts::export(root, &mediasift::all_subscriptions())?;
    if changed.is_empty() {
        println!("contracts are up to date");
    }
    for path in changed {
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn check(root: &Path) -> anyhow::Result<ExitCode> {
    let differing = contracts::drift(root, &mediasift::all_subscriptions())?;
    if differing.is_empty() {
        println!("contracts are up to date");
        return Ok(ExitCode::SUCCESS);
    }
    for path in &differing {
        eprintln!("out of date: {}", path.display());
    }
    eprintln!("run `{}` and commit the result", contracts::EXPORT_COMMAND);
    Ok(ExitCode::from(1))
}

pub fn catalog(json: bool) -> anyhow::Result<ExitCode> {
    let routed = contracts::route(&mediasift::all_subscriptions())?;
    for r in &routed {
        let receivers: Vec<String> = r
            .subscribers
            .iter()
            .map(|(s, n)| format!("{s}/{n}"))
            .collect();
        if json {
            let line = serde_json::json!({
                "source": r.entry.source,
                "detailType": r.entry.detail_type,
                "schema": r.entry.registry_name(),
                "schemaVersion": r.entry.schema_version,
                "producer": r.entry.producer.name(),
                "receivers": receivers,
            });
            println!("{line}");
        } else {
            let receivers = if receivers.is_empty() {
                "third parties".to_owned()
            } else {
                receivers.join(", ")
            };
            println!(
                "{:<32} {:<20} -> {}",
                r.entry.detail_type, r.entry.source, receivers
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn test_pattern(pattern: &Path, event: &Path) -> anyhow::Result<ExitCode> {
    let pattern_text = std::fs::read_to_string(pattern)
        .with_context(|| format!("cannot read the pattern file {}", pattern.display()))?;
    let event_text = std::fs::read_to_string(event)
        .with_context(|| format!("cannot read the event file {}", event.display()))?;
    let event: serde_json::Value = serde_json::from_str(&event_text).with_context(|| {
        format!(
            "{} is not JSON; give a whole EventBridge event",
            event.display()
        )
    })?;
    match Pattern::parse(&pattern_text) {
        Err(reason) => {
            println!("invalid: {reason}");
            Ok(ExitCode::from(2))
        }
        Ok(p) if p.matches(&event) => {
            println!("match");
            Ok(ExitCode::SUCCESS)
        }
        Ok(_) => {
            println!("no match");
            Ok(ExitCode::from(1))
        }
    }
}
