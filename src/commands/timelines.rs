//! `mediasift timelines ASSET [--feature F] [--json]` and `mediasift faces name FACE NAME`.

use std::process::ExitCode;

use mediasift_kit::ports::StoreError;
use mediasift_video::faces::{FaceNames, ReadError, read_timelines};
use uuid::Uuid;

use crate::DataDir;

pub async fn timelines(
    data: &DataDir,
    asset: Uuid,
    feature: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let read = read_timelines(
        runtime.objects.as_ref(),
        runtime.state.as_ref(),
        &runtime.config.derived_bucket,
        asset,
    )
    .await;
    let mut timelines = match read {
        Ok(timelines) => timelines,
        Err(ReadError::Store(StoreError::NotFound { .. })) => {
            eprintln!(
                "no timelines for {asset} in {}: is it an analysed video? (`mediasift status {asset}`)",
                data.data_dir.display()
            );
            return Ok(ExitCode::from(1));
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(feature) = feature {
        timelines.timelines.retain(|t| t.feature == feature);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&timelines)?);
        return Ok(ExitCode::SUCCESS);
    }
    for timeline in &timelines.timelines {
        println!("{} ({} tracks)", timeline.feature, timeline.tracks.len());
        for track in &timeline.tracks {
            let name = match (&track.id, track.name.is_empty()) {
                (Some(id), true) => format!("(unnamed face {id})"),
                (Some(id), false) => format!("{} [{id}]", track.name),
                (None, _) => track.name.clone(),
            };
            let ranges: Vec<String> = track
                .ranges
                .iter()
                .map(|r| format!("{:.1}-{:.1}", r.start, r.end))
                .collect();
            println!(
                "  {name:<40} {:>6.1} s  max {:>5.1}  {}",
                track.seconds,
                track.max_confidence,
                ranges.join(" ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn name_face(data: &DataDir, face_id: &str, name: &str) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    FaceNames::new(runtime.state.as_ref())
        .set(face_id, name)
        .await?;
    println!("face {face_id} is now {name:?}");
    Ok(ExitCode::SUCCESS)
}
