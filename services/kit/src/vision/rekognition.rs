//! Every vision feature by Amazon Rekognition's image APIs (feature `rekognition`), one synchronous
//! call per selected capture, the JPEG sent as bytes:
//!
//! | feature | call | a [`Detection`] per |
//! |---|---|---|
//! | labels | `DetectLabels` (MinConfidence) | label: parents, the largest instance's box; categories, aliases and every instance in `attributes` |
//! | faces | `DetectFaces` (Attributes DEFAULT and AGE_RANGE) | face, named `face`: box; pose, quality and age range in `attributes` |
//! | celebrities | `RecognizeCelebrities` | recognised celebrity: name, id, match confidence, box; urls and known gender in `attributes` |
//! | faceMatch | `DetectFaces`, then per face `SearchFacesByImage` and maybe `IndexFaces` | face of the collection: face id, similarity, box (the auto face indexer, below) |
//! | text | `DetectText` (word MinConfidence) | word, its `line` the id of the LINE it belongs to |
//! | moderation | `DetectModerationLabels` (MinConfidence) | label: parents from `ParentName`, nearest first |
//!
//! Boxes are Rekognition's ratios of the frame, clamped to it.
//!
//! # The auto face indexer (face match)
//!
//! As Media2Cloud V4 does: `DetectFaces` finds the faces of the capture; each is cropped from
//! the JPEG with a margin ([`FACE_CROP_MARGIN`]) and searched in the face collection
//! (`SearchFacesByImage`, FaceMatchThreshold = the minimum confidence). A match is a detection
//! with the matched face id and the similarity; its name is the matched face's
//! `ExternalImageId` when a person indexed it under a name (underscores read as spaces), and
//! empty for a face this indexer added. A face without a match that passes the quality filter
//! (at least [`MIN_INDEXED_FACE_PIXELS`] pixels square in the capture, yaw, pitch and roll
//! within ±[`MAX_INDEXED_POSE_DEGREES`]°) is indexed (`IndexFaces`, MaxFaces 1, QualityFilter
//! AUTO, `ExternalImageId` `auto:<assetId>`: [`AUTO_INDEXED_PREFIX`]) and reported with its
//! new face id and `indexed: true`; any other face is left out. Names are bound later, by face
//! id (the video service's `faces` module).
//!
//! Idempotence: an indexed face is found by the search the next time it is seen, in a later
//! capture or when the event is delivered again, so it is not indexed twice. Within one
//! process, indexing is serialised and preceded by a second search, so two captures of a new
//! face analysed at once do not both index it.
//!
//! # Throttling and errors
//!
//! The client retries throttling, 5xx and connection failures itself (standard retry mode:
//! [`RekognitionConfig::max_attempts`] attempts with exponential backoff and full jitter); the
//! handler reads at most [`RekognitionConfig::concurrency`] captures at once. What is left
//! after the retries is classified by the kit's [`Fault`]: transient →
//! [`VisionError::Unavailable`] (the event is retried later); a capture Rekognition will not
//! read (too large, a format it refuses, an invalid image) → [`VisionError::Frame`]; the rest
//! (access denied, a missing face collection, a full one, no credentials) →
//! [`VisionError::Backend`] with what to do.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::sync::Mutex;
use std::time::Duration;

use crate::aws::Fault;
use async_trait::async_trait;
use aws_sdk_rekognition::Client;
use aws_sdk_rekognition::config::retry::RetryConfig;
use aws_sdk_rekognition::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rekognition::primitives::Blob;
use aws_sdk_rekognition::types::{
    self as rk, Attribute, DetectTextFilters, DetectionFilter, FaceDetail, Image, QualityFilter,
    TextTypes,
};
use serde_json::{Map, Value, json};

use super::{BoundingBox, Detection, Feature, FrameImage, VisionBackend, VisionError};

/// Captures read at once, by default (Rekognition's default quota is 50 TPS for most image
/// APIs in the large regions, 5 in some: leave room for other functions of the account).
pub const DEFAULT_CONCURRENCY: usize = 5;
/// Attempts per call, by default, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// The first retry's backoff ceiling; each further retry doubles it (up to
/// [`MAX_BACKOFF`]), and the wait is drawn at random below it (full jitter).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// A face is indexed only if its box is at least this many pixels wide and high in the
/// capture.
pub const MIN_INDEXED_FACE_PIXELS: f64 = 64.0;
/// A face is indexed only if its yaw, pitch and roll are all within ± this many degrees.
pub const MAX_INDEXED_POSE_DEGREES: f32 = 26.0;
/// The margin around a face's box when it is cropped, as a fraction of the box's width (left
/// and right) and height (top and bottom).
pub const FACE_CROP_MARGIN: f64 = 0.25;
/// `ExternalImageId` of the faces the indexer adds: `auto:<assetId>`. A face indexed by a
/// person carries the person's name instead.
pub const AUTO_INDEXED_PREFIX: &str = "auto:";
/// JPEG quality of the face crops.
const CROP_QUALITY: u8 = 90;

/// How the Rekognition backend works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekognitionConfig {
    /// The face collection face match searches and indexes into; `None` turns face match off
    /// (reported as skipped: no face collection configured).
    pub face_collection: Option<String>,
    /// Captures read at once.
    pub concurrency: usize,
    /// Attempts per call (throttling, 5xx, connection failures), the first included.
    pub max_attempts: u32,
    /// The first retry's backoff ceiling (tests shorten it).
    pub initial_backoff: Duration,
}

impl Default for RekognitionConfig {
    fn default() -> Self {
        Self {
            face_collection: None,
            concurrency: DEFAULT_CONCURRENCY,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
        }
    }
}

impl RekognitionConfig {
    /// The client's retry policy: standard mode, exponential backoff with full jitter.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(MAX_BACKOFF.max(self.initial_backoff))
    }
}

/// Amazon Rekognition as a [`VisionBackend`] for every [`Feature`] (face match only with a
/// face collection).
pub struct RekognitionVision {
    client: Client,
    config: RekognitionConfig,
    features: Vec<Feature>,
    /// Model versions Rekognition reported, per feature, for [`VisionBackend::engine`].
    models: Mutex<BTreeMap<Feature, String>>,
    /// Held while a face is indexed (see the module's idempotence note).
    indexing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RekognitionVision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RekognitionVision")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RekognitionVision {
    /// A backend on a client built from `sdk` (region and credentials as loaded once per
    /// process), with `config`'s retry policy.
    pub fn new(sdk: &aws_config::SdkConfig, config: RekognitionConfig) -> Self {
        Self::with_client_config(aws_sdk_rekognition::config::Builder::from(sdk), config)
    }

    /// A backend on a client built from `builder` (tests add an HTTP client or interceptors),
    /// with `config`'s retry policy.
    pub fn with_client_config(
        builder: aws_sdk_rekognition::config::Builder,
        config: RekognitionConfig,
    ) -> Self {
        let client = Client::from_conf(builder.retry_config(config.retry_config()).build());
        Self::from_client(client, config)
    }

    /// A backend on a client as it is (its own retry policy).
    pub fn from_client(client: Client, config: RekognitionConfig) -> Self {
        let features = Feature::ALL
            .into_iter()
            .filter(|f| *f != Feature::FaceMatch || config.face_collection.is_some())
            .collect();
        Self {
            client,
            config,
            features,
            models: Mutex::new(BTreeMap::new()),
            indexing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn config(&self) -> &RekognitionConfig {
        &self.config
    }

    fn saw_model(&self, feature: Feature, version: Option<&str>) {
        if let Some(version) = version.filter(|v| !v.is_empty())
            && let Ok(mut models) = self.models.lock()
        {
            models.insert(feature, version.to_owned());
        }
    }

    fn error<E>(&self, operation: &str, err: &SdkError<E>) -> VisionError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let fault = Fault::of(operation, err);
        classify(
            &fault,
            operation,
            self.config.face_collection.as_deref(),
            self.config.max_attempts,
        )
    }

    async fn labels(
        &self,
        frame: &FrameImage,
        min_confidence: f64,
    ) -> Result<Vec<Detection>, VisionError> {
        let output = self
            .client
            .detect_labels()
            .image(image(frame))
            .min_confidence(min_confidence as f32)
            .send()
            .await
            .map_err(|e| self.error("DetectLabels", &e))?;
        self.saw_model(Feature::Labels, output.label_model_version());
        Ok(output.labels().iter().filter_map(label).collect())
    }

    /// The faces of `frame`: box, pose, quality and landmarks (DEFAULT), and `extra`.
    async fn detect_faces(
        &self,
        frame: &FrameImage,
        extra: &[Attribute],
    ) -> Result<Vec<FaceDetail>, VisionError> {
        let mut attributes = vec![Attribute::Default];
        attributes.extend_from_slice(extra);
        let output = self
            .client
            .detect_faces()
            .image(image(frame))
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| self.error("DetectFaces", &e))?;
        Ok(output.face_details().to_vec())
    }

    async fn faces(&self, frame: &FrameImage) -> Result<Vec<Detection>, VisionError> {
        let faces = self.detect_faces(frame, &[Attribute::AgeRange]).await?;
        Ok(faces
            .iter()
            .map(|face| {
                let mut detection =
                    Detection::new("face", f64::from(face.confidence().unwrap_or(0.0)));
                detection.bounding_box = face.bounding_box().and_then(bounding_box);
                detection.attributes = face_attributes(face);
                detection
            })
            .collect())
    }

    async fn celebrities(&self, frame: &FrameImage) -> Result<Vec<Detection>, VisionError> {
        let output = self
            .client
            .recognize_celebrities()
            .image(image(frame))
            .send()
            .await
            .map_err(|e| self.error("RecognizeCelebrities", &e))?;
        Ok(output
            .celebrity_faces()
            .iter()
            .filter_map(|celebrity| {
                let name = celebrity.name().filter(|n| !n.is_empty())?;
                let mut detection =
                    Detection::new(name, f64::from(celebrity.match_confidence().unwrap_or(0.0)));
                detection.id = celebrity.id().map(str::to_owned);
                detection.bounding_box = celebrity
                    .face()
                    .and_then(|face| face.bounding_box())
                    .and_then(bounding_box);
                let mut attributes = Map::new();
                if !celebrity.urls().is_empty() {
                    attributes.insert("urls".into(), json!(celebrity.urls()));
                }
                if let Some(gender) = celebrity.known_gender().and_then(|g| g.r#type()) {
                    attributes.insert("knownGender".into(), json!(gender.as_str()));
                }
                detection.attributes = non_empty(attributes);
                Some(detection)
            })
            .collect())
    }

    async fn text(
        &self,
        frame: &FrameImage,
        min_confidence: f64,
    ) -> Result<Vec<Detection>, VisionError> {
        let output = self
            .client
            .detect_text()
            .image(image(frame))
            .filters(
                DetectTextFilters::builder()
                    .word_filter(
                        DetectionFilter::builder()
                            .min_confidence(min_confidence as f32)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.error("DetectText", &e))?;
        self.saw_model(Feature::Text, output.text_model_version());
        Ok(output
            .text_detections()
            .iter()
            .filter(|t| t.r#type() == Some(&TextTypes::Word))
            .filter_map(|word| {
                let text = word.detected_text().filter(|t| !t.trim().is_empty())?;
                let mut detection =
                    Detection::new(text, f64::from(word.confidence().unwrap_or(0.0)));
                detection.bounding_box = word
                    .geometry()
                    .and_then(|g| g.bounding_box())
                    .and_then(bounding_box);
                // Words of one line share the LINE's id; the timeline joins them.
                detection.line = word.parent_id().or(word.id()).map(|id| id.to_string());
                Some(detection)
            })
            .collect())
    }

    async fn moderation(
        &self,
        frame: &FrameImage,
        min_confidence: f64,
    ) -> Result<Vec<Detection>, VisionError> {
        let output = self
            .client
            .detect_moderation_labels()
            .image(image(frame))
            .min_confidence(min_confidence as f32)
            .send()
            .await
            .map_err(|e| self.error("DetectModerationLabels", &e))?;
        self.saw_model(Feature::Moderation, output.moderation_model_version());
        Ok(moderation_labels(output.moderation_labels()))
    }

    /// The auto face indexer (see the module's documentation).
    async fn face_match(
        &self,
        frame: &FrameImage,
        collection: &str,
        min_confidence: f64,
    ) -> Result<Vec<Detection>, VisionError> {
        let faces = self.detect_faces(frame, &[]).await?;
        let faces: Vec<(FaceDetail, BoundingBox)> = faces
            .into_iter()
            .filter_map(|face| {
                let bounds = face.bounding_box().and_then(bounding_box)?;
                Some((face, bounds))
            })
            .collect();
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        let jpeg = frame.jpeg.clone();
        let boxes: Vec<BoundingBox> = faces.iter().map(|(_, b)| *b).collect();
        let crops = tokio::task::spawn_blocking(move || crop_faces(&jpeg, &boxes))
            .await
            .map_err(|e| VisionError::Output(format!("cropping faces panicked: {e}")))?
            .map_err(VisionError::Frame)?;
        let mut detections = Vec::new();
        for ((face, bounds), crop) in faces.iter().zip(crops) {
            let Some(crop) = crop else { continue };
            let found = match self.search(collection, &crop, min_confidence).await? {
                Search::Match(found) => Some(*found),
                Search::NoFace => None,
                Search::NoMatch if !indexable(face, bounds, frame) => None,
                Search::NoMatch => {
                    let _indexing = self.indexing.lock().await;
                    // Another capture may have indexed this face since the search.
                    match self.search(collection, &crop, min_confidence).await? {
                        Search::Match(found) => Some(*found),
                        Search::NoFace => None,
                        Search::NoMatch => self.index(collection, &crop, frame, face).await?,
                    }
                }
            };
            if let Some(mut found) = found {
                // Where the face is in this capture (the match's box is in the indexed image).
                found.bounding_box = Some(*bounds);
                detections.push(found);
            }
        }
        Ok(detections)
    }

    async fn search(
        &self,
        collection: &str,
        crop: &[u8],
        min_confidence: f64,
    ) -> Result<Search, VisionError> {
        let result = self
            .client
            .search_faces_by_image()
            .collection_id(collection)
            .image(Image::builder().bytes(Blob::new(crop)).build())
            .max_faces(1)
            .face_match_threshold(min_confidence as f32)
            .quality_filter(QualityFilter::None)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            // "There are no faces in the image": Rekognition finds no face in the crop.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.code() == Some("InvalidParameterException")) =>
            {
                return Ok(Search::NoFace);
            }
            Err(err) => return Err(self.error("SearchFacesByImage", &err)),
        };
        self.saw_model(Feature::FaceMatch, output.face_model_version());
        let Some(best) = output
            .face_matches()
            .iter()
            .filter(|m| m.face().and_then(|f| f.face_id()).is_some())
            .max_by(|a, b| {
                a.similarity()
                    .unwrap_or(0.0)
                    .total_cmp(&b.similarity().unwrap_or(0.0))
            })
        else {
            return Ok(Search::NoMatch);
        };
        let face = best.face().expect("filtered on a face id");
        let external = face.external_image_id().unwrap_or_default();
        let mut detection = Detection::new(
            person_name(external),
            f64::from(best.similarity().unwrap_or(0.0)),
        );
        detection.id = face.face_id().map(str::to_owned);
        if !external.is_empty() {
            detection.attributes = Some(json!({ "externalImageId": external }));
        }
        Ok(Search::Match(Box::new(detection)))
    }

    async fn index(
        &self,
        collection: &str,
        crop: &[u8],
        frame: &FrameImage,
        face: &FaceDetail,
    ) -> Result<Option<Detection>, VisionError> {
        let external = format!("{AUTO_INDEXED_PREFIX}{}", frame.asset_id);
        let output = self
            .client
            .index_faces()
            .collection_id(collection)
            .image(Image::builder().bytes(Blob::new(crop)).build())
            .external_image_id(&external)
            .max_faces(1)
            .quality_filter(QualityFilter::Auto)
            .detection_attributes(Attribute::Default)
            .send()
            .await
            .map_err(|e| self.error("IndexFaces", &e))?;
        self.saw_model(Feature::FaceMatch, output.face_model_version());
        let Some(indexed) = output.face_records().iter().find_map(|r| r.face()) else {
            // Rekognition's own quality filter refused it (the reasons are in UnindexedFaces).
            let reasons: Vec<&str> = output
                .unindexed_faces()
                .iter()
                .flat_map(|u| u.reasons())
                .map(|r| r.as_str())
                .collect();
            tracing::debug!(?reasons, "Rekognition did not index a face");
            return Ok(None);
        };
        let Some(face_id) = indexed.face_id() else {
            return Ok(None);
        };
        let confidence = indexed.confidence().or(face.confidence()).unwrap_or(0.0);
        let mut detection = Detection::new("", f64::from(confidence));
        detection.id = Some(face_id.to_owned());
        detection.indexed = true;
        detection.attributes = Some(json!({ "externalImageId": external }));
        tracing::info!(asset_id = %frame.asset_id, face_id, collection, "indexed a new face");
        Ok(Some(detection))
    }
}

/// What searching one face found.
enum Search {
    Match(Box<Detection>),
    NoMatch,
    /// Rekognition found no face in the crop.
    NoFace,
}

#[async_trait]
impl VisionBackend for RekognitionVision {
    fn features(&self) -> &[Feature] {
        &self.features
    }

    fn skip_reason(&self, feature: Feature) -> Option<String> {
        (feature == Feature::FaceMatch && self.config.face_collection.is_none())
            .then(|| "no face collection configured".to_owned())
    }

    async fn engine(&self, feature: Feature) -> String {
        let calls = match feature {
            Feature::Labels => "DetectLabels".to_owned(),
            Feature::Faces => "DetectFaces".to_owned(),
            Feature::Celebrities => "RecognizeCelebrities".to_owned(),
            Feature::FaceMatch => format!(
                "SearchFacesByImage and IndexFaces, collection {}",
                self.config.face_collection.as_deref().unwrap_or("none")
            ),
            Feature::Text => "DetectText".to_owned(),
            Feature::Moderation => "DetectModerationLabels".to_owned(),
        };
        let model = self
            .models
            .lock()
            .ok()
            .and_then(|models| models.get(&feature).cloned());
        match model {
            Some(model) => format!("Amazon Rekognition {calls}, model {model}"),
            None => format!("Amazon Rekognition {calls}"),
        }
    }

    fn concurrency(&self) -> usize {
        self.config.concurrency.max(1)
    }

    async fn detect(
        &self,
        frame: &FrameImage,
        feature: Feature,
        min_confidence: f64,
    ) -> Result<Vec<Detection>, VisionError> {
        match feature {
            Feature::Labels => self.labels(frame, min_confidence).await,
            Feature::Faces => self.faces(frame).await,
            Feature::Celebrities => self.celebrities(frame).await,
            Feature::FaceMatch => match &self.config.face_collection {
                Some(collection) => self.face_match(frame, collection, min_confidence).await,
                None => Ok(Vec::new()),
            },
            Feature::Text => self.text(frame, min_confidence).await,
            Feature::Moderation => self.moderation(frame, min_confidence).await,
        }
    }
}

/// What a failed call means for the handler (see the module's documentation).
pub fn classify(
    fault: &Fault,
    operation: &str,
    collection: Option<&str>,
    attempts: u32,
) -> VisionError {
    let message = &fault.message;
    if fault.transient {
        return VisionError::Unavailable(format!(
            "Rekognition is throttled or unavailable after {attempts} attempts with backoff \
             ({message}); the event will be retried. If this lasts, lower \
             MEDIASIFT_VISION_CONCURRENCY or ask AWS for a higher Rekognition quota."
        ));
    }
    let collection_name = collection.unwrap_or("(none)");
    match fault.code.as_deref() {
        Some(
            "ImageTooLargeException" | "InvalidImageFormatException" | "InvalidParameterException",
        ) => VisionError::Frame(format!("Rekognition cannot read this capture: {message}")),
        Some("AccessDeniedException") => VisionError::Backend(format!(
            "Rekognition refused {operation} ({message}). Allow the video function's role \
             rekognition:{operation}{}.",
            if matches!(operation, "SearchFacesByImage" | "IndexFaces") {
                format!(" on the face collection {collection_name}")
            } else {
                String::new()
            }
        )),
        Some("ResourceNotFoundException") => VisionError::Backend(format!(
            "the face collection {collection_name} does not exist in this account and region \
             ({message}). Create it (aws rekognition create-collection --collection-id \
             {collection_name}) or unset MEDIASIFT_FACE_COLLECTION to turn face match off."
        )),
        Some("ServiceQuotaExceededException") => VisionError::Backend(format!(
            "the face collection {collection_name} is full ({message}). Delete faces it no \
             longer needs, or configure another collection in MEDIASIFT_FACE_COLLECTION."
        )),
        Some("InvalidS3ObjectException") => VisionError::Backend(format!(
            "Rekognition cannot read the image from S3 ({message}). Check the object exists \
             and Rekognition may read it."
        )),
        Some(_) => VisionError::Backend(format!("Rekognition {operation} failed: {message}")),
        None => VisionError::Backend(format!(
            "could not make the Rekognition {operation} request ({message}). Check the \
             function's AWS region and credentials."
        )),
    }
}

fn image(frame: &FrameImage) -> Image {
    Image::builder()
        .bytes(Blob::new(frame.jpeg.to_vec()))
        .build()
}

/// A Rekognition box as fractions of the frame, clamped to it; `None` when incomplete or
/// entirely outside.
fn bounding_box(b: &rk::BoundingBox) -> Option<BoundingBox> {
    let (left, top) = (f64::from(b.left()?), f64::from(b.top()?));
    let (width, height) = (f64::from(b.width()?), f64::from(b.height()?));
    let (x0, y0) = (left.clamp(0.0, 1.0), top.clamp(0.0, 1.0));
    let (x1, y1) = (
        (left + width).clamp(0.0, 1.0),
        (top + height).clamp(0.0, 1.0),
    );
    (x1 > x0 && y1 > y0).then_some(BoundingBox {
        left: x0,
        top: y0,
        width: x1 - x0,
        height: y1 - y0,
    })
}

fn box_json(b: &BoundingBox) -> Value {
    serde_json::to_value(b).unwrap_or(Value::Null)
}

fn non_empty(map: Map<String, Value>) -> Option<Value> {
    (!map.is_empty()).then_some(Value::Object(map))
}

/// One label: parents; the largest instance's box; categories, aliases and instances in
/// attributes.
fn label(label: &rk::Label) -> Option<Detection> {
    let name = label.name().filter(|n| !n.is_empty())?;
    let mut detection = Detection::new(name, f64::from(label.confidence().unwrap_or(0.0)));
    detection.parents = label
        .parents()
        .iter()
        .filter_map(|p| p.name())
        .map(str::to_owned)
        .collect();
    let instances: Vec<(BoundingBox, f64)> = label
        .instances()
        .iter()
        .filter_map(|i| {
            let b = i.bounding_box().and_then(bounding_box)?;
            Some((b, f64::from(i.confidence().unwrap_or(0.0))))
        })
        .collect();
    detection.bounding_box = instances
        .iter()
        .map(|(b, _)| *b)
        .max_by(|a, b| (a.width * a.height).total_cmp(&(b.width * b.height)));
    let mut attributes = Map::new();
    let categories: Vec<&str> = label.categories().iter().filter_map(|c| c.name()).collect();
    if !categories.is_empty() {
        attributes.insert("categories".into(), json!(categories));
    }
    let aliases: Vec<&str> = label.aliases().iter().filter_map(|a| a.name()).collect();
    if !aliases.is_empty() {
        attributes.insert("aliases".into(), json!(aliases));
    }
    if !instances.is_empty() {
        let instances: Vec<Value> = instances
            .iter()
            .map(|(b, confidence)| json!({"boundingBox": box_json(b), "confidence": confidence}))
            .collect();
        attributes.insert("instances".into(), Value::Array(instances));
    }
    detection.attributes = non_empty(attributes);
    Some(detection)
}

/// Pose, quality and age range of a face, as Rekognition reports them.
fn face_attributes(face: &FaceDetail) -> Option<Value> {
    let mut attributes = Map::new();
    if let Some(pose) = face.pose() {
        attributes.insert(
            "pose".into(),
            json!({"roll": pose.roll(), "yaw": pose.yaw(), "pitch": pose.pitch()}),
        );
    }
    if let Some(quality) = face.quality() {
        attributes.insert(
            "quality".into(),
            json!({"brightness": quality.brightness(), "sharpness": quality.sharpness()}),
        );
    }
    if let Some(age) = face.age_range() {
        attributes.insert(
            "ageRange".into(),
            json!({"low": age.low(), "high": age.high()}),
        );
    }
    non_empty(attributes)
}

/// Moderation labels, each with its chain of parents (nearest first) from the `ParentName`s of
/// the answer.
fn moderation_labels(labels: &[rk::ModerationLabel]) -> Vec<Detection> {
    let parent_of: BTreeMap<&str, &str> = labels
        .iter()
        .filter_map(|l| Some((l.name()?, l.parent_name().filter(|p| !p.is_empty())?)))
        .collect();
    labels
        .iter()
        .filter_map(|l| {
            let name = l.name().filter(|n| !n.is_empty())?;
            let mut detection = Detection::new(name, f64::from(l.confidence().unwrap_or(0.0)));
            let mut parent = l.parent_name().filter(|p| !p.is_empty());
            while let Some(p) = parent {
                if p == name || detection.parents.iter().any(|seen| seen == p) {
                    break;
                }
                detection.parents.push(p.to_owned());
                parent = parent_of.get(p).copied();
            }
            if let Some(level) = l.taxonomy_level() {
                detection.attributes = Some(json!({"taxonomyLevel": level}));
            }
            Some(detection)
        })
        .collect()
}

/// Whether a face without a match may be indexed: large enough in the capture, and facing
/// the camera.
fn indexable(face: &FaceDetail, bounds: &BoundingBox, frame: &FrameImage) -> bool {
    let width = bounds.width * f64::from(frame.width);
    let height = bounds.height * f64::from(frame.height);
    if width < MIN_INDEXED_FACE_PIXELS || height < MIN_INDEXED_FACE_PIXELS {
        return false;
    }
    let Some(pose) = face.pose() else {
        return false;
    };
    [pose.yaw(), pose.pitch(), pose.roll()]
        .into_iter()
        .all(|angle| angle.is_some_and(|a| a.abs() <= MAX_INDEXED_POSE_DEGREES))
}

/// The name a matched face carries: a person's `ExternalImageId` (underscores, which
/// Rekognition requires instead of spaces, read as spaces); empty for auto-indexed faces.
fn person_name(external_image_id: &str) -> String {
    if external_image_id.starts_with(AUTO_INDEXED_PREFIX) {
        String::new()
    } else {
        external_image_id.replace('_', " ").trim().to_owned()
    }
}

/// Each face of the JPEG cropped with [`FACE_CROP_MARGIN`] around its box, as a JPEG; `None`
/// for a box with no pixels. An error when the JPEG cannot be decoded.
pub fn crop_faces(jpeg: &[u8], boxes: &[BoundingBox]) -> Result<Vec<Option<Vec<u8>>>, String> {
    let frame = image::load_from_memory(jpeg)
        .map_err(|e| format!("the capture cannot be decoded to crop its faces: {e}"))?
        .to_rgb8();
    let (width, height) = (f64::from(frame.width()), f64::from(frame.height()));
    boxes
        .iter()
        .map(|b| {
            let x0 = ((b.left - FACE_CROP_MARGIN * b.width) * width)
                .floor()
                .max(0.0);
            let y0 = ((b.top - FACE_CROP_MARGIN * b.height) * height)
                .floor()
                .max(0.0);
            let x1 = ((b.left + b.width * (1.0 + FACE_CROP_MARGIN)) * width)
                .ceil()
                .min(width);
            let y1 = ((b.top + b.height * (1.0 + FACE_CROP_MARGIN)) * height)
                .ceil()
                .min(height);
            if x1 - x0 < 1.0 || y1 - y0 < 1.0 {
                return Ok(None);
            }
            let crop = image::imageops::crop_imm(
                &frame,
                x0 as u32,
                y0 as u32,
                (x1 - x0) as u32,
                (y1 - y0) as u32,
            )
            .to_image();
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, CROP_QUALITY)
                .encode_image(&crop)
                .map_err(|e| format!("a face crop cannot be encoded: {e}"))?;
            Ok(Some(out))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: Option<&str>, transient: bool) -> Fault {
        Fault {
            code: code.map(str::to_owned),
            status: Some(400),
            transient,
            message: format!("DetectLabels: service error: {}", code.unwrap_or("?")),
        }
    }

    #[test]
    fn faults_map_to_retry_frame_or_backend() {
        let throttled = classify(
            &fault(Some("ThrottlingException"), true),
            "DetectLabels",
            None,
            5,
        );
        assert!(matches!(&throttled, VisionError::Unavailable(m) if m.contains("5 attempts")));
        for code in [
            "ImageTooLargeException",
            "InvalidImageFormatException",
            "InvalidParameterException",
        ] {
            let err = classify(&fault(Some(code), false), "DetectLabels", None, 5);
            assert!(matches!(err, VisionError::Frame(_)), "{code}: {err:?}");
        }
        let denied = classify(
            &fault(Some("AccessDeniedException"), false),
            "IndexFaces",
            Some("news-faces"),
            5,
        );
        assert!(
            matches!(&denied, VisionError::Backend(m)
                if m.contains("rekognition:IndexFaces") && m.contains("news-faces")),
            "{denied:?}"
        );
        let missing = classify(
            &fault(Some("ResourceNotFoundException"), false),
            "SearchFacesByImage",
            Some("news-faces"),
            5,
        );
        assert!(
            matches!(&missing, VisionError::Backend(m)
                if m.contains("create-collection --collection-id news-faces")),
            "{missing:?}"
        );
        let unbuilt = classify(&fault(None, false), "DetectText", None, 5);
        assert!(
            matches!(&unbuilt, VisionError::Backend(m) if m.contains("credentials")),
            "{unbuilt:?}"
        );
    }

    #[test]
    fn boxes_are_clamped_to_the_frame() {
        let b = rk::BoundingBox::builder()
            .left(-0.1)
            .top(0.5)
            .width(0.3)
            .height(0.7)
            .build();
        let clamped = bounding_box(&b).unwrap();
        assert_eq!(clamped.left, 0.0);
        assert!((clamped.width - 0.2).abs() < 1e-6, "{clamped:?}");
        assert!((clamped.top + clamped.height - 1.0).abs() < 1e-9);
        let outside = rk::BoundingBox::builder()
            .left(1.2)
            .top(0.0)
            .width(0.1)
            .height(0.1)
            .build();
        assert_eq!(bounding_box(&outside), None);
    }

    #[test]
    fn moderation_parents_follow_the_chain() {
        let labels = [
            rk::ModerationLabel::builder()
                .name("Explicit Nudity")
                .parent_name("")
                .taxonomy_level(1)
                .confidence(97.0)
                .build(),
            rk::ModerationLabel::builder()
                .name("Nudity")
                .parent_name("Explicit Nudity")
                .taxonomy_level(2)
                .confidence(96.0)
                .build(),
            rk::ModerationLabel::builder()
                .name("Exposed Buttocks")
                .parent_name("Nudity")
                .taxonomy_level(3)
                .confidence(90.0)
                .build(),
        ];
        let found = moderation_labels(&labels);
        assert_eq!(found[0].parents, Vec::<String>::new());
        assert_eq!(found[2].name, "Exposed Buttocks");
        assert_eq!(found[2].parents, vec!["Nudity", "Explicit Nudity"]);
        assert_eq!(found[2].attributes, Some(json!({"taxonomyLevel": 3})));
    }

    #[test]
    fn names_come_from_people_not_from_the_indexer() {
        assert_eq!(person_name("auto:0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10"), "");
        assert_eq!(person_name("Jane_Doe"), "Jane Doe");
    }
}
