//! `loudness FILE`: EBU R128 loudness of every audio track of one file, and which tracks carry
//! sound, without the bus.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use mediasift_media::loudness::{LoudnessOptions, LoudnessReport, analyse_file};

/// Measures `file` and prints a line per track and the loudness map (or the report's JSON).
pub async fn loudness(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let report = analyse_file(file, &LoudnessOptions::default())
        .await
        .with_context(|| format!("cannot measure the loudness of {}", file.display()))?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn table(report: &LoudnessReport) -> String {
    let mut out = format!(
        "{:>5}  {:>8}  {:>10}  {:>7}  {:>9}  {:>10}  {:>8}  {}\n",
        "track", "channels", "integrated", "range", "true peak", "max moment", "silences", "layout"
    );
    for track in &report.tracks {
        let m = &track.loudness;
        out += &format!(
            "{:>5}  {:>8}  {:>10}  {:>7}  {:>9}  {:>10}  {:>8}  {}{}\n",
            track.track,
            m.channels,
            level(m.integrated_lufs, "LUFS"),
            format!("{:.1} LU", m.loudness_range_lu),
            level(m.true_peak_dbtp, "dBTP"),
            level(m.max_momentary_lufs, "LUFS"),
            m.silences.len(),
            track.channel_layout.as_deref().unwrap_or("-"),
            if m.silent { " (silent)" } else { "" },
        );
    }
    out += &format!("\nmap {:?}: {}\n", report.map, report.description);
    for warning in &report.warnings {
        out += &format!("warning: {warning}\n");
    }
    out
}

/// `-23.0 LUFS`, or `-inf` where nothing was loud enough to measure.
fn level(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "-inf".to_owned(), |v| format!("{v:.1} {unit}"))
}
