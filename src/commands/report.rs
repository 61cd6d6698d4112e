//! `mediasift report ASSET [-o FILE]`: one asset's report as a self-contained HTML page.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mediasift::report;
use mediasift::runtime::LocalRuntime;

use crate::DataDir;

pub async fn report(data: &DataDir, asset: &str, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let Some(asset_id) = runtime.resolve_asset(asset).await? else {
        eprintln!(
            "no asset {asset:?} in {} (an asset id, or the key it was uploaded as; `mediasift status` lists them)",
            data.data_dir.display()
        );
        return Ok(ExitCode::from(1));
    };
    match write_report(&runtime, &asset_id, out).await? {
        Some(path) => {
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!(
                "asset {asset_id} was never ingested, so there is nothing to report (`mediasift status {asset_id}` says why)"
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Writes the report of `asset_id` to `out`, or to `<data-dir>/reports/<asset-id>.html`;
/// `None` when the asset was never ingested.
pub async fn write_report(
    runtime: &LocalRuntime,
    asset_id: &str,
    out: Option<&Path>,
) -> anyhow::Result<Option<PathBuf>> {
    let Some(report) = runtime.report(asset_id).await? else {
        return Ok(None);
    };
    let out = match out {
        Some(out) => out.to_path_buf(),
        None => runtime
            .config
            .data_dir
            .join("reports")
            .join(format!("{asset_id}.html")),
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let path = report::write(
        &report,
        runtime.objects.as_ref(),
        &runtime.config.derived_bucket,
        &out,
    )
    .await?;
    Ok(Some(path))
}
