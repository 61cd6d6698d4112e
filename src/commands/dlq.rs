//! `mediasift dlq [--retry] [--service S] [--json]`.

use std::process::ExitCode;

use mediasift_kit::local::bus::DeadLetterFilter;
use serde_json::json;

use crate::DataDir;

pub async fn dlq(
    data: &DataDir,
    retry: bool,
    service: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let filter = DeadLetterFilter {
        service,
        ..DeadLetterFilter::default()
    };
    let letters = runtime.bus.dead_letters(filter.clone()).await?;
    for letter in &letters {
        if json {
            let line = json!({
                "eventId": letter.event_id,
                "service": letter.service,
                "detailType": letter.detail_type,
                "assetId": letter.asset_id,
                "attempts": letter.attempts,
                "lastError": letter.last_error,
                "failedAt": letter.failed_at,
            });
            println!("{line}");
        } else {
            println!(
                "{}  {:<9} {:<28} asset {}  after {} attempt(s): {}",
                letter.failed_at.format("%Y-%m-%dT%H:%M:%SZ"),
                letter.service,
                letter.detail_type,
                letter.asset_id.as_deref().unwrap_or("-"),
                letter.attempts,
                letter.last_error.as_deref().unwrap_or("no error recorded"),
            );
        }
    }
    if !retry {
        if letters.is_empty() && !json {
            println!("the dead-letter queue is empty");
        } else if !json {
            println!(
                "{} dead letter(s); fix the cause, then `mediasift dlq --retry`",
                letters.len()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let retried = runtime.bus.retry_dead_letters(filter.clone()).await?;
    eprintln!("retrying {retried} delivery(ies)…");
    runtime.bus.run_until_idle().await?;
    // What this retry was about: the dead letters it chose (by service) that are dead again.
    let left = runtime.bus.dead_letters(filter).await?.len();
    let all = runtime
        .bus
        .dead_letters(DeadLetterFilter::default())
        .await?
        .len();
    if all > left {
        eprintln!("done; {left} of these dead letter(s) left ({all} in all)");
    } else {
        eprintln!("done; {left} dead letter(s) left");
    }
    Ok(if left == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
