//! `frames FILE`: the dynamic frame analysis of one video, without the bus: 1-fps captures,
//! their pHash and sharpness, and which of them would go to vision.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use mediasift_media::frames::{FrameAnalysis, FrameOptions, analyse_file};
use mediasift_media::selection::Still;

/// Analyses `file` within the shots listed in `shots_json` (a `mediasift shots --json`
/// output; its black and colour-bar cues are one group each, as in the video service), or as
/// one shot.
pub async fn frames(
    file: &Path,
    rate: f64,
    shots_json: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let options = FrameOptions {
        rate,
        ..FrameOptions::default()
    };
    let (shot_starts, stills) = match shots_json {
        Some(path) => read_shot_list(path)?,
        None => (Vec::new(), Vec::new()),
    };
    let analysis = analyse_file(file, &options, &shot_starts, &stills)
        .await
        .with_context(|| format!("cannot analyse the frames of {}", file.display()))?;
    if json {
        println!("{}", serde_json::to_string(&analysis)?);
    } else {
        print!("{}", table(&analysis));
    }
    Ok(ExitCode::SUCCESS)
}

/// The start frames of the shots, and the black and colour-bar cues, in a
/// `mediasift shots --json` document.
fn read_shot_list(path: &Path) -> anyhow::Result<(Vec<u64>, Vec<Still>)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the shot list {}", path.display()))?;
    let document: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let stills = document["cues"]
        .as_array()
        .map(|cues| {
            cues.iter()
                .filter_map(|cue| {
                    let kind = cue["kind"].as_str()?;
                    matches!(kind, "Black" | "ColourBars").then_some(Still {
                        start_frame: cue["startFrame"].as_u64()?,
                        end_frame: cue["endFrame"].as_u64()?,
                        kind: kind.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let starts = document["shots"]
        .as_array()
        .and_then(|shots| {
            shots
                .iter()
                .map(|shot| shot["startFrame"].as_u64())
                .collect::<Option<Vec<u64>>>()
        })
        .with_context(|| {
            format!(
                "{} is not a `mediasift shots --json` output (no shots[].startFrame)",
                path.display()
            )
        })?;
    Ok((starts, stills))
}

/// The captures as a table, then the totals.
fn table(analysis: &FrameAnalysis) -> String {
    let mut out = format!(
        "{:>7}  {:>9}  {:>7}  {:<16}  {:>9}  {:>5}  {:>5}  {}\n",
        "capture", "time", "frame", "hash", "sharpness", "shot", "group", "vision"
    );
    for c in &analysis.selection.captures {
        let vision = match (c.selected, c.reuses_capture) {
            (true, _) => "selected".to_owned(),
            (false, Some(reused)) => format!("reuses {reused}"),
            (false, None) => format!(
                "as {} ({:.2})",
                c.representative, c.distance_to_representative
            ),
        };
        out += &format!(
            "{:>7}  {:>9}  {:>7}  {:<16}  {:>9.1}  {:>5}  {:>5}  {vision}\n",
            c.index,
            clock(c.timestamp),
            c.frame,
            c.hash,
            c.sharpness,
            c.shot,
            c.group
        );
    }
    let t = &analysis.selection.totals;
    out += &format!(
        "{} captures at {} fps, {} shot(s), {} group(s): {} selected for vision, {} reused; \
         max distance to a representative {:.3}, to the capture whose results it gets {:.3} \
         (threshold {})\n",
        t.captures,
        analysis.rate,
        t.shots,
        t.groups,
        t.selected_for_vision,
        t.reused,
        t.max_distance_to_representative,
        t.max_distance_to_vision_capture,
        analysis.selection.threshold
    );
    out += &format!(
        "decoded in {:.2} s, hashed in {:.3} s\n",
        analysis.decode_seconds, analysis.analysis_seconds
    );
    out
}

/// `mm:ss.mmm`, or `h:mm:ss.mmm` past the hour.
fn clock(seconds: f64) -> String {
    let millis = (seconds * 1000.0).round() as u64;
    let (h, m, s, ms) = (
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000,
    );
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{ms:03}")
    } else {
        format!("{m:02}:{s:02}.{ms:03}")
    }
}
