//! The description port: an image and what is already known about it in, a generative
//! model's description out (a description, alt text, a suggested file name, a guess at the
//! location, five tags), each part with the model's own confidence. AWS: Amazon Bedrock
//! ([`bedrock`], feature `aws`); no local backend.

use async_trait::async_trait;
use mediasift_kit::ports::Retryable;
use mediasift_media::image::Gps;
use serde::{Deserialize, Serialize};

#[cfg(feature = "aws")]
pub mod bedrock;
#[cfg(feature = "aws")]
pub use bedrock::{BedrockDescriber, DescribeConfig};

/// The longest alt text, in characters (screen readers' customary limit).
pub const MAX_ALT_TEXT_CHARS: usize = 125;
/// Tags in a description.
pub const TAGS: usize = 5;

/// A value and the model's own confidence in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scored<T> {
    pub value: T,
    /// From 0 to 1: how sure the model says it is (its own estimate, not a calibrated
    /// probability).
    pub score: f64,
}

/// What a generative model says about an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Description {
    /// A few sentences on what the image shows.
    pub description: Scored<String>,
    /// One line of at most [`MAX_ALT_TEXT_CHARS`] characters, for the `alt` attribute.
    pub alt_text: Scored<String>,
    /// A suggested file name: lowercase words joined by hyphens, then the original file's
    /// extension (lowercased; none when the original has none), e.g.
    /// `beekeeper-opening-a-hive.jpg`.
    pub file_name: Scored<String>,
    /// Where the image was taken, as the model guesses it; `None` when it says it cannot tell.
    pub location: Option<Scored<String>>,
    /// Exactly [`TAGS`] different tags.
    pub tags: Vec<Scored<String>>,
}

/// An image to describe, and what other analyses already know about it (given to the model
/// as context, which it may use or ignore).
#[derive(Clone, PartialEq)]
pub struct DescribeRequest {
    /// The image, auto-oriented (the service's JPEG proxy; any format the `image` crate reads
    /// is accepted).
    pub jpeg: bytes::Bytes,
    /// The original file's name (its extension is the suggested name's).
    pub original_name: String,
    /// People known to be in the image (named by face match, or by the uploader).
    pub people: Vec<String>,
    /// Lines of text read on the image.
    pub text: Vec<String>,
    pub gps: Option<Gps>,
    /// When the image was taken, as the file says it (e.g. `2024-05-12T09:14:03+02:00`).
    pub captured: Option<String>,
}

impl std::fmt::Debug for DescribeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DescribeRequest")
            .field("jpeg", &format_args!("{} bytes", self.jpeg.len()))
            .field("original_name", &self.original_name)
            .field("people", &self.people)
            .field("text", &self.text)
            .field("gps", &self.gps)
            .field("captured", &self.captured)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    /// Throttling, a timeout, a service hiccup: retry the event.
    #[error("description backend unavailable: {0}")]
    Unavailable(String),
    /// The model's answers could not be used (malformed, breaking a rule): reported in the
    /// results, the asset is not failed.
    #[error("{0}")]
    Unusable(String),
    /// Permissions, a model not enabled in the account, a request refused.
    #[error("{0}")]
    Failed(String),
    /// The image could not be read or re-encoded for the model.
    #[error("the image cannot be described: {0}")]
    Image(String),
}

impl Retryable for DescribeError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

#[async_trait]
pub trait Describer: Send + Sync {
    /// The engine as results report it (e.g. `amazon-bedrock <model id>`).
    fn engine(&self) -> String;
    async fn describe(&self, request: &DescribeRequest) -> Result<Description, DescribeError>;
}
