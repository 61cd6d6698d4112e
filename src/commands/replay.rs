//! `mediasift replay [--asset ID] [--since TIME] [--service S]`.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use mediasift_kit::local::bus::ReplayFilter;

use crate::DataDir;

pub async fn replay(
    data: &DataDir,
    asset: Option<String>,
    since: Option<String>,
    service: Option<String>,
) -> anyhow::Result<ExitCode> {
    let since = since
        .map(|text| {
            DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&Utc))
                .with_context(|| {
                    format!("--since {text:?} is not an RFC 3339 time, e.g. 2026-11-21T09:00:00Z")
                })
        })
        .transpose()?;
    let runtime = super::open(data).await?;
    let count = runtime
        .bus
        .replay(ReplayFilter {
            asset_id: asset,
            since,
            service,
        })
        .await?;
    eprintln!("replaying {count} delivery(ies)…");
    runtime.bus.run_until_idle().await?;
    eprintln!("done");
    Ok(ExitCode::SUCCESS)
}
