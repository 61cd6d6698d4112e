//! The video handler: `Video Ingested` → shots and cues on the proxy → dynamic frame
//! selection on the captures → vision on the selected frames → `Video Analysis Completed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use mediasift_kit::handler::{caused_by, decode, derived_event_id};
use mediasift_kit::ports::{Body, PutOptions, Retryable, StoreError, split_s3_uri};
use mediasift_kit::{Failure, Handler, HandlerError, Ports, Subscriptions};
use mediasift_media::phash::{Luma, laplacian_variance, phash};
use mediasift_media::process::ToolError;
use mediasift_media::selection::{self, Capture, DEFAULT_THRESHOLD, Selection};
use mediasift_media::shots::{self, ShotsError};
use mediasift_schemas::{
    AnalysisKind, AnalysisPlan, Envelope, EventDetail, RawEvent, ResultRef, SkippedFeature,
    VideoAnalysisCompleted, VideoAnalysisSummary, VideoIngested, sources,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::SERVICE;
use crate::vision::{Feature, Tesseract, TextDetection, VisionBackend, VisionError};

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
    vision: Arc<dyn VisionBackend>,
}

impl Video {
    pub fn new(config: VideoConfig, vision: Arc<dyn VisionBackend>) -> Self {
        Self { config, vision }
    }

    /// Video with the local backends (tesseract for text).
    pub fn local(config: VideoConfig) -> Self {
        Self::new(config, Arc::new(Tesseract::new(Duration::from_secs(60))))
    }
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
    #[allow(dead_code)]
    rate: f64,
    #[allow(dead_code)]
    width: u32,
    #[allow(dead_code)]
    height: u32,
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

/// Text read on one selected capture, and the captures that reuse it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CaptureText {
    capture: u32,
    frame: u64,
    timestamp: f64,
    words: Vec<TextDetection>,
    reused_by: Vec<u32>,
}

/// One asset being analysed.
struct Asset<'a> {
    cause: &'a RawEvent,
    ports: &'a Ports,
    id: Uuid,
}

impl Asset<'_> {
    fn fail(
        &self,
        code: &str,
        cause: impl Into<String>,
        action: impl Into<String>,
    ) -> HandlerError {
        HandlerError::permanent(
            Failure::new(code, cause, action)
                .for_asset(self.id)
                .ending(AnalysisKind::Video),
        )
    }

    fn store_error(&self, error: StoreError) -> HandlerError {
        if error.is_retryable() {
            HandlerError::retryable(error.to_string())
        } else {
            self.fail(
                "StoreError",
                error.to_string(),
                "Check that ingest's outputs exist in the derived bucket and that the service \
                 may read and write it; then retry the event from the dead-letter queue.",
            )
        }
    }

    /// Writes `<assetId>/video/<name>` in the derived bucket; returns its URI.
    async fn put_json(&self, name: &str, value: &Value) -> Result<String, HandlerError> {
        let key = format!("{}/video/{name}", self.id);
        let body = serde_json::to_vec_pretty(value).unwrap_or_default();
        let options = PutOptions {
            content_type: Some("application/json".into()),
            ..PutOptions::default()
        };
        self.ports
            .objects
            .put(
                &self.ports.derived_bucket,
                &key,
                Body::Bytes(Bytes::from(body)),
                options,
            )
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(format!("s3://{}/{key}", self.ports.derived_bucket))
    }

    fn emit<D: EventDetail>(&self, detail: D) -> RawEvent {
        let mut event = Envelope::new(sources::VIDEO, detail);
        event.id = derived_event_id(&self.cause.id, SERVICE, D::DETAIL_TYPE);
        event.time = self.ports.clock.now();
        event.resources = self.cause.resources.clone();
        event.to_raw().expect("video events serialise")
    }

    fn tool_failure(&self, what: &str, error: &ToolError) -> HandlerError {
        match error {
            ToolError::Missing { .. } => self.fail(
                "ToolMissing",
                error.to_string(),
                "Install the missing tool (scripts/setup.sh installs them all), then retry the \
                 event from the dead-letter queue.",
            ),
            ToolError::TimedOut { .. } => self.fail(
                "ToolTimedOut",
                format!("{what}: {error}"),
                "The proxy may be damaged; retry the event from the dead-letter queue, or upload \
                 the source again to rebuild it.",
            ),
            _ => self.fail(
                "ToolFailed",
                format!("{what}: {error}"),
                "Check the proxy plays; upload the source again to rebuild it.",
            ),
        }
    }
}

impl Video {
    async fn video_ingested(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let ingested: Envelope<VideoIngested> = decode(event)?;
        let detail = ingested.detail;
        let asset = Asset {
            cause: event,
            ports,
            id: detail.asset_id,
        };
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
        download(&asset, &detail.outputs.proxy, &proxy).await?;
        let shots = shots::detect_shots(&proxy)
            .await
            .map_err(|e| shots_failure(&asset, &detail.outputs.proxy, &proxy, e))?;

        // 2. Captures: pHash and sharpness, then dynamic selection.
        let (captures, files) = self
            .captures(&asset, &detail.outputs.frame_captures, scratch.path())
            .await?;
        let starts: Vec<u64> = shots.shots.iter().map(|s| s.start_frame).collect();
        let selection = selection::select(&captures, &starts, DEFAULT_THRESHOLD);

        // 3. Vision on the selected captures.
        let plan = &detail.plan;
        let mut skipped = Vec::new();
        let mut text = None;
        for feature in Feature::ALL {
            if !feature.enabled_in(&plan.options.vision) {
                skipped.push(skip(feature, TURNED_OFF));
            } else if !self.vision.features().contains(&feature) {
                skipped.push(skip(feature, NO_LOCAL_BACKEND));
            } else if feature == Feature::Text {
                text = Some(self.read_text(&asset, plan, &selection, &files).await?);
            }
        }

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
        ];
        if let Some(text) = text {
            let document = json!({
                "minConfidence": plan.options.min_confidence,
                "captures": text,
            });
            results.push(ResultRef {
                name: "text".into(),
                uri: asset.put_json("text.json", &document).await?,
                engine: Some(self.vision.engine().await),
            });
        }
        let duration_seconds = if detail.technical.duration_seconds > 0.0 {
            detail.technical.duration_seconds
        } else if shots.frame_rate > 0.0 {
            shots.frame_count as f64 / shots.frame_rate
        } else {
            0.0
        };
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
    ) -> Result<(Vec<Capture>, BTreeMap<u32, PathBuf>), HandlerError> {
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
        let mut files = BTreeMap::new();
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
            let (hash, sharpness) = tokio::task::spawn_blocking(move || {
                let luma = image::load_from_memory(&jpeg_copy)
                    .map_err(|e| e.to_string())?
                    .to_luma8();
                let (w, h) = (luma.width() as usize, luma.height() as usize);
                let view = Luma::new(w, h, luma.as_raw()).ok_or("an empty image")?;
                Ok::<_, String>((phash(view), laplacian_variance(view)))
            })
            .await
            .map_err(|e| HandlerError::retryable(format!("hashing {uri} panicked: {e}")))?
            .map_err(corrupt)?;
            let path = folder.join(format!("{index:06}.jpg"));
            tokio::fs::write(&path, &jpeg)
                .await
                .map_err(|e| HandlerError::retryable(format!("cannot write {path:?}: {e}")))?;
            files.insert(index, path);
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

    /// OCR on each selected capture; groups that reuse a capture share its words.
    async fn read_text(
        &self,
        asset: &Asset<'_>,
        plan: &AnalysisPlan,
        selection: &Selection,
        files: &BTreeMap<u32, PathBuf>,
    ) -> Result<Vec<CaptureText>, HandlerError> {
        let mut texts = Vec::new();
        for capture in selection.captures.iter().filter(|c| c.selected) {
            let Some(path) = files.get(&capture.index) else {
                continue;
            };
            let words = self.vision.detect_text(path).await.map_err(|e| match e {
                VisionError::Tool(tool) => {
                    asset.tool_failure(&format!("reading text on capture {}", capture.index), &tool)
                }
                other => asset.fail(
                    "VisionFailed",
                    other.to_string(),
                    "Check the vision backend's installation, then retry the event from the \
                     dead-letter queue.",
                ),
            })?;
            let words = words
                .into_iter()
                .filter(|w| w.confidence >= plan.options.min_confidence)
                .collect();
            let reused_by = selection
                .captures
                .iter()
                .filter(|c| c.reuses_capture == Some(capture.index))
                .map(|c| c.index)
                .collect();
            texts.push(CaptureText {
                capture: capture.index,
                frame: capture.frame,
                timestamp: capture.timestamp,
                words,
                reused_by,
            });
        }
        Ok(texts)
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

/// Streams `uri` to `to`.
async fn download(asset: &Asset<'_>, uri: &str, to: &Path) -> Result<(), HandlerError> {
    let (bucket, key) = split_s3_uri(uri).ok_or_else(|| {
        asset.fail(
            "MalformedEvent",
            format!("outputs.proxy {uri:?} is not an s3:// URI"),
            "Only mediasift's ingest publishes this event; check for another publisher.",
        )
    })?;
    asset
        .ports
        .objects
        .download(bucket, key, to)
        .await
        .map_err(|e| match e {
            StoreError::Io { .. } => HandlerError::retryable(e.to_string()),
            e => asset.store_error(e),
        })?;
    Ok(())
}

fn shots_failure(asset: &Asset<'_>, uri: &str, local: &Path, error: ShotsError) -> HandlerError {
    match &error {
        ShotsError::Decode { source, .. } => asset.tool_failure(uri, source),
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
