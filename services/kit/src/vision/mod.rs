//! The vision port: what reads the selected frames, feature by feature.
//!
//! A [`VisionBackend`] implements some [`Feature`]s; the handler sends each selected capture
//! to the backend that implements the feature, and reports the features nobody implements
//! as `skipped: no local backend` (or with the reason a backend gives in
//! [`VisionBackend::skip_reason`], e.g. `no face collection configured`). Locally: on-screen text by tesseract OCR
//! ([`tesseract::Tesseract`]) and where faces are by a Haar cascade ([`haar::HaarFaces`]).
//! On AWS: every feature by Amazon Rekognition's image APIs
//! (`rekognition`, feature `rekognition`).
//!
//! Every backend answers in one shape, [`Detection`], with boxes as fractions of the frame
//! (as Rekognition reports them), so timelines and readers need not know who produced them.

pub mod haar;
#[cfg(feature = "rekognition")]
pub mod rekognition;
pub mod tesseract;

use std::path::PathBuf;

use async_trait::async_trait;
use bytes::Bytes;
use mediasift_media::process::ToolError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

pub use haar::HaarFaces;
#[cfg(feature = "rekognition")]
pub use rekognition::{RekognitionConfig, RekognitionVision};
pub use tesseract::Tesseract;

/// Whether `id` is a valid Rekognition collection id (`[a-zA-Z0-9_.\-]+`, at most 255).
pub fn is_collection_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A vision feature of the plan's `vision` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Feature {
    Labels,
    Faces,
    Celebrities,
    FaceMatch,
    Text,
    Moderation,
}

impl Feature {
    pub const ALL: [Feature; 6] = [
        Feature::Labels,
        Feature::Faces,
        Feature::Celebrities,
        Feature::FaceMatch,
        Feature::Text,
        Feature::Moderation,
    ];

    /// The name used in `skipped`, in result names and in the options (`faceMatch`).
    pub fn name(self) -> &'static str {
        match self {
            Feature::Labels => "labels",
            Feature::Faces => "faces",
            Feature::Celebrities => "celebrities",
            Feature::FaceMatch => "faceMatch",
            Feature::Text => "text",
            Feature::Moderation => "moderation",
        }
    }

    /// Whether the plan's options turn the feature on.
    pub fn enabled_in(self, options: &mediasift_schemas::VisionOptions) -> bool {
        match self {
            Feature::Labels => options.labels,
            Feature::Faces => options.faces,
            Feature::Celebrities => options.celebrities,
            Feature::FaceMatch => options.face_match,
            Feature::Text => options.text,
            Feature::Moderation => options.moderation,
        }
    }
}

/// A box as fractions (0–1) of the frame's width and height, from its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundingBox {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl BoundingBox {
    /// A box in pixels of a `frame_width` x `frame_height` image, as fractions.
    pub fn from_pixels(
        left: u32,
        top: u32,
        width: u32,
        height: u32,
        frame_width: u32,
        frame_height: u32,
    ) -> Self {
        let w = f64::from(frame_width.max(1));
        let h = f64::from(frame_height.max(1));
        Self {
            left: f64::from(left) / w,
            top: f64::from(top) / h,
            width: f64::from(width) / w,
            height: f64::from(height) / h,
        }
    }
}

/// One thing a backend saw on a frame: a label, a face, a celebrity, a face of the
/// collection, a word of text, a moderation label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// The label, the celebrity's name, the word; for a face of the collection the name given
    /// to it (empty until someone names it; see the video service's `faces` module); `face` for a bare face.
    pub name: String,
    /// 0–100 (for a face of the collection: the similarity of the match).
    pub confidence: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounding_box: Option<BoundingBox>,
    /// Label and moderation hierarchy, nearest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    /// A celebrity's id, or a face's id in the face collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Text: the line the word belongs to (words of one line share it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Face match: true when the face was new and has just been indexed into the collection.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub indexed: bool,
    /// Whatever else the backend reports (a face's age range, pose and quality; a label's
    /// categories), as it reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
}

impl Detection {
    pub fn new(name: impl Into<String>, confidence: f64) -> Self {
        Self {
            name: name.into(),
            confidence,
            bounding_box: None,
            parents: Vec::new(),
            id: None,
            line: None,
            indexed: false,
            attributes: None,
        }
    }
}

/// A selected capture handed to a backend: the JPEG on disk (for tools) and in memory (for
/// APIs), and its size in pixels.
#[derive(Debug, Clone)]
pub struct FrameImage {
    /// The asset the capture belongs to (the face indexer records it with the faces it adds).
    pub asset_id: Uuid,
    pub path: PathBuf,
    pub jpeg: Bytes,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("the vision backend's output cannot be read: {0}")]
    Output(String),
    /// This frame cannot be read by the backend (too large, a format it refuses): recorded
    /// against the frame; the other frames go on.
    #[error("{0}")]
    Frame(String),
    /// Throttled or unavailable after the backend's own retries: retry the event later.
    #[error("{0}")]
    Unavailable(String),
    /// The backend refuses every call (access denied, the face collection is missing).
    #[error("{0}")]
    Backend(String),
}

/// What reads the selected frames.
#[async_trait]
pub trait VisionBackend: Send + Sync {
    /// The features it implements.
    fn features(&self) -> &[Feature];
    /// Why it does not implement `feature` when that is a matter of its configuration (face
    /// match without a face collection), for the result's `skipped`; `None` when it never
    /// implements it.
    fn skip_reason(&self, _feature: Feature) -> Option<String> {
        None
    }
    /// Its name and version for `ResultRef::engine`, e.g. `tesseract 5.3.0`.
    async fn engine(&self, feature: Feature) -> String;
    /// How many frames may be read at once (bounded for APIs with rate limits).
    fn concurrency(&self) -> usize {
        1
    }
    /// What `feature` finds on `frame` at or above `min_confidence` (0–100).
    async fn detect(
        &self,
        frame: &FrameImage,
        feature: Feature,
        min_confidence: f64,
    ) -> Result<Vec<Detection>, VisionError>;
}
