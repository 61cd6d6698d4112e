//! `shots FILE`: shot boundaries and technical cues (black, fades, colour bars) of one video,
//! without the bus, listed like PySceneDetect's `list-scenes`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use mediasift_media::shots::{Shots, detect_shots};

/// Detects the shots and cues of `file` and prints them (or the [`Shots`] JSON).
pub async fn shots(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let shots = detect_shots(file)
        .await
        .with_context(|| format!("cannot detect the shots of {}", file.display()))?;
    if json {
        println!("{}", serde_json::to_string(&shots)?);
    } else {
        print!("{}", table(&shots));
    }
    Ok(ExitCode::SUCCESS)
}

/// The shots, then the cues, as tables; end frames are inclusive, end times and timecodes
/// are where the last frame ends.
fn table(shots: &Shots) -> String {
    let mut out = format!(
        "{} frames at {} fps ({}): {} shot(s), {} cut(s), {} cue(s)\n\n",
        shots.frame_count,
        round3(shots.frame_rate),
        shots.frame_rate_rational,
        shots.shots.len(),
        shots.cuts.len(),
        shots.cues.len()
    );
    out += &format!(
        "{:>5}  {:>11}  {:>11}  {:>9}  {:>9}  {:<11}  {:<11}  {}\n",
        "shot", "start frame", "end frame", "start s", "end s", "start tc", "end tc", "cut"
    );
    for shot in &shots.shots {
        let cut = shots
            .cuts
            .iter()
            .find(|c| c.frame == shot.start_frame)
            .map(|c| format!("{:?} ({:.2})", c.kind, c.score))
            .unwrap_or_else(|| "-".to_owned());
        out += &format!(
            "{:>5}  {:>11}  {:>11}  {:>9.3}  {:>9.3}  {:<11}  {:<11}  {cut}\n",
            shot.index,
            shot.start_frame,
            shot.end_frame,
            shot.start_seconds,
            shot.end_seconds,
            shot.start_timecode,
            shot.end_timecode
        );
    }
    if !shots.cues.is_empty() {
        out += &format!(
            "\n{:<10}  {:>11}  {:>11}  {:>9}  {:>9}  {:<11}  {}\n",
            "cue", "start frame", "end frame", "start s", "end s", "start tc", "end tc"
        );
        for cue in &shots.cues {
            out += &format!(
                "{:<10}  {:>11}  {:>11}  {:>9.3}  {:>9.3}  {:<11}  {}\n",
                format!("{:?}", cue.kind),
                cue.start_frame,
                cue.end_frame,
                cue.start_seconds,
                cue.end_seconds,
                cue.start_timecode,
                cue.end_timecode
            );
        }
    }
    out
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
