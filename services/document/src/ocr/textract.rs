//! OCR by Amazon Textract's synchronous `DetectDocumentText` (feature `aws`), one call per
//! page image, the image sent as bytes.
//!
//! The result is Textract's LINE blocks in the order it returns them (its reading order):
//! [`PageText::text`] is their texts joined by `\n` (Textract does not mark paragraphs), each
//! line with its confidence and its box (Textract's ratios of the page, clamped to it);
//! [`PageText::mean_confidence`] is the mean over lines. WORD blocks are not used.
//!
//! Textract's synchronous limits are 10 MB and at most 10,000 pixels a side, in JPEG, PNG or
//! TIFF. A page image within them is sent as it is; any other is decoded, shrunk to 10,000
//! pixels a side if larger, and sent as a JPEG ([`JPEG_QUALITY`]), shrunk further by a
//! quarter at a time while that is over 10 MB.
//!
//! # Throttling and errors
//!
//! The client retries throttling, 5xx and connection failures itself (standard retry mode:
//! [`TextractConfig::max_attempts`] attempts with exponential backoff and full jitter); the
//! handler reads at most [`TextractConfig::concurrency`] pages at once. What is left after
//! the retries is classified by the kit's [`Fault`]: transient → [`OcrError::Unavailable`]
//! (the event is retried later); a page Textract will not read (invalid, unsupported, bad or
//! too large) → [`OcrError::Page`]; the rest (access denied, no credentials) →
//! [`OcrError::Backend`] with what to do.

use std::io::Cursor;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_textract::Client;
use aws_sdk_textract::config::retry::RetryConfig;
use aws_sdk_textract::primitives::Blob;
use aws_sdk_textract::types::{self as tx, BlockType, Document};
use image::{DynamicImage, ImageFormat};
use mediasift_kit::aws::Fault;
use mediasift_kit::vision::BoundingBox;

use super::{OcrBackend, OcrError, OcrLine, PageText};

/// Pages read at once, by default (DetectDocumentText's default quota is 1 to 10 TPS
/// depending on the region: leave room for other functions of the account).
pub const DEFAULT_CONCURRENCY: usize = 2;
/// Attempts per call, by default, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// The first retry's backoff ceiling; each further retry doubles it (up to [`MAX_BACKOFF`]),
/// and the wait is drawn at random below it (full jitter).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// The largest image DetectDocumentText takes, in bytes.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// The longest side, in pixels, of an image DetectDocumentText takes.
pub const MAX_IMAGE_SIDE: u32 = 10_000;
/// The quality of the JPEG a page image is re-encoded as when it is outside the limits.
pub const JPEG_QUALITY: u8 = 90;
/// How many times a re-encoded page is shrunk by a quarter to fit [`MAX_IMAGE_BYTES`].
const MAX_SHRINKS: u32 = 6;
const OPERATION: &str = "DetectDocumentText";

/// How the Textract backend works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextractConfig {
    /// Attempts per call (throttling, 5xx, connection failures), the first included.
    pub max_attempts: u32,
    /// The first retry's backoff ceiling (tests shorten it).
    pub initial_backoff: Duration,
    /// Pages read at once.
    pub concurrency: usize,
}

impl Default for TextractConfig {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

impl TextractConfig {
    /// The client's retry policy: standard mode, exponential backoff with full jitter.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(MAX_BACKOFF.max(self.initial_backoff))
    }
}

/// Amazon Textract as an [`OcrBackend`].
pub struct TextractOcr {
    client: Client,
    config: TextractConfig,
    /// The model version Textract last reported, for [`OcrBackend::engine`].
    model: Mutex<Option<String>>,
}

impl std::fmt::Debug for TextractOcr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextractOcr")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TextractOcr {
    /// A backend on a client built from `sdk` (region and credentials as loaded once per
    /// process), with `config`'s retry policy.
    pub fn new(sdk: &aws_config::SdkConfig, config: TextractConfig) -> Self {
        Self::with_client_config(aws_sdk_textract::config::Builder::from(sdk), config)
    }

    /// A backend on a client built from `builder` (tests add an HTTP client or interceptors),
    /// with `config`'s retry policy.
    pub fn with_client_config(
        builder: aws_sdk_textract::config::Builder,
        config: TextractConfig,
    ) -> Self {
        let client = Client::from_conf(builder.retry_config(config.retry_config()).build());
        Self::from_client(client, config)
    }

    /// A backend on a client as it is (its own retry policy).
    pub fn from_client(client: Client, config: TextractConfig) -> Self {
        Self {
            client,
            config,
            model: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &TextractConfig {
        &self.config
    }
}

#[async_trait]
impl OcrBackend for TextractOcr {
    /// `textract <model version>` once Textract has answered, else `textract`.
    fn engine(&self) -> String {
        match self.model.lock().ok().and_then(|m| m.clone()) {
            Some(version) => format!("textract {version}"),
            None => "textract".into(),
        }
    }

    fn concurrency(&self) -> usize {
        self.config.concurrency.max(1)
    }

    async fn recognise(&self, png: &Path) -> Result<PageText, OcrError> {
        let bytes = tokio::fs::read(png).await.map_err(|e| {
            OcrError::Page(format!("cannot read the page image {}: {e}", png.display()))
        })?;
        let name = png.display().to_string();
        let bytes = tokio::task::spawn_blocking(move || within_limits(bytes, &name))
            .await
            .map_err(|e| OcrError::Page(format!("preparing {} failed: {e}", png.display())))??;
        let output = self
            .client
            .detect_document_text()
            .document(Document::builder().bytes(Blob::new(bytes)).build())
            .send()
            .await
            .map_err(|e| classify(&Fault::of(OPERATION, &e), self.config.max_attempts))?;
        if let Some(version) = output
            .detect_document_text_model_version()
            .filter(|v| !v.is_empty())
            && let Ok(mut model) = self.model.lock()
        {
            *model = Some(version.to_owned());
        }
        Ok(page_text(output.blocks()))
    }
}

/// Textract's LINE blocks as a [`PageText`] (see the module docs).
pub fn page_text(blocks: &[tx::Block]) -> PageText {
    let lines: Vec<OcrLine> = blocks
        .iter()
        .filter(|b| b.block_type() == Some(&BlockType::Line))
        .filter_map(|b| {
            let text = b.text()?.trim();
            (!text.is_empty()).then(|| OcrLine {
                text: text.to_owned(),
                confidence: b.confidence().map(f64::from),
                bounding_box: b
                    .geometry()
                    .and_then(|g| g.bounding_box())
                    .and_then(bounding_box),
            })
        })
        .collect();
    let confidences: Vec<f64> = lines.iter().filter_map(|l| l.confidence).collect();
    PageText {
        text: lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        mean_confidence: (!confidences.is_empty())
            .then(|| confidences.iter().sum::<f64>() / confidences.len() as f64),
        lines,
    }
}

/// What a failed call means, after the client's `attempts` attempts.
pub fn classify(fault: &Fault, attempts: u32) -> OcrError {
    let message = &fault.message;
    if fault.transient {
        return OcrError::Unavailable(format!(
            "Textract is throttled or unavailable after {attempts} attempts with backoff \
             ({message}); the event will be retried. If this lasts, read fewer pages at once \
             or ask AWS for a higher DetectDocumentText quota."
        ));
    }
    match fault.code.as_deref() {
        Some(
            "InvalidParameterException"
            | "UnsupportedDocumentException"
            | "BadDocumentException"
            | "DocumentTooLargeException",
        ) => OcrError::Page(format!("Textract cannot read this page image: {message}")),
        Some("AccessDeniedException") => OcrError::Backend(format!(
            "Textract refused {OPERATION} ({message}). Allow the document function's role \
             the IAM action textract:{OPERATION}."
        )),
        Some(_) => OcrError::Backend(format!("Textract {OPERATION} failed: {message}")),
        None => OcrError::Backend(format!(
            "could not make the Textract {OPERATION} request ({message}). Check the \
             function's AWS region and credentials."
        )),
    }
}

/// `bytes` as Textract takes them: as they are when they are a JPEG, PNG or TIFF within
/// [`MAX_IMAGE_BYTES`] and [`MAX_IMAGE_SIDE`], else re-encoded (see the module docs).
/// [`OcrError::Page`] when they are not an image or cannot be brought within the limits.
pub fn within_limits(bytes: Vec<u8>, name: &str) -> Result<Vec<u8>, OcrError> {
    let not_an_image =
        |e: &dyn std::fmt::Display| OcrError::Page(format!("{name} is not a readable image: {e}"));
    let format = image::guess_format(&bytes).map_err(|e| not_an_image(&e))?;
    let (width, height) = image::ImageReader::with_format(Cursor::new(&bytes), format)
        .into_dimensions()
        .map_err(|e| not_an_image(&e))?;
    let accepted = matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Tiff
    );
    if accepted && bytes.len() <= MAX_IMAGE_BYTES && width.max(height) <= MAX_IMAGE_SIDE {
        return Ok(bytes);
    }
    let mut page =
        image::load_from_memory_with_format(&bytes, format).map_err(|e| not_an_image(&e))?;
    drop(bytes);
    if page.width().max(page.height()) > MAX_IMAGE_SIDE {
        page = page.resize(
            MAX_IMAGE_SIDE,
            MAX_IMAGE_SIDE,
            image::imageops::FilterType::Triangle,
        );
    }
    for _ in 0..=MAX_SHRINKS {
        let jpeg = encode_jpeg(&page).map_err(|e| {
            OcrError::Page(format!(
                "{name} cannot be re-encoded as JPEG for Textract: {e}"
            ))
        })?;
        if jpeg.len() <= MAX_IMAGE_BYTES {
            tracing::info!(
                image = name,
                width = page.width(),
                height = page.height(),
                bytes = jpeg.len(),
                "page image re-encoded as JPEG for Textract"
            );
            return Ok(jpeg);
        }
        let (w, h) = (page.width() * 3 / 4, page.height() * 3 / 4);
        page = page.resize(w.max(1), h.max(1), image::imageops::FilterType::Triangle);
    }
    Err(OcrError::Page(format!(
        "{name} does not fit Textract's {} MB limit even as a reduced JPEG",
        MAX_IMAGE_BYTES / 1024 / 1024
    )))
}

fn encode_jpeg(page: &DynamicImage) -> image::ImageResult<Vec<u8>> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
    // pdftoppm writes gray pages as RGB with equal channels: those are encoded as gray.
    let rgb = page.color().has_color().then(|| page.to_rgb8());
    match rgb {
        Some(rgb) if rgb.pixels().any(|p| p.0[0] != p.0[1] || p.0[1] != p.0[2]) => {
            rgb.write_with_encoder(encoder)?
        }
        _ => page.to_luma8().write_with_encoder(encoder)?,
    }
    Ok(out)
}

/// A Textract box as fractions of the page, clamped to it; `None` when incomplete or
/// entirely outside.
fn bounding_box(b: &tx::BoundingBox) -> Option<BoundingBox> {
    let (left, top) = (f64::from(b.left()), f64::from(b.top()));
    let (width, height) = (f64::from(b.width()), f64::from(b.height()));
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
