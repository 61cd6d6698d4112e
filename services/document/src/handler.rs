//! `Document Ingested` → `Document Analysis Completed`.
//!
//! The source PDF is read again (ingest keeps only its facts and page previews):
//!
//! 1. **Password.** An encrypted PDF opens with the `pdfPassword` of the asset's own options
//!    (`x-amz-meta-mediasift-options: {"pdfPassword": "…"}` on the upload; locally
//!    `mediasift run --options`). The password is read from the source object's metadata
//!    here and never travels in an event. Without it, or with a wrong one, the result says
//!    the document is encrypted and why its text was not read; that is a result, not a
//!    failure.
//! 2. **Text, page by page, in reading order.** The text layer (poppler's `pdftotext`, one run
//!    for the whole document, its pages split at form feeds) where a page has one; OCR of the
//!    page rendered at the OCR backend's resolution (300 dpi) where it has none (local:
//!    tesseract; AWS: Textract `DetectDocumentText`, synchronous, one call per page). At most
//!    [`DocumentConfig::max_ocr_pages`] pages are OCRed; the rest are listed as not read.
//! 3. **Language**: keyphrases and entities of the whole document and of every page through
//!    the language port, in the `language` option's language (English when unset).
//!
//! Results under `<assetId>/document/`: `pages.json` (per page: where its text came from, the
//! text, its words, and for OCR the engine, confidence and lines with boxes), `text.txt` (the
//! pages' text, a form feed between pages, as `pdftotext` writes it), `keyphrases.json`,
//! `entities.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use mediasift_kit::handler::{caused_by, decode};
use mediasift_kit::language::{LanguageBackend, LanguageError, LocalLanguage};
use mediasift_kit::ports::split_s3_uri;
use mediasift_kit::{AssetWork, Handler, HandlerError, Ports, Subscriptions};
use mediasift_media::pdf::{self, PdfError};
use mediasift_schemas::{
    AnalysisKind, DocumentAnalysisCompleted, DocumentAnalysisSummary, DocumentIngested,
    EventDetail, RawEvent, ResultRef, SkippedFeature, sources,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::SERVICE;
use crate::ocr::{OcrBackend, OcrError, PageText, TesseractOcr};

const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");
const NO_LOCAL_BACKEND: &str = "no local backend";
const TURNED_OFF: &str = "turned off in options";
pub use mediasift_schemas::{OPTIONS_METADATA, PDF_PASSWORD_OPTION as PASSWORD_OPTION};
/// The language analysed when the options name none.
const DEFAULT_LANGUAGE: &str = "en";
const TEXT_LAYER_ENGINE: &str = "poppler pdftotext";

#[derive(Debug, Clone)]
pub struct DocumentConfig {
    /// Where the source is copied and pages are rendered.
    pub scratch_dir: PathBuf,
    /// Pages without a text layer beyond this many are not OCRed (they are listed).
    pub max_ocr_pages: u32,
}

impl Default for DocumentConfig {
    fn default() -> Self {
        Self {
            scratch_dir: std::env::temp_dir(),
            max_ocr_pages: 500,
        }
    }
}

/// The analysis backends.
#[derive(Clone, Default)]
pub struct Backends {
    pub ocr: Option<Arc<dyn OcrBackend>>,
    pub language: Option<Arc<dyn LanguageBackend>>,
}

/// The document service.
pub struct Document {
    config: DocumentConfig,
    backends: Backends,
}

type Asset<'a> = AssetWork<'a>;

impl Document {
    pub fn new(config: DocumentConfig, backends: Backends) -> Self {
        Self { config, backends }
    }

    /// Tesseract OCR and the local language backend (YAKE keyphrases, capitalised entities).
    pub fn local(config: DocumentConfig) -> Self {
        Self::new(
            config,
            Backends {
                ocr: Some(Arc::new(TesseractOcr::new(Duration::from_secs(120)))),
                language: Some(Arc::new(LocalLanguage::new())),
            },
        )
    }
}

#[async_trait]
impl Handler for Document {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn subscriptions(&self) -> Subscriptions {
        crate::subscriptions()
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        match (event.source.as_str(), event.detail_type.as_str()) {
            (sources::INGEST, DocumentIngested::DETAIL_TYPE) => self.ingested(event, ports).await,
            (source, detail_type) => {
                tracing::debug!(source, detail_type, "not an event document handles");
                Ok(Vec::new())
            }
        }
    }
}

/// A page's OCR: its text, or why this page could not be read (the others go on); or the
/// error that stops the whole event.
type PageOutcome = Result<Result<PageText, String>, HandlerError>;

/// Where a page's text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
enum TextSource {
    TextLayer,
    Ocr,
    /// No text layer and not OCRed (no backend, past the page limit, or unreadable).
    None,
}

/// One page as stored in `pages.json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    page: u32,
    source: TextSource,
    text: String,
    words: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    ocr: Option<PageText>,
    /// Why the page has no text although it has no text layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

impl Document {
    async fn ingested(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let ingested = decode::<DocumentIngested>(event)?.detail;
        let asset = AssetWork::new(
            ports,
            event,
            ingested.asset_id,
            SERVICE,
            sources::DOCUMENT,
            AnalysisKind::Document,
        );
        let plan = &ingested.plan;
        tracing::info!(asset_id = %asset.id, source = ingested.source.uri, "analysing document");
        let mut results = Vec::new();
        let mut skipped = Vec::new();

        let password = self.password(&asset, &ingested.source.uri).await?;
        let scratch = self.scratch()?;
        let source = scratch.path().join("source.pdf");
        asset
            .download("source", &ingested.source.uri, &source)
            .await?;

        let facts = match pdf::inspect_with_password(&source, password.as_deref()).await {
            Ok(facts) => Ok(facts),
            Err(PdfError::WrongPassword { .. }) => Err(format!(
                "the document is encrypted and the {PASSWORD_OPTION} in the asset's options does \
                 not open it (passwords are case-sensitive); upload it again with the right one"
            )),
            Err(error) => return Err(pdf_failure(&asset, error)),
        };
        let facts = match facts {
            Ok(facts) if !facts.needs_password => facts,
            other => {
                let reason = other.err().unwrap_or_else(|| {
                    format!(
                        "the document is encrypted: give its password as {PASSWORD_OPTION} in \
                         the asset's options (x-amz-meta-{OPTIONS_METADATA}) and upload it again"
                    )
                });
                for feature in ["text", "ocr", "keyphrases", "entities"] {
                    skipped.push(SkippedFeature::new(feature, &reason));
                }
                let summary = DocumentAnalysisSummary {
                    pages: ingested.technical.pages.unwrap_or(0),
                    ocr_pages: 0,
                    words: 0,
                    encrypted: true,
                };
                return Ok(vec![
                    self.completed(&asset, &ingested, summary, results, skipped),
                ]);
            }
        };

        // Text, page by page: the text layer, else OCR (pages read `concurrency()` at once).
        let layers = pdf::page_texts(&source, password.as_deref())
            .await
            .map_err(|e| pdf_failure(&asset, e))?;
        let without_layer: Vec<u32> = (1..=layers.len() as u32)
            .filter(|n| layers[*n as usize - 1].trim().is_empty())
            .collect();
        let ocr = self
            .backends
            .ocr
            .as_ref()
            .filter(|_| plan.options.vision.text);
        let mut read: BTreeMap<u32, Result<PageText, String>> = BTreeMap::new();
        if let Some(ocr) = ocr {
            let wanted = without_layer
                .iter()
                .copied()
                .take(self.config.max_ocr_pages as usize);
            let outcomes: Vec<(u32, PageOutcome)> = futures::stream::iter(wanted)
                .map(|page| {
                    let (asset, source, password, scratch) = (&asset, &source, &password, &scratch);
                    async move {
                        let outcome = self
                            .ocr_page(asset, ocr.as_ref(), source, page, password, scratch)
                            .await;
                        (page, outcome)
                    }
                })
                .buffered(ocr.concurrency().max(1))
                .collect()
                .await;
            for (page, outcome) in outcomes {
                read.insert(page, outcome?);
            }
        }
        let mut pages = Vec::with_capacity(layers.len());
        for (index, layer) in layers.into_iter().enumerate() {
            let number = index as u32 + 1;
            let page = if !layer.trim().is_empty() {
                Page {
                    page: number,
                    source: TextSource::TextLayer,
                    words: count_words(&layer),
                    text: layer,
                    ocr: None,
                    note: None,
                }
            } else {
                let note = match read.remove(&number) {
                    Some(Ok(text)) => {
                        pages.push(Page {
                            page: number,
                            source: TextSource::Ocr,
                            words: count_words(&text.text),
                            text: text.text.clone(),
                            ocr: Some(text),
                            note: None,
                        });
                        continue;
                    }
                    Some(Err(note)) => note,
                    None if self.backends.ocr.is_none() => {
                        format!("no text layer; OCR: {NO_LOCAL_BACKEND}")
                    }
                    None if !plan.options.vision.text => {
                        format!("no text layer; OCR {TURNED_OFF} (vision.text)")
                    }
                    None => format!(
                        "no text layer; past the {} pages OCRed per document",
                        self.config.max_ocr_pages
                    ),
                };
                Page {
                    page: number,
                    source: TextSource::None,
                    text: String::new(),
                    words: 0,
                    ocr: None,
                    note: Some(note),
                }
            };
            pages.push(page);
        }
        let ocr_pages = pages.iter().filter(|p| p.source == TextSource::Ocr).count() as u32;
        let ocr_engine = ocr.map(|o| o.engine());
        if pages.iter().any(|p| p.source == TextSource::None) {
            if self.backends.ocr.is_none() {
                skipped.push(SkippedFeature::new("ocr", NO_LOCAL_BACKEND));
            } else if !plan.options.vision.text {
                skipped.push(SkippedFeature::new("ocr", TURNED_OFF));
            }
        }
        let words: u32 = pages.iter().map(|p| p.words).sum();
        let engine = match &ocr_engine {
            Some(ocr) if ocr_pages > 0 => format!("{TEXT_LAYER_ENGINE}; {ocr}"),
            _ => TEXT_LAYER_ENGINE.to_owned(),
        };
        let uri = asset
            .put_json(
                "pages.json",
                &json!({
                    "pages": &pages,
                    "pageCount": pages.len(),
                    "ocrPages": ocr_pages,
                    "words": words,
                    "encrypted": facts.encrypted,
                }),
            )
            .await?;
        results.push(ResultRef::new("pages", uri, &engine));
        let text = pages
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\u{c}");
        let uri = asset
            .put("text.txt", text.into_bytes(), "text/plain; charset=utf-8")
            .await?;
        results.push(ResultRef::new("text", uri, &engine));

        // Language.
        let language = plan
            .options
            .language
            .clone()
            .unwrap_or_else(|| DEFAULT_LANGUAGE.into());
        match (&self.backends.language, plan.options.language_analysis) {
            (_, false) => {
                skipped.push(SkippedFeature::new("keyphrases", TURNED_OFF));
                skipped.push(SkippedFeature::new("entities", TURNED_OFF));
            }
            (None, true) => {
                skipped.push(SkippedFeature::new("keyphrases", NO_LOCAL_BACKEND));
                skipped.push(SkippedFeature::new("entities", NO_LOCAL_BACKEND));
            }
            (Some(_), true) if words == 0 => {
                skipped.push(SkippedFeature::new(
                    "keyphrases",
                    "the document has no text",
                ));
                skipped.push(SkippedFeature::new("entities", "the document has no text"));
            }
            (Some(backend), true) => {
                let mut documents = vec![
                    pages
                        .iter()
                        .map(|p| p.text.as_str())
                        .collect::<Vec<_>>()
                        .join("\n\n"),
                ];
                documents.extend(pages.iter().map(|p| p.text.clone()));
                match backend.analyse(&documents, &language).await {
                    Ok(found) => {
                        let engine = backend.engine();
                        for name in ["keyphrases", "entities"] {
                            let per_page: Vec<Value> = found
                                .iter()
                                .skip(1)
                                .zip(&pages)
                                .map(
                                    |(f, p)| json!({"page": p.page, name: language_field(f, name)}),
                                )
                                .collect();
                            let document = found
                                .first()
                                .map(|f| language_field(f, name))
                                .unwrap_or(Value::Array(Vec::new()));
                            let uri = asset
                                .put_json(
                                    &format!("{name}.json"),
                                    &json!({
                                        "engine": engine,
                                        "language": language,
                                        "document": document,
                                        "pages": per_page,
                                    }),
                                )
                                .await?;
                            results.push(ResultRef::new(name, uri, &engine));
                        }
                    }
                    Err(LanguageError::Unavailable(message)) => {
                        return Err(HandlerError::retryable(format!(
                            "{}: {message}",
                            backend.engine()
                        )));
                    }
                    Err(error) => {
                        skipped.push(SkippedFeature::new("keyphrases", error.to_string()));
                        skipped.push(SkippedFeature::new("entities", error.to_string()));
                    }
                }
            }
        }

        let summary = DocumentAnalysisSummary {
            pages: pages.len() as u32,
            ocr_pages,
            words,
            encrypted: facts.encrypted,
        };
        Ok(vec![
            self.completed(&asset, &ingested, summary, results, skipped),
        ])
    }

    /// OCR of one page: `Ok(Err(note))` when this page cannot be read (the others go on).
    async fn ocr_page(
        &self,
        asset: &Asset<'_>,
        ocr: &dyn OcrBackend,
        source: &Path,
        page: u32,
        password: &Option<String>,
        scratch: &tempfile::TempDir,
    ) -> PageOutcome {
        let out = scratch.path().join(format!("page-{page}"));
        tokio::fs::create_dir_all(&out)
            .await
            .map_err(|e| HandlerError::retryable(format!("scratch folder: {e}")))?;
        let image = pdf::render_page(source, page, ocr.dpi(), password.as_deref(), &out)
            .await
            .map_err(|e| pdf_failure(asset, e))?;
        let read = ocr.recognise(&image).await;
        tokio::fs::remove_dir_all(&out).await.ok();
        match read {
            Ok(text) => Ok(Ok(text)),
            Err(OcrError::Page(message)) => {
                tracing::warn!(asset_id = %asset.id, page, %message, "page not OCRed");
                Ok(Err(format!("no text layer; OCR: {message}")))
            }
            Err(OcrError::Unavailable(message)) => Err(HandlerError::retryable(format!(
                "OCR of page {page}: {message}"
            ))),
            Err(OcrError::Tool(tool)) => Err(asset.tool_failure(
                &format!("OCR of page {page}"),
                &tool,
                "Check the PDF opens in a viewer; upload it again if it is damaged.",
            )),
            Err(other) => Err(asset.fail(
                "OcrFailed",
                format!("OCR of page {page} by {}: {other}", ocr.engine()),
                "Check the OCR backend's installation and permissions, then retry the event from \
                 the dead-letter queue.",
            )),
        }
    }

    /// The `pdfPassword` of the asset's own options, from the source object's metadata.
    async fn password(
        &self,
        asset: &Asset<'_>,
        source_uri: &str,
    ) -> Result<Option<String>, HandlerError> {
        let Some((bucket, key)) = split_s3_uri(source_uri) else {
            return Err(asset.fail(
                "MalformedEvent",
                format!("the source {source_uri:?} is not an s3:// URI"),
                "Only mediasift's ingest publishes this event; check for another publisher.",
            ));
        };
        let meta = asset
            .ports
            .objects
            .head(bucket, key)
            .await
            .map_err(|e| asset.store_error(e))?;
        Ok(meta
            .user_metadata
            .get(OPTIONS_METADATA)
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .and_then(|options| {
                options
                    .get(PASSWORD_OPTION)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }))
    }

    fn completed(
        &self,
        asset: &Asset<'_>,
        ingested: &DocumentIngested,
        summary: DocumentAnalysisSummary,
        results: Vec<ResultRef>,
        skipped: Vec<SkippedFeature>,
    ) -> RawEvent {
        tracing::info!(asset_id = %asset.id, ?summary, "document analysed");
        asset.emit(DocumentAnalysisCompleted {
            asset_id: asset.id,
            schema_version: DocumentAnalysisCompleted::SCHEMA_VERSION.into(),
            metadata: caused_by(asset.cause, SERVICE, PRODUCER_VERSION),
            plan: ingested.plan.clone(),
            summary,
            results,
            skipped,
        })
    }

    fn scratch(&self) -> Result<tempfile::TempDir, HandlerError> {
        mediasift_kit::work::scratch_dir(&self.config.scratch_dir, "document-")
    }
}

fn language_field(found: &mediasift_kit::language::DocumentLanguage, name: &str) -> Value {
    let value = match name {
        "keyphrases" => serde_json::to_value(&found.keyphrases),
        _ => serde_json::to_value(&found.entities),
    };
    value.unwrap_or(Value::Array(Vec::new()))
}

fn count_words(text: &str) -> u32 {
    text.split_whitespace().count() as u32
}

fn pdf_failure(asset: &Asset<'_>, error: PdfError) -> HandlerError {
    match &error {
        PdfError::Tool { source, .. } => asset.tool_failure(
            "poppler",
            source,
            "Check the PDF opens in a viewer; upload it again if it is damaged.",
        ),
        PdfError::Io { .. } => HandlerError::retryable(error.to_string()),
        _ => asset.fail(
            "CorruptMedia",
            error.to_string(),
            "The PDF is probably truncated or damaged: open it in a viewer, save a repaired copy \
             and upload it again.",
        ),
    }
}
