//! `Image Ingested` → `Image Analysis Completed`.
//!
//! Everything reads ingest's outputs, never the source again: the exiftool metadata in
//! `ingest/technical.json` and the auto-oriented `proxy.jpg` (long side ≤ 1920 px). Results go
//! under `<assetId>/image/`:
//!
//! | result | what |
//! |---|---|
//! | `exif.json` | the [EXIF summary](crate::exif) |
//! | `phash.json` | the 64-bit DCT perceptual hash of the upright proxy |
//! | `near-duplicates.json` | what the library's near-duplicate index held within [`NEAR_DUPLICATE_DISTANCE`] when the image arrived (images and video frames; `mediasift similar` asks again later) |
//! | `labels.json`, `faces.json`, `celebrities.json`, `faceMatch.json`, `text.json`, `moderation.json` | the vision port's detections per feature, boxes as fractions of the upright image |
//! | `description.json` | the generative description (AWS: Bedrock) |
//!
//! A feature that did not run is in `skipped` with its reason: turned off in the options, no
//! local backend, or what the backend said.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use mediasift_kit::handler::{caused_by, decode};
use mediasift_kit::ports::Retryable;
use mediasift_kit::similar::{Entry, NearDuplicateIndex, SimilarError};
use mediasift_kit::vision::{
    Detection, Feature, FrameImage, HaarFaces, Tesseract, VisionBackend, VisionError,
};
use mediasift_kit::{AssetWork, Handler, HandlerError, Ports, Subscriptions};
use mediasift_media::image::ImageFacts;
use mediasift_media::phash::{Luma, PHash, phash};
use mediasift_schemas::{
    AnalysisKind, EventDetail, GeoPoint, ImageAnalysisCompleted, ImageAnalysisSummary,
    ImageIngested, RawEvent, ResultRef, SkippedFeature, sources,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::SERVICE;
use crate::describe::{DescribeError, DescribeRequest, Describer};
use crate::exif;

const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");
const NO_LOCAL_BACKEND: &str = "no local backend";
const TURNED_OFF: &str = "turned off in options";
/// Images and frames within this Hamming distance are near-duplicates (the index finds every
/// one within 7; see `mediasift_kit::similar`).
pub const NEAR_DUPLICATE_DISTANCE: u32 = 7;
/// At most this many near-duplicates are listed in `near-duplicates.json`.
const MAX_LISTED_DUPLICATES: usize = 100;
const PHASH_ENGINE: &str = "mediasift pHash (32x32 DCT, 8x8)";

#[derive(Debug, Clone)]
pub struct ImageConfig {
    /// Where the proxy is copied for the tools.
    pub scratch_dir: PathBuf,
    /// Why the generative description is skipped when there is no describer.
    pub description_skip_reason: String,
}

impl Default for ImageConfig {
    fn default() -> Self {
        Self {
            scratch_dir: std::env::temp_dir(),
            description_skip_reason: NO_LOCAL_BACKEND.into(),
        }
    }
}

/// The analysis backends.
#[derive(Clone, Default)]
pub struct Backends {
    /// Each vision feature goes to the first backend that implements it.
    pub vision: Vec<Arc<dyn VisionBackend>>,
    pub describer: Option<Arc<dyn Describer>>,
}

/// The image service.
pub struct Image {
    config: ImageConfig,
    backends: Backends,
}

type Asset<'a> = AssetWork<'a>;

impl Image {
    pub fn new(config: ImageConfig, backends: Backends) -> Self {
        Self { config, backends }
    }

    /// The local backends: tesseract for text, a Haar cascade for faces (when its cascade file
    /// is installed; otherwise faces are skipped and a warning says why); no description.
    pub fn local(config: ImageConfig) -> Self {
        let mut vision: Vec<Arc<dyn VisionBackend>> =
            vec![Arc::new(Tesseract::new(Duration::from_secs(60)))];
        match HaarFaces::frontal_default() {
            Ok(faces) => vision.push(Arc::new(faces)),
            Err(error) => tracing::warn!(%error, "no local face detector"),
        }
        Self::new(
            config,
            Backends {
                vision,
                describer: None,
            },
        )
    }

    fn backend_for(&self, feature: Feature) -> Option<&Arc<dyn VisionBackend>> {
        self.backends
            .vision
            .iter()
            .find(|b| b.features().contains(&feature))
    }
}

#[async_trait]
impl Handler for Image {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn subscriptions(&self) -> Subscriptions {
        crate::subscriptions()
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        match (event.source.as_str(), event.detail_type.as_str()) {
            (sources::INGEST, ImageIngested::DETAIL_TYPE) => self.ingested(event, ports).await,
            (source, detail_type) => {
                tracing::debug!(source, detail_type, "not an event image handles");
                Ok(Vec::new())
            }
        }
    }
}

/// One feature's detections, as stored.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FeatureResult<'a> {
    feature: &'a str,
    engine: &'a str,
    min_confidence: f64,
    width: u32,
    height: u32,
    detections: &'a [Detection],
}

impl Image {
    async fn ingested(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let ingested = decode::<ImageIngested>(event)?.detail;
        let asset = AssetWork::new(
            ports,
            event,
            ingested.asset_id,
            SERVICE,
            sources::IMAGE,
            AnalysisKind::Image,
        );
        let plan = &ingested.plan;
        tracing::info!(asset_id = %asset.id, source = ingested.source.uri, "analysing image");
        let mut results = Vec::new();
        let mut skipped = Vec::new();

        // EXIF, from the metadata ingest read.
        let technical = asset
            .get_bytes("technical metadata", &ingested.outputs.technical_metadata)
            .await?;
        let facts = read_facts(&asset, &technical)?;
        let summary = exif::summarise(&facts, true);
        results.push(ResultRef::new(
            "exif",
            asset.put_json("exif.json", &summary).await?,
            "exiftool",
        ));

        // The upright proxy: pHash, vision and description all read it.
        let jpeg = asset.get_bytes("proxy", &ingested.outputs.proxy).await?;
        let decoded = {
            let jpeg = jpeg.clone();
            tokio::task::spawn_blocking(move || ::image::load_from_memory(&jpeg))
                .await
                .map_err(|e| HandlerError::retryable(format!("decoding the proxy: {e}")))?
        };
        let proxy = decoded.map_err(|e| {
            asset.fail(
                "CorruptMedia",
                format!("ingest's proxy of the image cannot be decoded: {e}"),
                "Upload the image again so ingest rebuilds its proxy.",
            )
        })?;
        let (width, height) = (proxy.width(), proxy.height());
        let gray = proxy.to_luma8();
        let hash = Luma::new(width as usize, height as usize, gray.as_raw())
            .map(phash)
            .ok_or_else(|| {
                asset.fail(
                    "CorruptMedia",
                    format!("ingest's proxy of the image is {width}x{height} pixels"),
                    "Upload the image again so ingest rebuilds its proxy.",
                )
            })?;
        drop(gray);
        drop(proxy);
        results.push(ResultRef::new(
            "phash",
            asset
                .put_json(
                    "phash.json",
                    &json!({"phash": hash.to_hex(), "algorithm": PHASH_ENGINE}),
                )
                .await?,
            PHASH_ENGINE,
        ));

        let near_duplicates = self.near_duplicates(&asset, hash).await?;
        results.push(ResultRef::new(
            "near-duplicates",
            asset
                .put_json(
                    "near-duplicates.json",
                    &json!({
                        "phash": hash.to_hex(),
                        "maxDistance": NEAR_DUPLICATE_DISTANCE,
                        "matches": &near_duplicates,
                    }),
                )
                .await?,
            PHASH_ENGINE,
        ));

        // Vision.
        let scratch = self.scratch()?;
        let proxy_path = scratch.path().join("proxy.jpg");
        tokio::fs::write(&proxy_path, &jpeg)
            .await
            .map_err(|e| HandlerError::retryable(format!("scratch copy of the proxy: {e}")))?;
        let frame = FrameImage {
            asset_id: asset.id,
            path: proxy_path,
            jpeg: jpeg.clone(),
            width,
            height,
        };
        let min_confidence = plan.options.min_confidence;
        let mut found = Found::default();
        for feature in Feature::ALL {
            if !feature.enabled_in(&plan.options.vision) {
                skipped.push(SkippedFeature::new(feature.name(), TURNED_OFF));
                continue;
            }
            let Some(backend) = self.backend_for(feature) else {
                let reason = self
                    .backends
                    .vision
                    .iter()
                    .find_map(|b| b.skip_reason(feature))
                    .unwrap_or_else(|| NO_LOCAL_BACKEND.into());
                skipped.push(SkippedFeature::new(feature.name(), &reason));
                continue;
            };
            let outcome = backend.detect(&frame, feature, min_confidence).await;
            // After the call: backends learn their model version from their first answer.
            let engine = backend.engine(feature).await;
            let detections = match outcome {
                Ok(detections) => detections
                    .into_iter()
                    .filter(|d| d.confidence >= min_confidence)
                    .collect::<Vec<_>>(),
                Err(VisionError::Frame(message)) => {
                    skipped.push(SkippedFeature::new(
                        feature.name(),
                        format!("{engine}: {message}"),
                    ));
                    continue;
                }
                Err(error) => return Err(vision_failure(&asset, feature, error)),
            };
            found.record(feature, &detections);
            let name = format!("{}.json", feature.name());
            let uri = asset
                .put_json(
                    &name,
                    &FeatureResult {
                        feature: feature.name(),
                        engine: &engine,
                        min_confidence,
                        width,
                        height,
                        detections: &detections,
                    },
                )
                .await?;
            results.push(ResultRef::new(feature.name(), uri, &engine));
        }

        // The generative description.
        if !plan.options.generative {
            skipped.push(SkippedFeature::new("description", TURNED_OFF));
        } else if let Some(describer) = &self.backends.describer {
            let request = DescribeRequest {
                jpeg: jpeg.clone(),
                original_name: original_name(&ingested.source.key),
                people: found.people.clone(),
                text: found.lines.clone(),
                gps: facts.gps,
                captured: summary.captured.as_ref().map(|c| c.iso8601.clone()),
            };
            match describer.describe(&request).await {
                Ok(description) => {
                    let uri = asset.put_json("description.json", &description).await?;
                    results.push(ResultRef::new("description", uri, describer.engine()));
                }
                Err(DescribeError::Unavailable(message)) => {
                    return Err(HandlerError::retryable(format!(
                        "{}: {message}",
                        describer.engine()
                    )));
                }
                // The rest of the analysis stands; the reason says what to fix.
                Err(error) => {
                    tracing::warn!(asset_id = %asset.id, %error, "no description");
                    skipped.push(SkippedFeature::new("description", error.to_string()));
                }
            }
        } else {
            skipped.push(SkippedFeature::new(
                "description",
                &self.config.description_skip_reason,
            ));
        }

        let summary = ImageAnalysisSummary {
            phash: hash.to_hex(),
            labels: found.labels,
            faces: found.faces,
            words: found.words,
            location: summary.gps.map(|g| GeoPoint {
                latitude: g.latitude,
                longitude: g.longitude,
                altitude_meters: g.altitude,
            }),
            celebrities: found.celebrities,
            captured_at: summary.captured.as_ref().map(|c| c.iso8601.clone()),
            camera: summary.camera.as_ref().and_then(camera_name),
            near_duplicates: near_duplicates.len() as u32,
        };
        tracing::info!(asset_id = %asset.id, ?summary, "image analysed");
        let detail = ImageAnalysisCompleted {
            asset_id: asset.id,
            schema_version: ImageAnalysisCompleted::SCHEMA_VERSION.into(),
            metadata: caused_by(event, SERVICE, PRODUCER_VERSION),
            plan: plan.clone(),
            summary,
            results,
            skipped,
        };
        Ok(vec![asset.emit(detail)])
    }

    /// Adds the image to the library's index and lists what was there already within
    /// [`NEAR_DUPLICATE_DISTANCE`] (not the image itself).
    async fn near_duplicates(
        &self,
        asset: &Asset<'_>,
        hash: PHash,
    ) -> Result<Vec<Value>, HandlerError> {
        let index = NearDuplicateIndex::new(asset.ports.state.clone());
        index
            .add(&[Entry::image(asset.id, hash)])
            .await
            .map_err(|e| index_error(asset, e))?;
        let matches = index
            .near(hash, NEAR_DUPLICATE_DISTANCE, MAX_LISTED_DUPLICATES + 1)
            .await
            .map_err(|e| index_error(asset, e))?;
        Ok(matches
            .into_iter()
            .filter(|m| m.entry.asset_id != asset.id)
            .take(MAX_LISTED_DUPLICATES)
            .map(|m| {
                json!({
                    "assetId": m.entry.asset_id,
                    "kind": m.entry.kind.name(),
                    "positionMs": m.entry.position_ms,
                    "phash": m.entry.hash.to_hex(),
                    "distance": m.distance,
                })
            })
            .collect())
    }

    fn scratch(&self) -> Result<tempfile::TempDir, HandlerError> {
        mediasift_kit::work::scratch_dir(&self.config.scratch_dir, "image-")
    }
}

/// What the vision features found, for the summary and the description's context.
#[derive(Debug, Default)]
struct Found {
    labels: u32,
    faces: u32,
    celebrities: u32,
    words: u32,
    /// Celebrities and named faces of the collection.
    people: Vec<String>,
    /// Lines of text, in reading order.
    lines: Vec<String>,
}

impl Found {
    fn record(&mut self, feature: Feature, detections: &[Detection]) {
        let count = detections.len() as u32;
        match feature {
            Feature::Labels => self.labels = count,
            Feature::Faces => self.faces = count,
            Feature::Celebrities => {
                self.celebrities = count;
                self.add_people(detections);
            }
            Feature::FaceMatch => self.add_people(detections),
            Feature::Text => {
                self.words = count;
                self.lines = lines_of(detections);
            }
            Feature::Moderation => {}
        }
    }

    fn add_people(&mut self, detections: &[Detection]) {
        for name in detections.iter().map(|d| d.name.trim()) {
            if !name.is_empty() && !self.people.iter().any(|p| p == name) {
                self.people.push(name.to_owned());
            }
        }
    }
}

/// Words grouped into their lines, in the order the lines first appear.
fn lines_of(words: &[Detection]) -> Vec<String> {
    let mut lines: Vec<(Option<&str>, String)> = Vec::new();
    for word in words {
        let line = word.line.as_deref();
        match lines
            .iter_mut()
            .find(|(id, _)| line.is_some() && *id == line)
        {
            Some((_, text)) => {
                text.push(' ');
                text.push_str(&word.name);
            }
            None => lines.push((line, word.name.clone())),
        }
    }
    lines.into_iter().map(|(_, text)| text).collect()
}

fn read_facts(asset: &Asset<'_>, technical: &Bytes) -> Result<ImageFacts, HandlerError> {
    serde_json::from_slice::<Value>(technical)
        .ok()
        .and_then(|mut doc| doc.get_mut("image").map(Value::take))
        .and_then(|image| serde_json::from_value::<ImageFacts>(image).ok())
        .ok_or_else(|| {
            asset.fail(
                "MalformedEvent",
                "ingest's technical metadata has no readable `image` section",
                "Upload the image again so ingest reads its metadata afresh.",
            )
        })
}

fn index_error(asset: &Asset<'_>, error: SimilarError) -> HandlerError {
    if error.is_retryable() {
        HandlerError::retryable(error.to_string())
    } else {
        asset.fail(
            "StateError",
            format!("the near-duplicate index: {error}"),
            "Check the service may read and write its state table; then retry the event from the \
             dead-letter queue.",
        )
    }
}

fn camera_name(camera: &exif::Camera) -> Option<String> {
    match (&camera.make, &camera.model) {
        // "Canon" + "Canon PowerShot SX530 HS": the model already says the make.
        (Some(make), Some(model)) if model.starts_with(make.as_str()) => Some(model.clone()),
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (make, model) => make.clone().or_else(|| model.clone()),
    }
}

fn original_name(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).to_owned()
}

fn vision_failure(asset: &Asset<'_>, feature: Feature, error: VisionError) -> HandlerError {
    let what = feature.name();
    match error {
        VisionError::Tool(tool) => asset.tool_failure(
            what,
            &tool,
            "Check the proxy opens; upload the image again to rebuild it.",
        ),
        VisionError::Unavailable(message) => HandlerError::retryable(format!("{what}: {message}")),
        other => asset.fail(
            "VisionFailed",
            format!("{what}: {other}"),
            "Check the vision backend's installation and permissions (and, for face match, \
             that the face collection exists); then retry the event from the dead-letter queue.",
        ),
    }
}
