//! Faces by OpenCV's Haar cascade (Debian's opencv-data), evaluated in-process by
//! [`mediasift_media::faces`]: where a face is, not who it is.
//!
//! A cascade passes or rejects a window; it has no calibrated score. Each face is reported
//! with confidence 100 and the number of raw detections grouped into it (`neighbours`, more is
//! more certain) in its attributes, so the plan's minimum confidence does not filter them.

use std::sync::Arc;

use async_trait::async_trait;
use mediasift_media::faces::{DetectParams, FaceDetector, FaceError};
use mediasift_media::phash::Luma;
use serde_json::json;

use super::{BoundingBox, Detection, Feature, FrameImage, VisionBackend, VisionError};

pub struct HaarFaces {
    detector: Arc<FaceDetector>,
    params: DetectParams,
}

impl HaarFaces {
    /// The default frontal-face cascade (`MEDIASIFT_HAAR_CASCADE` overrides its path).
    pub fn frontal_default() -> Result<Self, FaceError> {
        Ok(Self::new(FaceDetector::frontal_default()?))
    }

    pub fn new(detector: FaceDetector) -> Self {
        Self {
            detector: Arc::new(detector),
            params: DetectParams::default(),
        }
    }
}

#[async_trait]
impl VisionBackend for HaarFaces {
    fn features(&self) -> &[Feature] {
        &[Feature::Faces]
    }

    async fn engine(&self, _feature: Feature) -> String {
        let cascade = self
            .detector
            .source()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("mediasift Haar cascade ({cascade})")
    }

    /// The cascade uses one core per frame; two frames keep both cores of a small machine busy.
    fn concurrency(&self) -> usize {
        2
    }

    async fn detect(
        &self,
        frame: &FrameImage,
        feature: Feature,
        _min_confidence: f64,
    ) -> Result<Vec<Detection>, VisionError> {
        if feature != Feature::Faces {
            return Ok(Vec::new());
        }
        let detector = self.detector.clone();
        let params = self.params;
        let jpeg = frame.jpeg.clone();
        tokio::task::spawn_blocking(move || {
            let gray = image::load_from_memory(&jpeg)
                .map_err(|e| VisionError::Frame(format!("the capture cannot be decoded: {e}")))?
                .to_luma8();
            let (width, height) = gray.dimensions();
            let Some(view) = Luma::new(width as usize, height as usize, gray.as_raw()) else {
                return Ok(Vec::new());
            };
            Ok(detector
                .detect(view, &params)
                .into_iter()
                .map(|face| {
                    let mut detection = Detection::new("face", 100.0);
                    detection.bounding_box = Some(BoundingBox::from_pixels(
                        face.left,
                        face.top,
                        face.width,
                        face.height,
                        width,
                        height,
                    ));
                    detection.attributes = Some(json!({ "neighbours": face.neighbours }));
                    detection
                })
                .collect())
        })
        .await
        .map_err(|e| VisionError::Output(format!("the face detector stopped: {e}")))?
    }
}
