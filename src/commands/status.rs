//! `mediasift status [ASSET] [--json]`.

use std::process::ExitCode;

use mediasift::outcome::summarize;
use serde_json::json;

use crate::DataDir;

pub async fn status(data: &DataDir, asset: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let events: Vec<_> = super::read_events(&runtime.bus, None, 0).await?;
    let views = summarize(events.iter().map(|(_, e)| e));
    let Some(asset) = asset else {
        if views.is_empty() && !json {
            println!("no assets yet: `mediasift run FILE…` puts media in");
        }
        for view in views.values() {
            if json {
                println!("{}", serde_json::to_string(view)?);
            } else {
                println!(
                    "{:<36}  {:<10}  {}",
                    view.asset_id.as_deref().unwrap_or("(not ingested)"),
                    view.state.label(),
                    view.source.as_deref().unwrap_or("-")
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    };

    let Some(view) = views
        .values()
        .find(|v| v.asset_id.as_deref() == Some(asset) || v.correlation_id == asset)
    else {
        eprintln!(
            "no asset {asset} in {}: `mediasift status` lists them",
            data.data_dir.display()
        );
        return Ok(ExitCode::from(1));
    };
    let deliveries = match &view.asset_id {
        Some(id) => runtime.bus.deliveries_for_asset(id).await?,
        None => Vec::new(),
    };
    if json {
        let deliveries: Vec<_> = deliveries
            .iter()
            .map(|d| {
                json!({
                    "service": d.service,
                    "detailType": d.detail_type,
                    "status": d.status.as_str(),
                    "attempts": d.attempts,
                    "lastError": d.last_error,
                })
            })
            .collect();
        let mut out = serde_json::to_value(view)?;
        out["deliveries"] = deliveries.into();
        println!("{out}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "asset    {}",
        view.asset_id.as_deref().unwrap_or("(not ingested)")
    );
    println!("source   {}", view.source.as_deref().unwrap_or("-"));
    println!("status   {}", view.state.label());
    match &view.state {
        mediasift::outcome::AssetState::Completed => {}
        mediasift::outcome::AssetState::Partial { cause }
        | mediasift::outcome::AssetState::Failed { cause } => println!("cause    {cause}"),
        mediasift::outcome::AssetState::Unfinished { reason }
        | mediasift::outcome::AssetState::Skipped { reason } => println!("reason   {reason}"),
        mediasift::outcome::AssetState::Ingested { planned } => {
            println!("planned  {}", planned.join(", "))
        }
    }
    println!("events   {}", view.events.join(" → "));
    for d in &deliveries {
        println!(
            "  {:<9} {:<28} {:<9} attempts {}{}",
            d.service,
            d.detail_type,
            d.status.as_str(),
            d.attempts,
            d.last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    }
    for result in &view.results {
        println!("  result {:<16} {}", result.name, result.uri);
    }
    Ok(ExitCode::SUCCESS)
}
