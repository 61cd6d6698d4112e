//! Amazon Comprehend as the language backend (feature `comprehend`), engine `amazon-comprehend`.
//!
//! # Calls
//!
//! The documents (one per one-minute window of the transcript) go in batches of
//! [`MAX_BATCH_DOCUMENTS`] to `BatchDetectKeyPhrases`, `BatchDetectEntities` and
//! `BatchDetectSentiment`; every call is synchronous, nothing is polled. Results are placed by
//! the `Index` Comprehend reports, so their order in its answer does not matter.
//!
//! - Empty (or blank) documents are not sent: their results are empty, in their place.
//! - A document is cut to at most [`MAX_DOCUMENT_BYTES`] bytes of UTF-8 (the batch APIs take
//!   at most 5 KB per document; older references say "fewer than 5,000 bytes") at a character
//!   boundary, after its leading and trailing whitespace is dropped. One minute of speech is
//!   about 1 KB, so this only guards against odd input.
//! - The language: BCP-47 (`en-US`) or ISO 639-1 (`en`) onto Comprehend's codes `en`, `es`,
//!   `fr`, `de`, `it`, `pt`, `ar`, `hi`, `ja`, `ko`, `zh` and `zh-TW` (`zh-TW`, `zh-HK`,
//!   `zh-MO` and `zh-Hant` are Traditional Chinese, `zh-TW`; other `zh` tags are `zh`). Any
//!   other language is [`LanguageError::UnsupportedLanguage`] before a call is made.
//! - Scores are Comprehend's confidences (0–1); entities are Comprehend's mentions as it
//!   returns them (one per occurrence), keyphrases likewise.
//!
//! # Per-document errors
//!
//! A batch call can succeed while some of its documents fail (its `ErrorList`). The failed
//! documents, and any document the answer left out, are sent again once, together, in one
//! more call of the same API. A document that fails again makes the analysis fail: with
//! [`LanguageError::Unavailable`] when Comprehend's error code says it was internal,
//! throttling or a timeout (the event is retried later), else with [`LanguageError::Failed`]
//! naming the document, the API and Comprehend's code and message. No document's result is
//! dropped silently.
//!
//! # Throttling and errors
//!
//! The client retries throttling, 5xx and connection failures itself (standard retry mode:
//! [`ComprehendConfig::max_attempts`] attempts with exponential backoff and full jitter); at
//! most [`ComprehendConfig::concurrency`] calls are in flight at once. What is left after the
//! retries is classified by the kit's [`Fault`]: transient → [`LanguageError::Unavailable`];
//! `UnsupportedLanguageException` → [`LanguageError::UnsupportedLanguage`]; the rest (access
//! denied, a refused request, no credentials) → [`LanguageError::Failed`] with what to do.

use std::error::Error as StdError;
use std::time::Duration;

use crate::aws::{Fault, is_transient_code};
use async_trait::async_trait;
use aws_sdk_comprehend::Client;
use aws_sdk_comprehend::config::retry::RetryConfig;
use aws_sdk_comprehend::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_comprehend::types::{self as cp, LanguageCode};
use futures::{StreamExt, TryStreamExt};

use super::{DocumentLanguage, Entity, Keyphrase, LanguageBackend, LanguageError, Sentiment};

/// The engine's name as results report it.
pub const ENGINE: &str = "amazon-comprehend";
/// Documents per batch call (Comprehend's limit).
pub const MAX_BATCH_DOCUMENTS: usize = 25;
/// The most bytes of UTF-8 sent per document (Comprehend's limit for the batch APIs).
pub const MAX_DOCUMENT_BYTES: usize = 5_000;
/// Calls in flight at once, by default: one batch's three APIs (Comprehend's default quotas
/// for the batch APIs are a few requests per second per API).
pub const DEFAULT_CONCURRENCY: usize = 3;
/// Attempts per call, by default, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// The first retry's backoff ceiling; each further retry doubles it (up to
/// [`MAX_BACKOFF`]), and the wait is drawn at random below it (full jitter).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// How the Comprehend backend works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComprehendConfig {
    /// Attempts per call (throttling, 5xx, connection failures), the first included.
    pub max_attempts: u32,
    /// Calls in flight at once (at least 1).
    pub concurrency: usize,
    /// The first retry's backoff ceiling (tests shorten it).
    pub initial_backoff: Duration,
}

impl Default for ComprehendConfig {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            concurrency: DEFAULT_CONCURRENCY,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
        }
    }
}

impl ComprehendConfig {
    /// The client's retry policy: standard mode, exponential backoff with full jitter.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(MAX_BACKOFF.max(self.initial_backoff))
    }
}

/// Amazon Comprehend as a [`LanguageBackend`] (see the module's documentation).
pub struct ComprehendLanguage {
    client: Client,
    config: ComprehendConfig,
}

impl std::fmt::Debug for ComprehendLanguage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComprehendLanguage")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ComprehendLanguage {
    /// A backend on a client built from `sdk` (region and credentials as loaded once per
    /// process), with `config`'s retry policy.
    pub fn new(sdk: &aws_config::SdkConfig, config: ComprehendConfig) -> Self {
        Self::with_client_config(aws_sdk_comprehend::config::Builder::from(sdk), config)
    }

    /// A backend on a client built from `builder` (tests add an HTTP client or interceptors),
    /// with `config`'s retry policy.
    pub fn with_client_config(
        builder: aws_sdk_comprehend::config::Builder,
        config: ComprehendConfig,
    ) -> Self {
        let client = Client::from_conf(builder.retry_config(config.retry_config()).build());
        Self::from_client(client, config)
    }

    /// A backend on a client as it is (its own retry policy).
    pub fn from_client(client: Client, config: ComprehendConfig) -> Self {
        Self { client, config }
    }

    pub fn config(&self) -> &ComprehendConfig {
        &self.config
    }

    fn error<E>(&self, operation: &str, err: &SdkError<E>) -> LanguageError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        classify(
            &Fault::of(operation, err),
            operation,
            self.config.max_attempts,
        )
    }

    /// One API on one batch (`(document index, text)`), with the one retry of failed
    /// documents; each result with its document's index.
    async fn call(
        &self,
        api: Api,
        language: &LanguageCode,
        batch: &[(usize, String)],
    ) -> Result<Vec<(usize, Part)>, LanguageError> {
        let mut parts: Vec<Option<Part>> = vec![None; batch.len()];
        // Positions in `batch` still without a result, and why.
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        let mut failures: Vec<(usize, ItemError)> = Vec::new();
        for round in 0..2 {
            let texts: Vec<String> = pending.iter().map(|&p| batch[p].1.clone()).collect();
            let answer = self.send(api, language, texts).await?;
            for (index, part) in answer.results {
                if let Some(&position) = pending.get(index) {
                    parts[position] = Some(part);
                }
            }
            failures = answer
                .errors
                .into_iter()
                .filter_map(|(index, error)| pending.get(index).map(|&p| (p, error)))
                .collect();
            pending.retain(|&p| parts[p].is_none());
            if pending.is_empty() || round == 1 {
                break;
            }
            tracing::debug!(
                api = api.name(),
                failed = pending.len(),
                "Comprehend failed some documents of a batch; sending them again once"
            );
        }
        if let Some(&position) = pending.first() {
            let document = batch[position].0;
            let error = failures
                .iter()
                .find(|(p, _)| *p == position)
                .map(|(_, e)| e.clone())
                .unwrap_or_else(|| ItemError {
                    code: String::new(),
                    message: "Comprehend's answer had no result for it".into(),
                });
            return Err(item_failure(api, document, &error, pending.len()));
        }
        Ok(batch
            .iter()
            .zip(parts)
            .filter_map(|((document, _), part)| part.map(|part| (*document, part)))
            .collect())
    }

    async fn send(
        &self,
        api: Api,
        language: &LanguageCode,
        texts: Vec<String>,
    ) -> Result<Answer, LanguageError> {
        let name = api.name();
        let mut answer = Answer::default();
        match api {
            Api::KeyPhrases => {
                let output = self
                    .client
                    .batch_detect_key_phrases()
                    .language_code(language.clone())
                    .set_text_list(Some(texts))
                    .send()
                    .await
                    .map_err(|e| self.error(name, &e))?;
                for item in output.result_list() {
                    let phrases = item.key_phrases().iter().filter_map(keyphrase).collect();
                    answer.push(item.index(), Part::KeyPhrases(phrases));
                }
                answer.errors = item_errors(output.error_list());
            }
            Api::Entities => {
                let output = self
                    .client
                    .batch_detect_entities()
                    .language_code(language.clone())
                    .set_text_list(Some(texts))
                    .send()
                    .await
                    .map_err(|e| self.error(name, &e))?;
                for item in output.result_list() {
                    let entities = item.entities().iter().filter_map(entity).collect();
                    answer.push(item.index(), Part::Entities(entities));
                }
                answer.errors = item_errors(output.error_list());
            }
            Api::Sentiment => {
                let output = self
                    .client
                    .batch_detect_sentiment()
                    .language_code(language.clone())
                    .set_text_list(Some(texts))
                    .send()
                    .await
                    .map_err(|e| self.error(name, &e))?;
                for item in output.result_list() {
                    answer.push(item.index(), Part::Sentiment(sentiment(item)));
                }
                answer.errors = item_errors(output.error_list());
            }
        }
        Ok(answer)
    }
}

#[async_trait]
impl LanguageBackend for ComprehendLanguage {
    fn engine(&self) -> String {
        ENGINE.to_owned()
    }

    async fn analyse(
        &self,
        documents: &[String],
        language: &str,
    ) -> Result<Vec<DocumentLanguage>, LanguageError> {
        let code = language_code(language).ok_or_else(|| {
            LanguageError::UnsupportedLanguage(format!(
                "Amazon Comprehend does not support {}",
                if language.trim().is_empty() {
                    "an unknown language"
                } else {
                    language
                }
            ))
        })?;
        let mut results = vec![DocumentLanguage::default(); documents.len()];
        let sendable: Vec<(usize, String)> = documents
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.trim().is_empty())
            .map(|(i, d)| (i, truncate_utf8(d.trim(), MAX_DOCUMENT_BYTES).to_owned()))
            .collect();
        if sendable.is_empty() {
            return Ok(results);
        }
        let batches: Vec<&[(usize, String)]> = sendable.chunks(MAX_BATCH_DOCUMENTS).collect();
        tracing::debug!(
            documents = sendable.len(),
            batches = batches.len(),
            "analysing the transcript with Comprehend"
        );
        // The calls are made before they are streamed: a stream mapping borrowed batches
        // through a closure is not `Send` enough for the trait's boxed future.
        let calls: Vec<_> = batches
            .iter()
            .flat_map(|batch| Api::ALL.map(|api| (api, *batch)))
            .map(|(api, batch)| self.call(api, &code, batch))
            .collect();
        let answers: Vec<Vec<(usize, Part)>> = futures::stream::iter(calls)
            .buffer_unordered(self.config.concurrency.max(1))
            .try_collect()
            .await?;
        for (document, part) in answers.into_iter().flatten() {
            let result = &mut results[document];
            match part {
                Part::KeyPhrases(phrases) => result.keyphrases = phrases,
                Part::Entities(entities) => result.entities = entities,
                Part::Sentiment(sentiment) => result.sentiment = Some(sentiment),
            }
        }
        Ok(results)
    }
}

/// The three batch APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    KeyPhrases,
    Entities,
    Sentiment,
}

impl Api {
    const ALL: [Api; 3] = [Api::KeyPhrases, Api::Entities, Api::Sentiment];

    fn name(self) -> &'static str {
        match self {
            Api::KeyPhrases => "BatchDetectKeyPhrases",
            Api::Entities => "BatchDetectEntities",
            Api::Sentiment => "BatchDetectSentiment",
        }
    }
}

/// What one API found in one document.
#[derive(Debug, Clone)]
enum Part {
    KeyPhrases(Vec<Keyphrase>),
    Entities(Vec<Entity>),
    Sentiment(Sentiment),
}

#[derive(Debug, Clone)]
struct ItemError {
    code: String,
    message: String,
}

/// One batch call's answer, by index in its text list.
#[derive(Debug, Default)]
struct Answer {
    results: Vec<(usize, Part)>,
    errors: Vec<(usize, ItemError)>,
}

impl Answer {
    fn push(&mut self, index: Option<i32>, part: Part) {
        if let Some(index) = index.and_then(|i| usize::try_from(i).ok()) {
            self.results.push((index, part));
        }
    }
}

fn item_errors(errors: &[cp::BatchItemError]) -> Vec<(usize, ItemError)> {
    errors
        .iter()
        .filter_map(|e| {
            let index = usize::try_from(e.index()?).ok()?;
            Some((
                index,
                ItemError {
                    code: e.error_code().unwrap_or_default().to_owned(),
                    message: e.error_message().unwrap_or_default().to_owned(),
                },
            ))
        })
        .collect()
}

/// Whether a per-document error code names a condition that retrying later can clear.
fn item_error_is_transient(code: &str) -> bool {
    let upper = code.to_ascii_uppercase();
    is_transient_code(code)
        || ["INTERNAL", "THROTTL", "UNAVAILABLE", "TIMEOUT", "TIMED_OUT"]
            .iter()
            .any(|word| upper.contains(word))
}

fn item_failure(api: Api, document: usize, error: &ItemError, failed: usize) -> LanguageError {
    let code = if error.code.is_empty() {
        "no error code"
    } else {
        &error.code
    };
    let others = match failed {
        1 => String::new(),
        n => format!(" (and {} more of the batch)", n - 1),
    };
    let what = format!(
        "Comprehend {} failed document {document} (counting from 0){others} twice: {code}: {}",
        api.name(),
        error.message
    );
    if item_error_is_transient(&error.code) {
        LanguageError::Unavailable(format!("{what}; the event will be retried"))
    } else {
        LanguageError::Failed(what)
    }
}

fn keyphrase(phrase: &cp::KeyPhrase) -> Option<Keyphrase> {
    let text = phrase.text().filter(|t| !t.trim().is_empty())?;
    Some(Keyphrase {
        text: text.to_owned(),
        score: f64::from(phrase.score().unwrap_or(0.0)),
    })
}

fn entity(entity: &cp::Entity) -> Option<Entity> {
    let text = entity.text().filter(|t| !t.trim().is_empty())?;
    Some(Entity {
        text: text.to_owned(),
        kind: entity
            .r#type()
            .map_or("OTHER", |kind| kind.as_str())
            .to_owned(),
        score: f64::from(entity.score().unwrap_or(0.0)),
    })
}

fn sentiment(item: &cp::BatchDetectSentimentItemResult) -> Sentiment {
    let score = item.sentiment_score();
    let get =
        |f: fn(&cp::SentimentScore) -> Option<f32>| f64::from(score.and_then(f).unwrap_or(0.0));
    Sentiment {
        label: item
            .sentiment()
            .map_or("NEUTRAL", |s| s.as_str())
            .to_owned(),
        positive: get(cp::SentimentScore::positive),
        negative: get(cp::SentimentScore::negative),
        neutral: get(cp::SentimentScore::neutral),
        mixed: get(cp::SentimentScore::mixed),
    }
}

/// Comprehend's language code for a BCP-47 tag or ISO 639-1 code (see the module's
/// documentation); `None` when Comprehend does not analyse the language.
pub fn language_code(language: &str) -> Option<LanguageCode> {
    let tag = language.trim().replace('_', "-").to_ascii_lowercase();
    let mut subtags = tag.split('-');
    let primary = subtags.next()?;
    let rest: Vec<&str> = subtags.collect();
    Some(match primary {
        "en" => LanguageCode::En,
        "es" => LanguageCode::Es,
        "fr" => LanguageCode::Fr,
        "de" => LanguageCode::De,
        "it" => LanguageCode::It,
        "pt" => LanguageCode::Pt,
        "ar" => LanguageCode::Ar,
        "hi" => LanguageCode::Hi,
        "ja" => LanguageCode::Ja,
        "ko" => LanguageCode::Ko,
        "zh" => {
            let traditional = !rest.contains(&"hans")
                && rest
                    .iter()
                    .any(|s| matches!(*s, "tw" | "hk" | "mo" | "hant"));
            if traditional {
                LanguageCode::ZhTw
            } else {
                LanguageCode::Zh
            }
        }
        _ => return None,
    })
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends at a character
/// boundary.
pub fn truncate_utf8(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What a Comprehend failure left after the client's retries means for the analysis.
pub fn classify(fault: &Fault, operation: &str, attempts: u32) -> LanguageError {
    let message = &fault.message;
    if fault.transient {
        return LanguageError::Unavailable(format!(
            "Comprehend is throttled or unavailable after {attempts} attempts with backoff \
             ({message}); the event will be retried. If this lasts, lower the language \
             concurrency or ask AWS for a higher Comprehend quota."
        ));
    }
    match fault.code.as_deref() {
        Some("UnsupportedLanguageException") => LanguageError::UnsupportedLanguage(format!(
            "Amazon Comprehend does not support the language for {operation} ({message})"
        )),
        Some(
            "TextSizeLimitExceededException"
            | "BatchSizeLimitExceededException"
            | "InvalidRequestException"
            | "ValidationException",
        ) => LanguageError::Failed(format!("Comprehend refused the documents: {message}")),
        Some("AccessDeniedException") => LanguageError::Failed(format!(
            "Comprehend refused {operation} ({message}). Allow the audio function's role \
             comprehend:{operation}."
        )),
        Some(_) => LanguageError::Failed(format!("Comprehend {operation} failed: {message}")),
        None => LanguageError::Failed(format!(
            "could not make the Comprehend {operation} request ({message}). Check the \
             function's AWS region and credentials."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes() {
        for (tag, code) in [
            ("en", LanguageCode::En),
            ("en-US", LanguageCode::En),
            ("en_GB", LanguageCode::En),
            ("ES-mx", LanguageCode::Es),
            ("pt-BR", LanguageCode::Pt),
            ("zh", LanguageCode::Zh),
            ("zh-CN", LanguageCode::Zh),
            ("zh-Hans-HK", LanguageCode::Zh),
            ("zh-TW", LanguageCode::ZhTw),
            ("zh-Hant", LanguageCode::ZhTw),
            ("zh-HK", LanguageCode::ZhTw),
            ("ja-JP", LanguageCode::Ja),
        ] {
            assert_eq!(language_code(tag), Some(code), "{tag}");
        }
        for tag in ["", "nl-NL", "ru", "sv-SE", "english", "e"] {
            assert_eq!(language_code(tag), None, "{tag}");
        }
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate_utf8("abc", 5), "abc");
        assert_eq!(truncate_utf8("abcdef", 5), "abcde");
        // 'é' is 2 bytes: 4 fit, not 5.
        assert_eq!(truncate_utf8("ééé", 5), "éé");
        // '日' is 3 bytes.
        assert_eq!(truncate_utf8("日本語", 8), "日本");
        assert_eq!(truncate_utf8("日本語", 2), "");
    }

    #[test]
    fn per_document_error_codes() {
        assert!(item_error_is_transient("InternalServerException"));
        assert!(item_error_is_transient("INTERNAL_SERVER_ERROR"));
        assert!(item_error_is_transient("ThrottlingException"));
        assert!(!item_error_is_transient("TextSizeLimitExceededException"));
        assert!(!item_error_is_transient("INVALID_REQUEST"));
        assert!(!item_error_is_transient(""));
    }
}
