//! `mediasift run PATH… [--json]`: put files into the local ingest bucket, drive the bus until
//! every asset has finished or failed, then summarise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use mediasift::outcome::{AssetState, AssetView, summarize};
use mediasift_kit::local::bus::DeliveryStatus;
use mediasift_kit::ports::{Body, ObjectMeta, ObjectStore, PutOptions};
use mediasift_schemas::{RawEvent, form_url_encode};
use serde_json::json;

use crate::DataDir;
use mediasift::runtime::LocalRuntime;
use mediasift_ingest::skip;

/// One input file and what became of its upload.
struct Input {
    path: PathBuf,
    key: String,
    uploaded: Result<ObjectMeta, String>,
}

pub async fn run(
    data: &DataDir,
    paths: &[PathBuf],
    json: bool,
    options: Option<&str>,
) -> anyhow::Result<ExitCode> {
    // No paths is `--resume`: nothing new is put, what is pending is finished.
    let files = if paths.is_empty() {
        Vec::new()
    } else {
        mediasift::inputs::collect_files(paths)?
    };
    let mut upload = PutOptions::default();
    if let Some(options) = options {
        match serde_json::from_str::<serde_json::Value>(options) {
            Ok(serde_json::Value::Object(_)) => {}
            _ => anyhow::bail!("--options must be a JSON object, e.g. '{{\"transcribe\": false}}'"),
        }
        upload.user_metadata.insert(
            mediasift_schemas::OPTIONS_METADATA.into(),
            options.to_owned(),
        );
    }
    let runtime = super::open(data).await?;
    let missed = runtime.announce_missed_uploads().await?;
    if missed > 0 {
        eprintln!("announced {missed} upload(s) an interrupted run stored but never announced");
    }
    let bus = runtime.bus.clone();
    let start = super::read_events(&bus, None, 0)
        .await?
        .last()
        .map_or(0, |(seq, _)| *seq);

    let mut inputs = Vec::with_capacity(files.len());
    for (path, key) in files {
        let uploaded = runtime
            .objects
            .put(
                &runtime.config.ingest_bucket,
                &key,
                Body::File(path.clone()),
                upload.clone(),
            )
            .await
            .map_err(|e| e.to_string());
        inputs.push(Input {
            path,
            key,
            uploaded,
        });
    }

    let dispatcher = bus.start()?;
    let progress = Progress::new(&inputs, json);
    {
        let idle = dispatcher.wait_idle();
        tokio::pin!(idle);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut seen = start;
        loop {
            tokio::select! {
                finished = &mut idle => { finished?; break; }
                _ = tick.tick() => {
                    for (seq, event) in super::read_events(&bus, None, seen).await? {
                        seen = seq;
                        progress.observe(&event);
                    }
                }
            }
        }
    }
    dispatcher.shutdown().await?;
    progress.finish();
    if runtime.faults.plan().is_active() {
        eprintln!(
            "faults injected: {}",
            serde_json::to_string(&runtime.faults.counts())?
        );
    }

    let events: Vec<RawEvent> = super::read_events(&bus, None, start)
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let views = summarize(&events);
    let derived_root = runtime
        .objects
        .root()
        .join(&runtime.config.derived_bucket)
        .join("objects");
    let mut all_completed = true;
    for input in &inputs {
        let outcome = outcome_of(input, &events, &views, &runtime);
        all_completed &= finished_as_far_as_this_build_goes(&outcome, &events, &runtime).await?;
        let outputs = outcome
            .asset_id
            .as_ref()
            .map(|id| derived_root.join(id).display().to_string());
        let report = match &outcome.asset_id {
            Some(id) => match super::report::write_report(&runtime, id, None).await {
                Ok(path) => path.map(|p| p.display().to_string()),
                Err(error) => {
                    eprintln!("warning: no report for asset {id}: {error:#}");
                    None
                }
            },
            None => None,
        };
        if json {
            let mut line = json!({
                "input": input.path.display().to_string(),
                "key": input.key,
                "assetId": outcome.asset_id,
                "results": outcome.results.iter().map(|r| &r.uri).collect::<Vec<_>>(),
                "outputs": outputs,
                "report": report,
            });
            if let Some(object) = line.as_object_mut()
                && let Ok(serde_json::Value::Object(state)) = serde_json::to_value(&outcome.state)
            {
                object.extend(state);
            }
            println!("{line}");
        } else {
            print_outcome(
                input,
                &outcome,
                &events,
                outputs.as_deref(),
                report.as_deref(),
            );
        }
    }
    Ok(if all_completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The chain an upload started: its `Object Created` event (same bucket, key and version)
/// gives the correlation id every later event of the asset carries.
fn outcome_of(
    input: &Input,
    events: &[RawEvent],
    views: &BTreeMap<String, AssetView>,
    runtime: &LocalRuntime,
) -> AssetView {
    let unfinished = |reason: String| AssetView {
        correlation_id: String::new(),
        asset_id: None,
        source: None,
        state: AssetState::Unfinished { reason },
        events: Vec::new(),
        results: Vec::new(),
    };
    let meta = match &input.uploaded {
        Ok(meta) => meta,
        Err(error) => {
            return AssetView {
                state: AssetState::Failed {
                    cause: format!("could not put it into the ingest bucket: {error}"),
                },
                ..unfinished(String::new())
            };
        }
    };
    let encoded = form_url_encode(&input.key);
    let created = events.iter().find(|e| {
        e.detail_type == "Object Created"
            && e.detail["object"]["key"] == encoded.as_str()
            && e.detail["object"]["version-id"].as_str() == meta.version_id.as_deref()
    });
    let Some(created) = created else {
        return unfinished(
            "the ingest bucket did not announce the upload (no Object Created event)".into(),
        );
    };
    match views.get(&created.id) {
        Some(view) if view.events.len() == 1 => {
            let skipped = skip::check(
                &runtime.config.ingest_bucket,
                &meta.bucket,
                &meta.key,
                Some(meta.size),
            );
            let state = match skipped {
                Some(skip) => AssetState::Skipped {
                    reason: skip.to_string(),
                },
                None => AssetState::Unfinished {
                    reason: "no service reported on the upload (see `mediasift dlq`)".into(),
                },
            };
            AssetView {
                state,
                ..view.clone()
            }
        }
        Some(view) => view.clone(),
        None => unfinished("no events for this upload".into()),
    }
}

/// Whether the asset got as far as this build can take it: completed, skipped on purpose, or
/// ingested with every event of its chain handled by each service of this build it targets
/// (services of the plan that this build lacks cannot finish it, and are not waited for).
async fn finished_as_far_as_this_build_goes(
    outcome: &AssetView,
    events: &[RawEvent],
    runtime: &LocalRuntime,
) -> anyhow::Result<bool> {
    match &outcome.state {
        AssetState::Completed | AssetState::Skipped { .. } => Ok(true),
        AssetState::Ingested { .. } => {
            let Some(asset_id) = outcome.asset_id.as_deref() else {
                return Ok(false);
            };
            let handled: BTreeSet<(String, String)> = runtime
                .bus
                .deliveries_for_asset(asset_id)
                .await?
                .into_iter()
                .filter(|d| d.status == DeliveryStatus::Done)
                .map(|d| (d.event_id, d.service))
                .collect();
            // Events before the asset had an id (`Object Created`) were handled: ingest
            // announced the asset.
            Ok(events
                .iter()
                .filter(|e| e.correlation_id() == outcome.correlation_id)
                .filter(|e| e.detail.get("assetId").is_some())
                .all(|e| {
                    runtime.bus.targets(e).is_ok_and(|targets| {
                        targets
                            .into_iter()
                            .all(|service| handled.contains(&(e.id.clone(), service)))
                    })
                }))
        }
        _ => Ok(false),
    }
}

fn print_outcome(
    input: &Input,
    outcome: &AssetView,
    events: &[RawEvent],
    outputs: Option<&str>,
    report: Option<&str>,
) {
    let mark = match outcome.state {
        AssetState::Completed | AssetState::Ingested { .. } => "✓",
        AssetState::Partial { .. } | AssetState::Skipped { .. } => "~",
        AssetState::Failed { .. } | AssetState::Unfinished { .. } => "✗",
    };
    println!(
        "{mark} {:<10} {}  asset {}",
        outcome.state.label(),
        input.path.display(),
        outcome.asset_id.as_deref().unwrap_or("-")
    );
    match &outcome.state {
        AssetState::Completed => {}
        AssetState::Partial { cause } | AssetState::Failed { cause } => {
            println!("    cause: {cause}")
        }
        AssetState::Unfinished { reason } | AssetState::Skipped { reason } => {
            println!("    {reason}")
        }
        AssetState::Ingested { planned } => {
            println!("    planned analyses: {}", planned.join(", "))
        }
    }
    for event in events.iter().filter(|e| {
        !outcome.correlation_id.is_empty() && e.correlation_id() == outcome.correlation_id
    }) {
        println!("    {}", describe_event(event));
    }
    if let Some(outputs) = outputs {
        println!("    outputs: {outputs}");
    }
    if let Some(report) = report {
        println!("    report:  {report}");
    }
}

/// One line per event: its detail-type and the facts a person checks first.
fn describe_event(event: &RawEvent) -> String {
    let detail = &event.detail;
    let mut facts = Vec::new();
    if let Some(md5) = detail["fixity"]["md5"].as_str() {
        facts.push(format!(
            "md5 {md5} ({})",
            detail["fixity"]["status"].as_str().unwrap_or("?")
        ));
    }
    let technical = &detail["technical"];
    if let Some(codec) = technical["videoCodec"].as_str() {
        facts.push(format!(
            "{codec} {}x{} {} fps {:.2} s",
            technical["width"],
            technical["height"],
            technical["framesPerSecond"],
            technical["durationSeconds"].as_f64().unwrap_or(0.0)
        ));
    } else if let Some(duration) = technical["durationSeconds"].as_f64() {
        facts.push(format!("{duration:.2} s"));
    }
    if let Some(tracks) = technical["audioTracks"].as_array() {
        facts.push(format!("{} audio track(s)", tracks.len()));
    }
    if let Some(format) = technical["format"].as_str() {
        match (technical["width"].as_u64(), technical["height"].as_u64()) {
            (Some(w), Some(h)) => facts.push(format!("{format} {w}x{h}")),
            _ => facts.push(format.to_owned()),
        }
    }
    if let Some(pages) = technical["pages"].as_u64() {
        facts.push(format!("{pages} page(s)"));
    }
    if technical["encrypted"] == true {
        facts.push("encrypted".into());
    }
    let summary = &detail["summary"];
    if let (Some(shots), Some(captured), Some(analysed)) = (
        summary["shots"].as_u64(),
        summary["framesCaptured"].as_u64(),
        summary["framesAnalysed"].as_u64(),
    ) {
        facts.push(format!(
            "{shots} shot(s), {} cue(s), {analysed} of {captured} frame(s) analysed",
            summary["technicalCues"].as_u64().unwrap_or(0)
        ));
    }
    if let Some(map) = summary["loudnessMap"].as_array() {
        let map: Vec<String> = map.iter().map(|v| v.to_string()).collect();
        let loudness: Vec<String> = summary["integratedLoudness"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_f64())
            .map(|lufs| format!("{lufs:.1} LUFS"))
            .collect();
        let mut fact = format!("loudness map [{}]", map.join(","));
        if !loudness.is_empty() {
            fact += &format!(" ({})", loudness.join(", "));
        }
        facts.push(fact);
        if let Some(engine) = summary["speechEngine"].as_str() {
            facts.push(format!(
                "{} word(s) by {engine}{}",
                summary["words"].as_u64().unwrap_or(0),
                summary["language"]
                    .as_str()
                    .map(|l| format!(", language {l}"))
                    .unwrap_or_default()
            ));
        }
    }
    if let Some(phash) = summary["phash"].as_str() {
        let mut fact = format!("pHash {phash}");
        if let Some(camera) = summary["camera"].as_str() {
            fact += &format!(", {camera}");
        }
        if let Some(captured) = summary["capturedAt"].as_str() {
            fact += &format!(", taken {captured}");
        }
        let location = &summary["location"];
        if let (Some(lat), Some(lon)) = (
            location["latitude"].as_f64(),
            location["longitude"].as_f64(),
        ) {
            fact += &format!(", at {lat:.5}, {lon:.5}");
        }
        match summary["nearDuplicates"].as_u64() {
            Some(0) | None => {}
            Some(n) => fact += &format!(", {n} near-duplicate(s)"),
        }
        facts.push(fact);
    }
    if let (Some(pages), Some(ocr)) = (summary["pages"].as_u64(), summary["ocrPages"].as_u64()) {
        if summary["encrypted"] == true && summary["words"] == 0 {
            facts.push(format!("{pages} page(s), encrypted: text not read"));
        } else {
            facts.push(format!(
                "{pages} page(s), {ocr} by OCR, {} word(s)",
                summary["words"].as_u64().unwrap_or(0)
            ));
        }
    }
    if event.detail_type == "Scenes Detected" {
        facts.push(format!(
            "{} scene(s) of {} shot(s)",
            summary["scenes"].as_u64().unwrap_or(0),
            summary["shots"].as_u64().unwrap_or(0)
        ));
    }
    if let Some(breaks) = detail["breaks"].as_array() {
        let at: Vec<String> = breaks
            .iter()
            .map(|b| {
                format!(
                    "{} (score {:.2})",
                    b["timecode"].as_str().unwrap_or("?"),
                    b["score"].as_f64().unwrap_or(0.0)
                )
            })
            .collect();
        facts.push(match at.is_empty() {
            true => "no ad break placed".to_owned(),
            false => format!("ad break(s) at {}", at.join(", ")),
        });
    }
    // Analyses: which features ran, which were skipped and why.
    let features = [
        "labels",
        "faces",
        "celebrities",
        "faceMatch",
        "text",
        "moderation",
    ];
    let ran: Vec<&str> = detail["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .filter(|name| features.contains(name))
        .collect();
    if !ran.is_empty() {
        facts.push(format!("vision: {}", ran.join(", ")));
    }
    let mut skipped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for skip in detail["skipped"].as_array().into_iter().flatten() {
        if let (Some(feature), Some(reason)) = (skip["feature"].as_str(), skip["reason"].as_str()) {
            skipped.entry(reason).or_default().push(feature);
        }
    }
    for (reason, features) in skipped {
        facts.push(format!("skipped {} ({reason})", features.join(", ")));
    }
    if let Some(cause) = detail["cause"].as_str() {
        facts.push(cause.to_owned());
    }
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(": {}", facts.join(", "))
    };
    format!("{} ({}){facts}", event.detail_type, event.source)
}

/// A progress line per input, showing the latest stage its events reached.
struct Progress {
    bars: BTreeMap<String, ProgressBar>,
    _multi: MultiProgress,
}

impl Progress {
    fn new(inputs: &[Input], quiet: bool) -> Self {
        let multi = MultiProgress::new();
        if quiet {
            multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let style = ProgressStyle::with_template("{spinner} {prefix:40!} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let mut bars = BTreeMap::new();
        for input in inputs {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(style.clone());
            bar.set_prefix(input.key.clone());
            bar.set_message(if input.uploaded.is_ok() {
                "uploaded"
            } else {
                "upload failed"
            });
            bar.enable_steady_tick(Duration::from_millis(120));
            bars.insert(form_url_encode(&input.key), bar);
        }
        Self {
            bars,
            _multi: multi,
        }
    }

    fn observe(&self, event: &RawEvent) {
        let key = event.detail["object"]["key"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| event.detail["source"]["key"].as_str().map(form_url_encode));
        if let Some(bar) = key.and_then(|k| self.bars.get(&k)) {
            bar.set_message(format!("{} ({})", event.detail_type, event.source));
        }
    }

    fn finish(&self) {
        for bar in self.bars.values() {
            bar.finish_and_clear();
        }
    }
}
