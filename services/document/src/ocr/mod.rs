//! The OCR port: what reads the text of a page image (a page without a text layer, rendered
//! by [`mediasift_media::pdf::render_page`] at the backend's [`OcrBackend::dpi`]).
//!
//! Locally, tesseract ([`TesseractOcr`]); on AWS, Amazon Textract's synchronous
//! `DetectDocumentText` (`TextractOcr`, feature `aws`). Both answer in one shape,
//! [`PageText`]: lines in reading order, each with a confidence (0–100) and a box as fractions
//! of the page image.

pub mod tesseract;
#[cfg(feature = "aws")]
pub mod textract;

use std::path::Path;

use async_trait::async_trait;
use mediasift_kit::ports::Retryable;
use mediasift_kit::vision::BoundingBox;
use mediasift_media::process::ToolError;
use serde::{Deserialize, Serialize};

pub use tesseract::TesseractOcr;
#[cfg(feature = "aws")]
pub use textract::{TextractConfig, TextractOcr};

/// One line of text read on a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OcrLine {
    pub text: String,
    /// 0–100, when the backend gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Where the line is, as fractions of the page image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounding_box: Option<BoundingBox>,
}

/// What a backend read on one page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageText {
    /// The lines in reading order, joined by `\n`; paragraphs (or blocks) separated by a
    /// blank line when the backend tells them apart. Empty for a page without text.
    pub text: String,
    pub lines: Vec<OcrLine>,
    /// The mean confidence (0–100) over the words (tesseract) or the lines (Textract) read;
    /// None when nothing was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_confidence: Option<f64>,
}

impl PageText {
    /// True when nothing was read.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// Why a page was not read.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// The OCR tool is missing, or failed in a way that is not about the page.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// The backend answered with something that cannot be read.
    #[error("the OCR backend's output cannot be read: {0}")]
    Output(String),
    /// This page cannot be read (not an image, too large, a format the backend refuses):
    /// recorded against the page; the other pages go on.
    #[error("{0}")]
    Page(String),
    /// Throttled or unavailable after the backend's own retries: retry the event later.
    #[error("{0}")]
    Unavailable(String),
    /// The backend refuses every call (access denied, no language data), with what to do.
    #[error("{0}")]
    Backend(String),
}

impl Retryable for OcrError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// What reads page images.
#[async_trait]
pub trait OcrBackend: Send + Sync {
    /// Its name and version for the result's engine, e.g. `tesseract 5.3.0`.
    fn engine(&self) -> String;
    /// The resolution it wants pages rendered at.
    fn dpi(&self) -> u32 {
        300
    }
    /// How many pages may be read at once (bounded for APIs with rate limits).
    fn concurrency(&self) -> usize {
        1
    }
    /// The text of the page image at `png` (PNG; JPEG and TIFF are read too).
    async fn recognise(&self, png: &Path) -> Result<PageText, OcrError>;
}
