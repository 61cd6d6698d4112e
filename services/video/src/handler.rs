//! The video handler: `Video Ingested` → shots and cues on the proxy → dynamic frame
//! selection on the captures (the selected frames join the library-wide near-duplicate
//! index) → vision on the selected frames → timelines → `Video Analysis Completed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use mediasift_kit::handler::{caused_by, decode};
use mediasift_kit::ports::{Retryable, split_s3_uri};
use mediasift_kit::similar::{Entry, NearDuplicateIndex};
use mediasift_kit::{AssetWork, Handler, HandlerError, Ports, Subscriptions};
use mediasift_media::phash::{Luma, PHash, laplacian_variance, phash};
use mediasift_media::selection::{self, Capture, DEFAULT_THRESHOLD, MIN_REUSE_BITS, Selection};
use mediasift_media::shots::{self, ShotsError};
use mediasift_schemas::{
    AnalysisKind, AnalysisPlan, Envelope, EventDetail, RawEvent, ResultRef, SkippedFeature,
    VideoAnalysisCompleted, VideoAnalysisSummary, VideoIngested, sources,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::SERVICE;
use crate::faces::FaceNames;
use crate::timeline::{self, CaptureFindings, Timelines};
use crate::vision::{
    Detection, Feature, FrameImage, HaarFaces, Tesseract, VisionBackend, VisionError,
};

const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");
const NO_LOCAL_BACKEND: &str = "no local backend";
const TURNED_OFF: &str = "turned off in options";

#[derive(Debug, Clone)]
pub struct VideoConfig {
    /// Where the proxy and captures are copied for the tools.
    pub scratch_dir: PathBuf,
}

impl Default for VideoConfig {
    fn default() -> Self {
        Self {
            scratch_dir: std::env::temp_dir(),
        }
    }
}

/// The video service.
pub struct Video {
    config: VideoConfig,
    /// Each feature goes to the first backend that implements it.
    vision: Vec<Arc<dyn VisionBackend>>,
}

impl Video {
    pub fn new(config: VideoConfig, vision: Vec<Arc<dyn VisionBackend>>) -> Self {
        Self { config, vision }
    }

    /// Video with the local backends: tesseract for text, a Haar cascade for faces (when its
    /// cascade file is installed; otherwise faces are reported skipped and a warning says why).
    pub fn local(config: VideoConfig) -> Self {
        let mut vision: Vec<Arc<dyn VisionBackend>> =
            vec![Arc::new(Tesseract::new(Duration::from_secs(60)))];
        match HaarFaces::frontal_default() {
            Ok(faces) => vision.push(Arc::new(faces)),
            Err(error) => tracing::warn!(%error, "no local face detector"),
        }
        Self::new(config, vision)
    }

    fn backend_for(&self, feature: Feature) -> Option<&Arc<dyn VisionBackend>> {
        self.vision.iter().find(|b| b.features().contains(&feature))
    }
}

/// `<assetId>/video/<name>`: where the video service writes `name` in the derived bucket.
pub fn result_key(asset_id: Uuid, name: &str) -> String {
    format!("{asset_id}/video/{name}")
}

#[async_trait]
impl Handler for Video {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn subscriptions(&self) -> Subscriptions {
        crate::subscriptions()
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        match (event.source.as_str(), event.detail_type.as_str()) {
            (sources::INGEST, VideoIngested::DETAIL_TYPE) => {
                self.video_ingested(event, ports).await
            }
            (source, detail_type) => {
                tracing::debug!(source, detail_type, "not an event video handles");
                Ok(Vec::new())
            }
        }
    }
}

/// The frame captures ingest wrote (its `FrameManifest`; read here by shape, not by import).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FrameManifest {
    /// Captures per second.
    rate: f64,
    frames: Vec<FrameCapture>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FrameCapture {
    frame_number: u64,
    timestamp_seconds: f64,
    /// Key in the derived bucket.
    key: String,
}

/// The captures fetched to scratch, for the vision backends.
struct CaptureFiles {
    /// Capture index → the JPEG and its size in pixels (read from the JPEG itself).
    paths: BTreeMap<u32, (PathBuf, u32, u32)>,
    /// Seconds each capture stands for.
    interval: f64,
}

/// What one feature found on one selected capture, and the captures that reuse it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CaptureResult {
    capture: u32,
    frame: u64,
    timestamp: f64,
    detections: Vec<Detection>,
    reused_by: Vec<u32>,
}

/// What the backend made of one selected capture (by its position in the selection).
type CaptureOutcome = (usize, Result<Vec<Detection>, VisionError>);

/// A selected capture the backend could not read; the others went on.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CaptureError {
    capture: u32,
    frame: u64,
    error: String,
}

/// One feature's results: `<assetId>/video/<feature>.json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FeatureResults {
    feature: Feature,
    engine: String,
    min_confidence: f64,
    captures: Vec<CaptureResult>,
    errors: Vec<CaptureError>,
}

/// One asset being analysed: its results go under `<assetId>/video/`.
type Asset<'a> = AssetWork<'a>;

/// What to do when a tool cannot read the proxy.
const CHECK_THE_PROXY: &str = "Check the proxy plays; upload the source again to rebuild it.";

impl Video {
    async fn video_ingested(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let ingested: Envelope<VideoIngested> = decode(event)?;
        let detail = ingested.detail;
        let asset = AssetWork::new(
            ports,
            event,
            detail.asset_id,
            SERVICE,
            sources::VIDEO,
            AnalysisKind::Video,
        );
        tracing::info!(asset_id = %asset.id, proxy = detail.outputs.proxy, "analysing video");
        std::fs::create_dir_all(&self.config.scratch_dir).ok();
        let scratch = tempfile::Builder::new()
            .prefix("video-")
            .tempdir_in(&self.config.scratch_dir)
            .map_err(|e| {
                HandlerError::retryable(format!(
                    "cannot create a scratch folder in {}: {e}",
                    self.config.scratch_dir.display()
                ))
            })?;

        // 1. Shots and cues on the proxy (it keeps the source's frame timing).
        let proxy = scratch.path().join("proxy.mp4");
        asset
            .download("proxy", &detail.outputs.proxy, &proxy)
            .await?;
        let shots = shots::detect_shots(&proxy)
            .await
            .map_err(|e| shots_failure(&asset, &detail.outputs.proxy, &proxy, e))?;

        // 2. Captures: pHash and sharpness, then dynamic selection.
        let (captures, mut files) = self
            .captures(&asset, &detail.outputs.frame_captures, scratch.path())
            .await?;
        let (starts, stills) = selection::shot_starts_and_stills(&shots);
        let selection =
            selection::select_with_stills(&captures, &starts, &stills, DEFAULT_THRESHOLD);
        // Before vision, so that a retry after an index failure costs no vision calls.
        index_frames(&asset, &selection).await?;

        // 3. Vision on the selected captures, feature by feature.
        let plan = &detail.plan;
        let mut skipped = Vec::new();
        let mut analysed = Vec::new();
        for feature in Feature::ALL {
            if !feature.enabled_in(&plan.options.vision) {
                skipped.push(skip(feature, TURNED_OFF));
            } else if let Some(backend) = self.backend_for(feature) {
                let mut results = self
                    .analyse(&asset, backend.clone(), feature, plan, &selection, &files)
                    .await?;
                if feature == Feature::FaceMatch {
                    name_faces(&asset, &mut results).await?;
                }
                analysed.push(results);
            } else {
                let reason = self
                    .vision
                    .iter()
                    .find_map(|b| b.skip_reason(feature))
                    .unwrap_or_else(|| NO_LOCAL_BACKEND.to_owned());
                skipped.push(skip(feature, &reason));
            }
        }
        let duration_seconds = if detail.technical.duration_seconds > 0.0 {
            detail.technical.duration_seconds
        } else if shots.frame_rate > 0.0 {
            shots.frame_count as f64 / shots.frame_rate
        } else {
            0.0
        };
        files.interval = if files.interval > 0.0 {
            files.interval
        } else {
            1.0
        };
        let timelines = timelines(&selection, &analysed, files.interval, duration_seconds);

        // 4. Results.
        let mut results = vec![
            ResultRef {
                name: "shots".into(),
                uri: asset.put_json("shots.json", &to_value(&shots)).await?,
                engine: Some("mediasift shot detector".into()),
            },
            ResultRef {
                name: "frames".into(),
                uri: asset.put_json("frames.json", &to_value(&selection)).await?,
                engine: Some("mediasift dynamic frames".into()),
            },
            // Ingest's capture manifest the selection indexes into: the scene service reads the
            // captures' pictures through it.
            ResultRef {
                name: "frameCaptures".into(),
                uri: detail.outputs.frame_captures.clone(),
                engine: None,
            },
        ];
        for feature_results in &analysed {
            let name = feature_results.feature.name();
            results.push(ResultRef {
                name: name.into(),
                uri: asset
                    .put_json(&format!("{name}.json"), &to_value(feature_results))
                    .await?,
                engine: Some(feature_results.engine.clone()),
            });
        }
        for timeline in &timelines.timelines {
            let vtt = timeline::to_webvtt(timeline);
            let name = format!("{}.vtt", timeline.feature);
            results.push(ResultRef {
                name: format!("{}Track", timeline.feature),
                uri: asset.put(&name, vtt.into_bytes(), "text/vtt").await?,
                engine: None,
            });
        }
        results.push(ResultRef {
            name: "timelines".into(),
            uri: asset
                .put_json("timelines.json", &to_value(&timelines))
                .await?,
            engine: None,
        });
        let summary = VideoAnalysisSummary {
            duration_seconds,
            shots: shots.shots.len() as u32,
            technical_cues: shots.cues.len() as u32,
            frames_captured: selection.totals.captures,
            frames_analysed: selection.totals.selected_for_vision,
        };
        tracing::info!(asset_id = %asset.id, ?summary, "video analysed");
        Ok(vec![asset.emit(VideoAnalysisCompleted {
            asset_id: asset.id,
            schema_version: VideoAnalysisCompleted::SCHEMA_VERSION.into(),
            metadata: caused_by(event, SERVICE, PRODUCER_VERSION),
            plan: detail.plan.clone(),
            summary,
            results,
            skipped,
        })])
    }

    /// Reads the manifest, fetches each capture to scratch and hashes it.
    async fn captures(
        &self,
        asset: &Asset<'_>,
        manifest_uri: &str,
        scratch: &Path,
    ) -> Result<(Vec<Capture>, CaptureFiles), HandlerError> {
        let (bucket, key) = split_s3_uri(manifest_uri).ok_or_else(|| {
            asset.fail(
                "MalformedEvent",
                format!("outputs.frameCaptures {manifest_uri:?} is not an s3:// URI"),
                "Only mediasift's ingest publishes this event; check for another publisher.",
            )
        })?;
        let bytes = asset
            .ports
            .objects
            .get_bytes(bucket, key)
            .await
            .map_err(|e| asset.store_error(e))?;
        let manifest: FrameManifest = serde_json::from_slice(&bytes).map_err(|e| {
            asset.fail(
                "CorruptManifest",
                format!("the frame manifest {manifest_uri} cannot be read: {e}"),
                "Upload the source again to rebuild its captures.",
            )
        })?;
        let folder = scratch.join("captures");
        std::fs::create_dir_all(&folder)
            .map_err(|e| HandlerError::retryable(format!("cannot create {folder:?}: {e}")))?;
        let mut captures = Vec::with_capacity(manifest.frames.len());
        let mut files = CaptureFiles {
            paths: BTreeMap::new(),
            interval: if manifest.rate > 0.0 {
                1.0 / manifest.rate
            } else {
                0.0
            },
        };
        for (index, frame) in manifest.frames.iter().enumerate() {
            let index = index as u32;
            let jpeg = asset
                .ports
                .objects
                .get_bytes(bucket, &frame.key)
                .await
                .map_err(|e| asset.store_error(e))?;
            let uri = format!("s3://{bucket}/{}", frame.key);
            let corrupt = |e: String| {
                asset.fail(
                    "CorruptCapture",
                    format!("the frame capture {uri} cannot be decoded: {e}"),
                    "Upload the source again to rebuild its captures.",
                )
            };
            let jpeg_copy = jpeg.clone();
            let (hash, sharpness, width, height) = tokio::task::spawn_blocking(move || {
                let luma = image::load_from_memory(&jpeg_copy)
                    .map_err(|e| e.to_string())?
                    .to_luma8();
                let (w, h) = (luma.width() as usize, luma.height() as usize);
                let view = Luma::new(w, h, luma.as_raw()).ok_or("an empty image")?;
                Ok::<_, String>((phash(view), laplacian_variance(view), w as u32, h as u32))
            })
            .await
            .map_err(|e| HandlerError::retryable(format!("hashing {uri} panicked: {e}")))?
            .map_err(corrupt)?;
            let path = folder.join(format!("{index:06}.jpg"));
            tokio::fs::write(&path, &jpeg)
                .await
                .map_err(|e| HandlerError::retryable(format!("cannot write {path:?}: {e}")))?;
            files.paths.insert(index, (path, width, height));
            captures.push(Capture {
                index,
                frame: frame.frame_number,
                timestamp: frame.timestamp_seconds,
                hash,
                sharpness,
            });
        }
        Ok((captures, files))
    }

    /// `feature` on every selected capture, at most `backend.concurrency()` at once; the
    /// groups that reuse a capture share its results.
    async fn analyse(
        &self,
        asset: &Asset<'_>,
        backend: Arc<dyn VisionBackend>,
        feature: Feature,
        plan: &AnalysisPlan,
        selection: &Selection,
        files: &CaptureFiles,
    ) -> Result<FeatureResults, HandlerError> {
        let min_confidence = plan.options.min_confidence;
        // Owned work items: the stream's futures borrow nothing from this frame.
        let work: Vec<(usize, (PathBuf, u32, u32))> = selection
            .captures
            .iter()
            .enumerate()
            .filter(|(_, c)| c.selected)
            .filter_map(|(at, c)| Some((at, files.paths.get(&c.index)?.clone())))
            .collect();
        let concurrency = backend.concurrency().max(1);
        let asset_id = asset.id;
        let outcomes: Vec<Result<CaptureOutcome, HandlerError>> = futures::stream::iter(work)
            .map(|(at, (path, width, height))| {
                let backend = backend.clone();
                async move {
                    let jpeg = tokio::fs::read(&path).await.map_err(|e| {
                        HandlerError::retryable(format!("cannot read {}: {e}", path.display()))
                    })?;
                    let frame = FrameImage {
                        asset_id,
                        path,
                        jpeg: Bytes::from(jpeg),
                        width,
                        height,
                    };
                    Ok((at, backend.detect(&frame, feature, min_confidence).await))
                }
            })
            .buffered(concurrency)
            .collect()
            .await;
        let mut results = FeatureResults {
            feature,
            engine: backend.engine(feature).await,
            min_confidence,
            captures: Vec::new(),
            errors: Vec::new(),
        };
        for outcome in outcomes {
            let (at, found) = outcome?;
            let capture = &selection.captures[at];
            let detections = match found {
                Ok(detections) => detections,
                Err(VisionError::Frame(error)) => {
                    tracing::warn!(asset_id = %asset.id, capture = capture.index, %error,
                        "{} cannot read a capture", feature.name());
                    results.errors.push(CaptureError {
                        capture: capture.index,
                        frame: capture.frame,
                        error,
                    });
                    continue;
                }
                Err(error) => return Err(vision_failure(asset, feature, capture.index, error)),
            };
            let reused_by = selection
                .groups
                .iter()
                .filter(|g| g.reuses_capture == Some(capture.index))
                .map(|g| g.representative)
                .collect();
            results.captures.push(CaptureResult {
                capture: capture.index,
                frame: capture.frame,
                timestamp: capture.timestamp,
                detections: detections
                    .into_iter()
                    .filter(|d| d.confidence >= min_confidence)
                    .collect(),
                reused_by,
            });
        }
        Ok(results)
    }
}

/// Faces of the collection get the names given to them so far (later names apply when the
/// timelines are read).
async fn name_faces(asset: &Asset<'_>, results: &mut FeatureResults) -> Result<(), HandlerError> {
    let names = FaceNames::new(asset.ports.state.as_ref());
    for capture in &mut results.captures {
        for detection in &mut capture.detections {
            let Some(id) = &detection.id else { continue };
            let name = names.name(id).await.map_err(|e| {
                if e.is_retryable() {
                    HandlerError::retryable(e.to_string())
                } else {
                    asset.fail(
                        "StateError",
                        format!("cannot read the name of face {id}: {e}"),
                        "Check the service may read the face-names table; then retry the event \
                         from the dead-letter queue.",
                    )
                }
            })?;
            if let Some(name) = name {
                detection.name = name;
            }
        }
    }
    Ok(())
}

/// Adds the selected captures to the library-wide near-duplicate index, except technical
/// stills (black, colour bars) and flat pictures (fewer than [`MIN_REUSE_BITS`] bits set):
/// every video has those, and they would all be near-duplicates of each other.
async fn index_frames(asset: &Asset<'_>, selection: &Selection) -> Result<(), HandlerError> {
    let entries: Vec<Entry> = selection
        .captures
        .iter()
        .filter(|c| c.selected)
        .filter(|c| {
            selection
                .groups
                .get(c.group as usize)
                .is_some_and(|g| g.cue.is_none())
        })
        .filter_map(|c| Some((c, PHash::from_hex(&c.hash)?)))
        .filter(|(_, hash)| hash.0.count_ones() >= MIN_REUSE_BITS)
        .map(|(c, hash)| Entry::video_frame(asset.id, (c.timestamp * 1000.0).round() as u64, hash))
        .collect();
    let index = NearDuplicateIndex::new(asset.ports.state.clone());
    index.add(&entries).await.map_err(|e| {
        if e.is_retryable() {
            HandlerError::retryable(e.to_string())
        } else {
            asset.fail(
                "StateError",
                format!("cannot add the selected frames to the near-duplicate index: {e}"),
                "Check the service may read and write the similar table; then retry the event \
                 from the dead-letter queue.",
            )
        }
    })
}

/// Every analysed feature's timeline: each capture carries the results of the capture its
/// group was analysed with.
fn timelines(
    selection: &Selection,
    analysed: &[FeatureResults],
    interval: f64,
    duration: f64,
) -> Timelines {
    let source_of: BTreeMap<u32, u32> = selection
        .groups
        .iter()
        .map(|g| (g.id, g.reuses_capture.unwrap_or(g.representative)))
        .collect();
    let none: Vec<Detection> = Vec::new();
    let timelines = analysed
        .iter()
        .map(|results| {
            let by_capture: BTreeMap<u32, &Vec<Detection>> = results
                .captures
                .iter()
                .map(|c| (c.capture, &c.detections))
                .collect();
            let findings: Vec<CaptureFindings<'_>> = selection
                .captures
                .iter()
                .map(|capture| {
                    let source = source_of.get(&capture.group).copied();
                    let detections = source
                        .and_then(|s| by_capture.get(&s).copied())
                        .unwrap_or(&none);
                    CaptureFindings {
                        timestamp: capture.timestamp,
                        detections,
                    }
                })
                .collect();
            timeline::build(results.feature.name(), &findings, interval, duration)
        })
        .collect();
    Timelines {
        capture_interval: interval,
        duration,
        timelines,
    }
}

fn vision_failure(
    asset: &Asset<'_>,
    feature: Feature,
    capture: u32,
    error: VisionError,
) -> HandlerError {
    let what = format!("{} on capture {capture}", feature.name());
    match error {
        VisionError::Tool(tool) => asset.tool_failure(&what, &tool, CHECK_THE_PROXY),
        VisionError::Unavailable(message) => HandlerError::retryable(format!("{what}: {message}")),
        other => asset.fail(
            "VisionFailed",
            format!("{what}: {other}"),
            "Check the vision backend's installation and permissions (and, for face match, \
             that the face collection exists); then retry the event from the dead-letter queue.",
        ),
    }
}

fn skip(feature: Feature, reason: &str) -> SkippedFeature {
    SkippedFeature {
        feature: feature.name().into(),
        reason: reason.into(),
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn shots_failure(asset: &Asset<'_>, uri: &str, local: &Path, error: ShotsError) -> HandlerError {
    match &error {
        ShotsError::Decode { source, .. } => asset.tool_failure(uri, source, CHECK_THE_PROXY),
        // Causes name the proxy, not the scratch copy the tools read.
        _ => asset.fail(
            "CorruptProxy",
            error.to_string().replace(&local.display().to_string(), uri),
            "Upload the source again to rebuild its proxy.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_split_into_bucket_and_key() {
        assert_eq!(split_s3_uri("s3://d/a/b.mp4"), Some(("d", "a/b.mp4")));
        assert_eq!(split_s3_uri("s3://d/"), None);
        assert_eq!(split_s3_uri("file:///x"), None);
    }
}
