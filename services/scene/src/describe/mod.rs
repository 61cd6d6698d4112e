//! The scene description port: a grid of the scene's frames and its dialogue in, a
//! generative model's reading of the scene out (a description, IAB categories of tier 1 and
//! deeper, GARM brand-safety risk, sentiment, brands and logos seen). AWS: Amazon Bedrock
//! ([`bedrock`], feature `aws`); no local backend.

use async_trait::async_trait;
use mediasift_kit::ports::Retryable;
use serde::{Deserialize, Serialize};

#[cfg(feature = "aws")]
pub mod bedrock;
#[cfg(feature = "aws")]
pub use bedrock::{BedrockSceneDescriber, SceneDescribeConfig};

/// IAB categories in a description: at least 1, at most this many.
pub const MAX_IAB_CATEGORIES: usize = 5;

/// The 11 categories of the GARM (Global Alliance for Responsible Media) Brand Safety Floor +
/// Suitability Framework, as [`GarmRisk::category`] names them.
pub const GARM_CATEGORIES: [&str; 11] = [
    "Adult & Explicit Sexual Content",
    "Arms & Ammunition",
    "Crime & Harmful Acts to Individuals and Society, Human Right Violations",
    "Death, Injury or Military Conflict",
    "Online Piracy",
    "Hate Speech & Acts of Aggression",
    "Obscenity and Profanity, including language, gestures, and explicitly gory, graphic or \
     repulsive content intended to shock and disgust",
    "Illegal Drugs/Tobacco/e-cigarettes/Vaping/Alcohol",
    "Spam or Harmful Content",
    "Terrorism",
    "Debated Sensitive Social Issue",
];

/// [`GarmRisk::risk`]'s values, the most severe first: `floor` (below the brand-safety floor:
/// no advertising at all), then the suitability framework's `high`, `medium` and `low` risk.
pub const GARM_RISKS: [&str; 4] = ["floor", "high", "medium", "low"];

/// The sentiments' names ([`SceneDescription::sentiment`]).
pub const SENTIMENTS: [&str; 4] = ["positive", "negative", "neutral", "mixed"];

/// A scene to describe.
#[derive(Clone, PartialEq)]
pub struct SceneRequest {
    /// A grid of frames from the scene, in time order (JPEG).
    pub grid_jpeg: bytes::Bytes,
    /// Frames in the grid.
    pub frames: u32,
    pub start_seconds: f64,
    pub end_seconds: f64,
    /// The words spoken in the scene (may be empty).
    pub dialogue: String,
    /// Labels the vision backend saw, and on-screen text read (context, may be empty).
    pub labels: Vec<String>,
    pub text: Vec<String>,
}

impl std::fmt::Debug for SceneRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SceneRequest")
            .field("grid_jpeg", &format_args!("{} bytes", self.grid_jpeg.len()))
            .field("frames", &self.frames)
            .field("start_seconds", &self.start_seconds)
            .field("end_seconds", &self.end_seconds)
            .field("dialogue", &self.dialogue)
            .field("labels", &self.labels)
            .field("text", &self.text)
            .finish()
    }
}

/// A category of a taxonomy with the model's own confidence (0–1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoredCategory {
    /// The taxonomy's id of the category, when the model gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The category's full name (tiers joined by ` > `, e.g. `Sports > Soccer`).
    pub name: String,
    pub score: f64,
}

/// What a generative model says about a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SceneDescription {
    /// The engine (e.g. `amazon-bedrock <model id>`).
    pub engine: String,
    /// A few sentences on what happens in the scene.
    pub description: String,
    /// IAB Content Taxonomy 3.0 categories, tier 1 and deeper, best first (1 to
    /// [`MAX_IAB_CATEGORIES`]).
    pub iab: Vec<ScoredCategory>,
    /// GARM brand-safety categories ([`GARM_CATEGORIES`]) the scene touches, with their risk
    /// ([`GARM_RISKS`]), the most severe first; empty when it touches none.
    pub garm: Vec<GarmRisk>,
    /// `positive`, `negative`, `neutral` or `mixed`, with the model's confidence.
    pub sentiment: ScoredCategory,
    /// Brands and logos seen or named, best first (may be empty).
    pub brands: Vec<ScoredCategory>,
}

/// One GARM category and the scene's risk in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GarmRisk {
    pub category: String,
    /// `floor`, `high`, `medium` or `low`.
    pub risk: String,
    pub score: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    /// Throttling, a timeout, a service hiccup: retry the event.
    #[error("scene description backend unavailable: {0}")]
    Unavailable(String),
    /// The model's answers could not be used: reported in `skipped`, the scenes still go out.
    #[error("{0}")]
    Unusable(String),
    /// Permissions, a model not enabled in the account, a request refused, a frame grid that
    /// cannot be read: reported in `skipped` with the action.
    #[error("{0}")]
    Failed(String),
}

impl Retryable for DescribeError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

#[async_trait]
pub trait SceneDescriber: Send + Sync {
    /// The engine as results report it (e.g. `amazon-bedrock <model id>`).
    fn engine(&self) -> String;
    async fn describe(&self, request: &SceneRequest) -> Result<SceneDescription, DescribeError>;
}
