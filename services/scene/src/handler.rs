//! The scene handler: a video or audio outcome → the join → (once the set is complete) shots
//! grouped into scenes, each with its frames, words, sentiment and taxonomy → `Scenes
//! Detected`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use mediasift_kit::claim::CompleteSet;
use mediasift_kit::handler::{caused_by, decode};
use mediasift_kit::language::{LanguageBackend, LanguageError};
use mediasift_kit::ports::split_s3_uri;
use mediasift_kit::{AssetWork, Handler, HandlerError, Ports, Subscriptions};
use mediasift_schemas::{
    AnalysisKind, AudioAnalysisCompleted, EventDetail, ProcessingFailed, RawEvent, ResultRef,
    ScenesDetected, ScenesSummary, SkippedFeature, VideoAnalysisCompleted, sources,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::SERVICE;
use crate::describe::{DescribeError, SceneDescriber, SceneRequest};
use crate::descriptor::Histogram;
use crate::grouping::{self, Cues, ShotSpan, Span};
use crate::join::{self, JoinState, Joined, Outcome, Side};
use crate::report::{GroupingSettings, Scene, SceneReport};
use crate::taxonomy::SceneClassifier;

const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");
const NO_LOCAL_BACKEND: &str = "no local backend";
/// Thumbnails listed per scene.
const THUMBNAILS: usize = 4;
/// Frames in the grid a describer sees (3 × 3).
const GRID_FRAMES: usize = 9;
/// The width of one frame in the grid.
const GRID_CELL_WIDTH: u32 = 320;
/// Characters of a scene's words kept in `scenes.json`.
const TRANSCRIPT_CHARS: usize = 2000;
/// Labels and text lines listed per scene.
const LIST_LIMIT: usize = 20;
/// Captures fetched at once.
const FETCH_CONCURRENCY: usize = 8;
/// Categories kept per scene.
const CATEGORIES: usize = 3;

/// Settings of the scene service.
#[derive(Debug, Clone, Default)]
pub struct SceneConfig {
    pub grouping: GroupingSettings,
    /// Why descriptions are skipped when there is no describer.
    pub description_skip_reason: Option<String>,
}

/// The analysers the scene service uses, each optional.
#[derive(Clone, Default)]
pub struct Backends {
    /// Sentiment of each scene's words.
    pub language: Option<Arc<dyn LanguageBackend>>,
    /// IAB categories of each scene's words and labels.
    pub taxonomy: Option<Arc<dyn SceneClassifier>>,
    /// The generative description (Bedrock on AWS).
    pub describer: Option<Arc<dyn SceneDescriber>>,
}

/// The scene service.
pub struct Scenes {
    config: SceneConfig,
    backends: Backends,
}

impl Scenes {
    pub fn new(config: SceneConfig, backends: Backends) -> Self {
        Self { config, backends }
    }

    /// Scenes with the local analysers: VADER sentiment and MiniLM zero-shot IAB (loaded on
    /// first use; reported skipped, with the reason, when the model is not installed).
    pub fn local(config: SceneConfig) -> Self {
        let backends = Backends {
            language: Some(Arc::new(mediasift_kit::language::LocalLanguage::new())),
            taxonomy: Some(Arc::new(crate::taxonomy::MiniLmTaxonomy::new())),
            describer: None,
        };
        Self::new(config, backends)
    }
}

#[async_trait]
impl Handler for Scenes {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn subscriptions(&self) -> Subscriptions {
        crate::subscriptions()
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        let (asset_id, side, outcome) = match (event.source.as_str(), event.detail_type.as_str()) {
            (sources::VIDEO, VideoAnalysisCompleted::DETAIL_TYPE) => {
                let d = decode::<VideoAnalysisCompleted>(event)?.detail;
                let outcome = Outcome {
                    event_id: event.id.clone(),
                    completed: true,
                    results: d.results,
                    plan: Some(d.plan),
                    language: None,
                    failure: None,
                };
                (d.asset_id, Side::Video, outcome)
            }
            (sources::AUDIO, AudioAnalysisCompleted::DETAIL_TYPE) => {
                let d = decode::<AudioAnalysisCompleted>(event)?.detail;
                let language = d.summary.language.clone();
                let outcome = Outcome {
                    event_id: event.id.clone(),
                    completed: true,
                    results: d.results,
                    plan: Some(d.plan),
                    language,
                    failure: None,
                };
                (d.asset_id, Side::Audio, outcome)
            }
            (sources::AUDIO, ProcessingFailed::DETAIL_TYPE) => {
                let d = decode::<ProcessingFailed>(event)?.detail;
                if d.analysis != Some(AnalysisKind::Audio) {
                    return Ok(Vec::new());
                }
                let outcome = Outcome {
                    event_id: event.id.clone(),
                    completed: false,
                    results: Vec::new(),
                    plan: None,
                    language: None,
                    failure: Some(format!("{}: {}", d.error_code, d.cause)),
                };
                (d.asset_id, Side::Audio, outcome)
            }
            (source, detail_type) => {
                tracing::debug!(source, detail_type, "not an event scene handles");
                return Ok(Vec::new());
            }
        };
        let key = join::key(asset_id, &event.correlation_id());
        let run_event = |id: String| {
            let mut run = event.clone();
            run.id = id;
            run
        };
        let run = run_event(key.clone());
        let asset = scene_work(ports, &run, asset_id);
        let state = join::arrive(
            ports.state.as_ref(),
            &key,
            side,
            &outcome,
            ports.clock.now(),
        )
        .await
        .map_err(|e| asset.state_error(e))?;
        match state {
            JoinState::Waiting => {
                tracing::info!(%asset_id, ?side, "recorded; waiting for the other analysis");
                Ok(Vec::new())
            }
            JoinState::TakenBy(claimer) => {
                tracing::info!(%asset_id, ?side, claimer, "scenes already claimed");
                Ok(Vec::new())
            }
            JoinState::Claimed(joined) => {
                // The work's identity is the run's and its set's, not this event's: whichever
                // arrival builds the scenes of a set, `Scenes Detected` has the same id.
                let set_run = run_event(format!("{key}#{}", joined.fingerprint()));
                let asset = scene_work(ports, &set_run, asset_id);
                let detected = self.build(&asset, event, *joined).await?;
                Ok(vec![asset.emit(detected)])
            }
        }
    }
}

/// The scene service's work on an asset, identified by `run` (a run of the asset, or its
/// complete set): the events it emits derive their ids from it.
fn scene_work<'a>(ports: &'a Ports, run: &'a RawEvent, asset_id: uuid::Uuid) -> AssetWork<'a> {
    AssetWork::new(
        ports,
        run,
        asset_id,
        SERVICE,
        sources::SCENE,
        AnalysisKind::Scenes,
    )
}

/// The video service's `shots.json`, by shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShotsDoc {
    frame_rate: f64,
    frame_rate_rational: String,
    frame_count: u64,
    shots: Vec<ShotDoc>,
    #[serde(default)]
    cues: Vec<CueDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShotDoc {
    index: u32,
    start_frame: u64,
    end_frame: u64,
    start_seconds: f64,
    end_seconds: f64,
    start_timecode: String,
    end_timecode: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CueDoc {
    kind: String,
    start_seconds: f64,
    end_seconds: f64,
}

/// Ingest's capture manifest, by shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    frames: Vec<ManifestFrame>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestFrame {
    timestamp_seconds: f64,
    key: String,
}

/// A vision feature's results (`labels.json`, `text.json`), by shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeatureDoc {
    captures: Vec<FeatureCapture>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeatureCapture {
    capture: u32,
    timestamp: f64,
    detections: Vec<FeatureDetection>,
    #[serde(default)]
    reused_by: Vec<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeatureDetection {
    name: String,
    confidence: f64,
    #[serde(default)]
    line: Option<String>,
}

/// The audio service's `transcript.json`, by shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TranscriptDoc {
    #[serde(default)]
    language: Option<String>,
    words: Vec<WordDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WordDoc {
    text: String,
    start: f64,
    end: f64,
}

/// A frame capture: its time and where its picture is.
#[derive(Debug, Clone)]
struct Capture {
    timestamp: f64,
    uri: String,
}

/// What the vision backend saw at a time.
#[derive(Debug, Clone)]
struct Seen {
    timestamp: f64,
    what: String,
    confidence: f64,
}

impl Scenes {
    async fn build(
        &self,
        asset: &AssetWork<'_>,
        event: &RawEvent,
        joined: Joined,
    ) -> Result<ScenesDetected, HandlerError> {
        let video = by_name(&joined.video.results);
        let audio = joined
            .audio
            .as_ref()
            .map(|a| by_name(&a.results))
            .unwrap_or_default();
        let plan = &joined.plan;
        let mut skipped = Vec::new();

        let shots_ref = video.get("shots").ok_or_else(|| {
            asset.fail(
                "MissingInput",
                "the video analysis lists no `shots` result",
                "Re-run the video analysis of the asset (re-upload the source).",
            )
        })?;
        let shots: ShotsDoc = read_json(asset, "shots", &shots_ref.uri).await?;
        let captures = match video.get("frameCaptures") {
            Some(r) => self.captures(asset, &r.uri).await?,
            None => Vec::new(),
        };
        let spans: Vec<ShotSpan> = shots
            .shots
            .iter()
            .map(|s| ShotSpan {
                index: s.index,
                start_seconds: s.start_seconds,
                end_seconds: s.end_seconds,
                start_frame: s.start_frame,
                end_frame: s.end_frame,
                start_timecode: s.start_timecode.clone(),
                end_timecode: s.end_timecode.clone(),
            })
            .collect();
        let histograms = self.histograms(asset, &captures).await?;
        let looks = shot_looks(&spans, &captures, &histograms);
        let cues = cues(&shots.cues);

        let transcript: Option<TranscriptDoc> = match audio.get("transcript") {
            Some(r) => Some(read_json(asset, "transcript", &r.uri).await?),
            None => None,
        };
        let words: Vec<WordDoc> = transcript
            .as_ref()
            .map(|t| t.words.clone())
            .unwrap_or_default();
        let settings = self.config.grouping;
        let speech = grouping::dialogue(
            &words
                .iter()
                .map(|w| Span {
                    start: w.start,
                    end: w.end,
                })
                .collect::<Vec<_>>(),
            settings.dialogue_join_seconds,
        );
        let grouped = grouping::group(&spans, &looks, &cues, &speech, &settings);

        let min_confidence = plan.options.min_confidence;
        let labels = match video.get("labels") {
            Some(r) => seen(asset, "labels", &r.uri, &captures, min_confidence, false).await?,
            None => Vec::new(),
        };
        let text = match video.get("text") {
            Some(r) => seen(asset, "text", &r.uri, &captures, min_confidence, true).await?,
            None => Vec::new(),
        };

        let duration_seconds = if shots.frame_rate > 0.0 && shots.frame_count > 0 {
            shots.frame_count as f64 / shots.frame_rate
        } else {
            spans.last().map_or(0.0, |s| s.end_seconds)
        };
        let mut scenes: Vec<Scene> = grouped
            .scenes
            .iter()
            .enumerate()
            .map(|(n, s)| {
                let (first, last) = (&spans[s.first], &spans[s.last]);
                let (start, end) = (first.start_seconds, last.end_seconds);
                let inside = |t: f64| t >= start && t < end;
                let spoken: Vec<&str> = words
                    .iter()
                    .filter(|w| inside((w.start + w.end) / 2.0))
                    .map(|w| w.text.trim())
                    .collect();
                Scene {
                    index: n as u32 + 1,
                    start_seconds: start,
                    end_seconds: end,
                    start_frame: first.start_frame,
                    end_frame: last.end_frame,
                    start_timecode: first.start_timecode.clone(),
                    end_timecode: last.end_timecode.clone(),
                    shots: spans[s.first..=s.last].iter().map(|s| s.index).collect(),
                    ends_with: s.ends_with,
                    thumbnails: spread(
                        captures.iter().filter(|c| inside(c.timestamp)).collect(),
                        THUMBNAILS,
                    )
                    .into_iter()
                    .map(|c| c.uri.clone())
                    .collect(),
                    transcript: excerpt(&spoken.join(" "), TRANSCRIPT_CHARS),
                    sentiment: None,
                    labels: most_seen(&labels, start, end),
                    text: most_seen(&text, start, end),
                    taxonomy: Vec::new(),
                    description: None,
                }
            })
            .collect();

        // Sentiment of each scene's words.
        let language = joined
            .audio
            .as_ref()
            .and_then(|a| a.language.clone())
            .or_else(|| transcript.as_ref().and_then(|t| t.language.clone()))
            .or_else(|| plan.options.language.clone());
        let speech_skip = match &joined.audio {
            None if !plan.includes(AnalysisKind::Audio) => {
                Some("the asset has no audio".to_owned())
            }
            Some(a) if !a.completed => Some(format!(
                "the audio analysis failed ({})",
                a.failure.as_deref().unwrap_or("no cause given")
            )),
            _ if words.is_empty() => Some("no speech was recognised".to_owned()),
            _ => None,
        };
        match (&speech_skip, &self.backends.language, &language) {
            (Some(reason), _, _) => skipped.push(SkippedFeature::new("sentiment", reason)),
            (None, None, _) => skipped.push(SkippedFeature::new("sentiment", NO_LOCAL_BACKEND)),
            (None, Some(_), None) => skipped.push(SkippedFeature::new(
                "sentiment",
                "the speech's language is unknown; set the language option",
            )),
            (None, Some(backend), Some(language)) => {
                let documents: Vec<String> = scenes.iter().map(|s| s.transcript.clone()).collect();
                match backend.analyse(&documents, language).await {
                    Ok(found) => {
                        for (scene, found) in scenes.iter_mut().zip(found) {
                            scene.sentiment = found.sentiment;
                        }
                    }
                    Err(LanguageError::UnsupportedLanguage(reason)) => {
                        skipped.push(SkippedFeature::new("sentiment", &reason));
                    }
                    Err(e) => {
                        return Err(HandlerError::retryable(format!(
                            "sentiment of the scenes: {e}"
                        )));
                    }
                }
            }
        }

        // Taxonomy of each scene's words, labels and on-screen text.
        match &self.backends.taxonomy {
            None => skipped.push(SkippedFeature::new("taxonomy", NO_LOCAL_BACKEND)),
            Some(classifier) => {
                let texts: Vec<String> = scenes.iter().map(scene_text).collect();
                match classifier.classify(&texts, CATEGORIES).await {
                    Ok(categories) => {
                        for (scene, categories) in scenes.iter_mut().zip(categories) {
                            scene.taxonomy = categories;
                        }
                    }
                    Err(reason) => skipped.push(SkippedFeature::new("taxonomy", &reason)),
                }
            }
        }

        // The generative description, scene by scene.
        if !plan.options.generative {
            skipped.push(SkippedFeature::new("description", "turned off in options"));
        } else if let Some(describer) = &self.backends.describer {
            if let Some(reason) = self
                .describe(asset, describer.as_ref(), &mut scenes)
                .await?
            {
                skipped.push(SkippedFeature::new("description", &reason));
            }
        } else {
            let reason = self
                .config
                .description_skip_reason
                .clone()
                .unwrap_or_else(|| NO_LOCAL_BACKEND.to_owned());
            skipped.push(SkippedFeature::new("description", &reason));
        }

        let report = SceneReport {
            asset_id: asset.id,
            duration_seconds,
            frame_rate: shots.frame_rate,
            frame_rate_rational: shots.frame_rate_rational.clone(),
            settings,
            scenes,
            boundaries: grouped.boundaries,
        };
        let engine = self
            .backends
            .taxonomy
            .as_ref()
            .map(|t| format!("mediasift scenes; {}", t.engine()))
            .unwrap_or_else(|| "mediasift scenes".to_owned());
        let results = vec![
            ResultRef::new(
                "scenes",
                asset.put_json("scenes.json", &report).await?,
                engine,
            ),
            ResultRef {
                name: "chapters.vtt".into(),
                uri: asset
                    .put(
                        "chapters.vtt",
                        chapters_vtt(&report).into_bytes(),
                        "text/vtt",
                    )
                    .await?,
                engine: None,
            },
        ];
        let mut inputs = vec![shots_ref.clone()];
        for name in ["frames", "frameCaptures", "labels", "text"] {
            inputs.extend(video.get(name).cloned());
        }
        for name in ["transcript", "loudness", "silences"] {
            inputs.extend(audio.get(name).cloned());
        }
        tracing::info!(
            asset_id = %asset.id,
            scenes = report.scenes.len(),
            shots = spans.len(),
            "scenes built"
        );
        Ok(ScenesDetected {
            asset_id: asset.id,
            schema_version: ScenesDetected::SCHEMA_VERSION.into(),
            metadata: caused_by(event, SERVICE, PRODUCER_VERSION),
            plan: plan.clone(),
            summary: ScenesSummary {
                duration_seconds,
                scenes: report.scenes.len() as u32,
                shots: spans.len() as u32,
            },
            results,
            inputs,
            skipped,
        })
    }

    /// The capture manifest's frames, with their pictures' URIs.
    async fn captures(
        &self,
        asset: &AssetWork<'_>,
        manifest_uri: &str,
    ) -> Result<Vec<Capture>, HandlerError> {
        let manifest: Manifest = read_json(asset, "frame captures", manifest_uri).await?;
        let bucket = split_s3_uri(manifest_uri).map_or("", |(b, _)| b).to_owned();
        Ok(manifest
            .frames
            .into_iter()
            .map(|f| Capture {
                timestamp: f.timestamp_seconds,
                uri: format!("s3://{bucket}/{}", f.key),
            })
            .collect())
    }

    /// Each capture's colour histogram (`None` for one that cannot be decoded).
    async fn histograms(
        &self,
        asset: &AssetWork<'_>,
        captures: &[Capture],
    ) -> Result<Vec<Option<Histogram>>, HandlerError> {
        let uris: Vec<String> = captures.iter().map(|c| c.uri.clone()).collect();
        let fetched: Vec<Result<Option<Histogram>, HandlerError>> = futures::stream::iter(uris)
            .map(|uri| histogram(asset, uri))
            .buffered(FETCH_CONCURRENCY)
            .collect()
            .await;
        fetched.into_iter().collect()
    }

    /// Describes each scene; the reason when descriptions could not be had (the scenes go
    /// out without them).
    async fn describe(
        &self,
        asset: &AssetWork<'_>,
        describer: &dyn SceneDescriber,
        scenes: &mut [Scene],
    ) -> Result<Option<String>, HandlerError> {
        for scene in scenes.iter_mut() {
            let frames = spread(scene.thumbnails.iter().collect(), GRID_FRAMES);
            let mut pictures = Vec::new();
            for uri in frames {
                pictures.push(asset.get_bytes("frame capture", uri).await?);
            }
            let Some((grid, count)) = tokio::task::spawn_blocking(move || grid_jpeg(&pictures))
                .await
                .map_err(|e| HandlerError::retryable(format!("grid task: {e}")))?
            else {
                continue;
            };
            let request = SceneRequest {
                grid_jpeg: grid.into(),
                frames: count,
                start_seconds: scene.start_seconds,
                end_seconds: scene.end_seconds,
                dialogue: scene.transcript.clone(),
                labels: scene.labels.clone(),
                text: scene.text.clone(),
            };
            match describer.describe(&request).await {
                Ok(description) => scene.description = Some(description),
                Err(e @ DescribeError::Unavailable(_)) => {
                    return Err(HandlerError::retryable(e.to_string()));
                }
                Err(e) => {
                    for scene in scenes.iter_mut() {
                        scene.description = None;
                    }
                    return Ok(Some(e.to_string()));
                }
            }
        }
        Ok(None)
    }
}

/// One capture's histogram; `None` when its picture cannot be decoded.
async fn histogram(asset: &AssetWork<'_>, uri: String) -> Result<Option<Histogram>, HandlerError> {
    let bytes = asset.get_bytes("frame capture", &uri).await?;
    let histogram = tokio::task::spawn_blocking(move || Histogram::of_image(&bytes))
        .await
        .map_err(|e| HandlerError::retryable(format!("histogram task: {e}")))?;
    Ok(histogram
        .inspect_err(|e| tracing::warn!(uri, error = %e, "unreadable capture"))
        .ok())
}

fn by_name(results: &[ResultRef]) -> BTreeMap<String, ResultRef> {
    results
        .iter()
        .map(|r| (r.name.clone(), r.clone()))
        .collect()
}

async fn read_json<T: DeserializeOwned>(
    asset: &AssetWork<'_>,
    what: &str,
    uri: &str,
) -> Result<T, HandlerError> {
    let bytes = asset.get_bytes(what, uri).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        asset.fail(
            "CorruptInput",
            format!("the {what} document {uri} cannot be read: {e}"),
            "Re-run the analysis that wrote it (re-upload the source); if it persists, report \
             it with the document.",
        )
    })
}

/// Each shot's look: the mean histogram of its captures, or the capture nearest its middle
/// when none falls inside it.
fn shot_looks(
    shots: &[ShotSpan],
    captures: &[Capture],
    histograms: &[Option<Histogram>],
) -> Vec<Option<Histogram>> {
    shots
        .iter()
        .map(|shot| {
            let inside: Vec<&Histogram> = captures
                .iter()
                .zip(histograms)
                .filter(|(c, _)| {
                    c.timestamp >= shot.start_seconds && c.timestamp < shot.end_seconds
                })
                .filter_map(|(_, h)| h.as_ref())
                .collect();
            if let Some(mean) = Histogram::mean(inside) {
                return Some(mean);
            }
            let middle = (shot.start_seconds + shot.end_seconds) / 2.0;
            captures
                .iter()
                .zip(histograms)
                .filter_map(|(c, h)| h.as_ref().map(|h| ((c.timestamp - middle).abs(), h)))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, h)| h.clone())
        })
        .collect()
}

fn cues(docs: &[CueDoc]) -> Cues {
    let mut cues = Cues::default();
    for cue in docs {
        let span = Span {
            start: cue.start_seconds,
            end: cue.end_seconds,
        };
        match cue.kind.as_str() {
            "Black" => cues.black.push(span),
            "FadeOut" => cues.fade_outs.push(span),
            "FadeIn" => cues.fade_ins.push(span),
            _ => {}
        }
    }
    cues
}

/// What a vision feature saw at each capture, the reusing captures included.
async fn seen(
    asset: &AssetWork<'_>,
    what: &str,
    uri: &str,
    captures: &[Capture],
    min_confidence: f64,
    lines: bool,
) -> Result<Vec<Seen>, HandlerError> {
    let doc: FeatureDoc = read_json(asset, what, uri).await?;
    let mut seen = Vec::new();
    for capture in doc.captures {
        let times = std::iter::once(capture.timestamp).chain(
            capture
                .reused_by
                .iter()
                .filter(|&&i| i != capture.capture)
                .filter_map(|&i| captures.get(i as usize).map(|c| c.timestamp)),
        );
        let times: Vec<f64> = times.collect();
        for detection in &capture.detections {
            if detection.confidence < min_confidence {
                continue;
            }
            let what = if lines {
                detection
                    .line
                    .clone()
                    .unwrap_or_else(|| detection.name.clone())
            } else {
                detection.name.clone()
            };
            for &timestamp in &times {
                seen.push(Seen {
                    timestamp,
                    what: what.clone(),
                    confidence: detection.confidence,
                });
            }
        }
    }
    Ok(seen)
}

/// What was seen in `[start, end)`, most often first (then most confident, then by name).
fn most_seen(seen: &[Seen], start: f64, end: f64) -> Vec<String> {
    let mut counts: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for s in seen
        .iter()
        .filter(|s| s.timestamp >= start && s.timestamp < end)
    {
        let entry = counts.entry(s.what.trim()).or_insert((0, 0.0));
        entry.0 += 1;
        entry.1 = entry.1.max(s.confidence);
    }
    let mut ranked: Vec<(&str, (usize, f64))> =
        counts.into_iter().filter(|(w, _)| !w.is_empty()).collect();
    ranked.sort_by(|a, b| {
        b.1.0
            .cmp(&a.1.0)
            .then(b.1.1.total_cmp(&a.1.1))
            .then(a.0.cmp(b.0))
    });
    let mut names = BTreeSet::new();
    ranked
        .into_iter()
        .filter(|(w, _)| names.insert(w.to_lowercase()))
        .take(LIST_LIMIT)
        .map(|(w, _)| w.to_owned())
        .collect()
}

/// At most `n` items spread evenly over `items` (the first and the last included).
fn spread<T>(items: Vec<T>, n: usize) -> Vec<T> {
    if items.len() <= n || n == 0 {
        return if n == 0 { Vec::new() } else { items };
    }
    let len = items.len();
    let picks: BTreeSet<usize> = (0..n)
        .map(|k| (k * (len - 1) + (n - 1) / 2) / (n - 1).max(1))
        .collect();
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| picks.contains(i))
        .map(|(_, item)| item)
        .collect()
}

fn excerpt(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max_chars).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut} …")
}

/// What the taxonomy reads of a scene: its words, then its labels and on-screen text.
fn scene_text(scene: &Scene) -> String {
    let mut parts = Vec::new();
    if !scene.transcript.is_empty() {
        parts.push(scene.transcript.clone());
    }
    if !scene.labels.is_empty() {
        parts.push(scene.labels.join(", "));
    }
    if !scene.text.is_empty() {
        parts.push(scene.text.join(". "));
    }
    parts.join(". ")
}

/// The scenes as WebVTT chapters.
pub fn chapters_vtt(report: &SceneReport) -> String {
    let mut vtt = String::from("WEBVTT\n");
    for scene in &report.scenes {
        let title = match scene.taxonomy.first() {
            Some(category) => format!("Scene {} · {}", scene.index, category.name),
            None => format!("Scene {}", scene.index),
        };
        vtt.push_str(&format!(
            "\n{}\n{} --> {}\n{}\n",
            scene.index,
            vtt_time(scene.start_seconds),
            vtt_time(scene.end_seconds),
            title
        ));
    }
    vtt
}

fn vtt_time(seconds: f64) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    )
}

/// The pictures side by side, three to a row, as one JPEG; `None` when none decodes.
fn grid_jpeg(pictures: &[bytes::Bytes]) -> Option<(Vec<u8>, u32)> {
    let frames: Vec<image::RgbImage> = pictures
        .iter()
        .filter_map(|p| image::load_from_memory(p).ok())
        .map(|p| {
            let height = (p.height() * GRID_CELL_WIDTH / p.width().max(1)).max(1);
            p.resize_exact(
                GRID_CELL_WIDTH,
                height,
                image::imageops::FilterType::Triangle,
            )
            .to_rgb8()
        })
        .collect();
    let cell_height = frames.iter().map(|f| f.height()).max()?;
    let columns = frames.len().min(3) as u32;
    let rows = frames.len().div_ceil(3) as u32;
    let mut grid = image::RgbImage::new(columns * GRID_CELL_WIDTH, rows * cell_height);
    for (n, frame) in frames.iter().enumerate() {
        let (x, y) = (
            (n as u32 % 3) * GRID_CELL_WIDTH,
            (n as u32 / 3) * cell_height,
        );
        image::imageops::overlay(&mut grid, frame, i64::from(x), i64::from(y));
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut jpeg), 85)
        .encode_image(&grid)
        .ok()?;
    Some((jpeg, frames.len() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_the_ends_and_spaces_the_rest() {
        assert_eq!(spread((0..10).collect(), 4), vec![0, 3, 6, 9]);
        assert_eq!(spread((0..3).collect(), 4), vec![0, 1, 2]);
        assert_eq!(spread((0..10).collect(), 1), vec![0]);
        assert!(spread((0..10).collect::<Vec<_>>(), 0).is_empty());
    }

    #[test]
    fn vtt_times_and_excerpts() {
        assert_eq!(vtt_time(3725.5), "01:02:05.500");
        assert_eq!(excerpt("one two three", 8), "one two …");
        assert_eq!(excerpt("short", 8), "short");
    }
}
