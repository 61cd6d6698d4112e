//! The language port: text in (a transcript's 1-minute windows, a document's pages),
//! keyphrases, entities and sentiment out.

#[cfg(feature = "comprehend")]
pub mod comprehend;
pub mod local;

#[cfg(feature = "comprehend")]
pub use comprehend::{ComprehendConfig, ComprehendLanguage};
pub use local::LocalLanguage;

use crate::ports::Retryable;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Keyphrase {
    pub text: String,
    /// 0–1, higher is more relevant (local YAKE scores are inverted into this range).
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub text: String,
    /// Comprehend's types: `PERSON`, `LOCATION`, `ORGANIZATION`, `COMMERCIAL_ITEM`, `EVENT`,
    /// `DATE`, `QUANTITY`, `TITLE`, `OTHER`.
    pub kind: String,
    /// 0–1.
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sentiment {
    /// `POSITIVE`, `NEGATIVE`, `NEUTRAL` or `MIXED`.
    pub label: String,
    pub positive: f64,
    pub negative: f64,
    pub neutral: f64,
    pub mixed: f64,
}

/// What the backend found in one document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentLanguage {
    pub keyphrases: Vec<Keyphrase>,
    pub entities: Vec<Entity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
}

#[derive(Debug, thiserror::Error)]
pub enum LanguageError {
    /// The backend does not handle this language: language analysis is reported skipped
    /// with this reason; the asset is not failed.
    #[error("{0}")]
    UnsupportedLanguage(String),
    #[error("language backend unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

impl Retryable for LanguageError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

#[async_trait]
pub trait LanguageBackend: Send + Sync {
    /// The engine's name as results report it (`mediasift yake+vader`, `amazon-comprehend`).
    fn engine(&self) -> String;
    /// One result per document, in order. `language` is BCP-47 (`en-US`) or ISO 639-1.
    /// Empty documents give empty results.
    async fn analyse(
        &self,
        documents: &[String],
        language: &str,
    ) -> Result<Vec<DocumentLanguage>, LanguageError>;
}
