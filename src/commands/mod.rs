//! The CLI's commands. Each opens the local runtime from the data directory, does its work,
//! and says what to do when something is wrong.

pub mod contracts;
pub mod cost;
pub mod dlq;
pub mod events;
pub mod frames;
pub mod graph;
pub mod loudness;
pub mod replay;
pub mod report;
pub mod run;
pub mod serve;
pub mod shots;
pub mod similar;
pub mod status;
pub mod timelines;
pub mod transcribe;

use anyhow::Context;
use mediasift::config::LocalConfig;
use mediasift::runtime::LocalRuntime;
use mediasift_kit::local::bus::LocalBus;
use mediasift_schemas::RawEvent;

use crate::DataDir;

/// Human-readable logs on stderr; `RUST_LOG` sets the level (default: warnings).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub async fn open(data: &DataDir) -> anyhow::Result<LocalRuntime> {
    let config = LocalConfig::load(&data.data_dir, data.config.as_deref())?;
    LocalRuntime::open(config)
        .await
        .with_context(|| format!("cannot open the data directory {}", data.data_dir.display()))
}

/// The archive after `after_seq`, in order, optionally only one asset's events.
pub async fn read_events(
    bus: &LocalBus,
    asset: Option<&str>,
    after_seq: i64,
) -> anyhow::Result<Vec<(i64, RawEvent)>> {
    Ok(mediasift::runtime::read_events(bus, asset, after_seq).await?)
}

/// One line for a person: time, source, detail-type, asset.
pub fn event_line(seq: i64, event: &RawEvent) -> String {
    let asset = event.detail["assetId"].as_str().unwrap_or("-");
    format!(
        "{seq:>6}  {}  {:<20} {:<30} {asset}",
        event.time.format("%Y-%m-%dT%H:%M:%SZ"),
        event.source,
        event.detail_type
    )
}
