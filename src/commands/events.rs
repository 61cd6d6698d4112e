//! `mediasift events [--asset ID] [--follow] [--json]`.

use std::process::ExitCode;
use std::time::Duration;

use crate::DataDir;

pub async fn events(
    data: &DataDir,
    asset: Option<String>,
    follow: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let mut after = 0;
    loop {
        for (seq, event) in super::read_events(&runtime.bus, asset.as_deref(), after).await? {
            after = seq;
            if json {
                println!("{}", serde_json::to_string(&event)?);
            } else {
                println!("{}", super::event_line(seq, &event));
            }
        }
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}
