//! The chapters port: a transcript in, conversation chapters out (a generative model's
//! reading of where the topic changes). AWS: Amazon Bedrock; no local backend.

use async_trait::async_trait;
use mediasift_kit::ports::Retryable;
use serde::{Deserialize, Serialize};

use crate::speech::Transcript;

#[cfg(feature = "aws")]
pub mod bedrock;
#[cfg(feature = "aws")]
pub use bedrock::{BedrockChapters, BedrockConfig};

/// One chapter of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chapter {
    /// Seconds from the start; chapters are in order, do not overlap, and start and end on
    /// word boundaries of the transcript.
    pub start: f64,
    pub end: f64,
    /// A short title (a few words).
    pub title: String,
    /// One or two sentences.
    pub summary: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChaptersError {
    /// Throttling, a timeout, a service hiccup: retry the event.
    #[error("chapters backend unavailable: {0}")]
    Unavailable(String),
    /// The model's answer could not be used after the retries (malformed JSON, chapters out
    /// of order): reported in the results, the asset is not failed.
    #[error("{0}")]
    Unusable(String),
    /// Permissions, a model not enabled in the account, a bad request.
    #[error("{0}")]
    Failed(String),
}

impl Retryable for ChaptersError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

#[async_trait]
pub trait ChaptersBackend: Send + Sync {
    /// The engine as results report it (e.g. `amazon-bedrock <model id>`).
    fn engine(&self) -> String;
    async fn chapters(&self, transcript: &Transcript) -> Result<Vec<Chapter>, ChaptersError>;
}
