//! The graph service's ports: the graph itself (write and read sides) and the search index.
//! SQLite implements all three locally ([`crate::sqlite`]); Neptune the graph on AWS
//! ([`crate::neptune`], feature `aws`).

use async_trait::async_trait;
use mediasift_kit::ports::Retryable;
use serde::{Deserialize, Serialize};

use crate::model::{Edge, Facts, Vertex, VertexKind};

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Might succeed later (throttling, a store that is down, a concurrent modification).
    #[error("the graph store is unavailable: {0}")]
    Unavailable(String),
    /// Will not succeed as asked (a malformed query, access denied, a corrupt store).
    #[error("the graph store failed: {0}")]
    Failed(String),
}

impl Retryable for GraphError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The write side of the graph.
#[async_trait]
pub trait GraphStore: Send + Sync {
    /// Applies one analysis's facts about one asset: upserts the vertices (a vertex's
    /// properties are merged: new keys added, same keys replaced), removes every edge from the
    /// asset's vertex that the same analysis contributed earlier and `facts` does not list, and
    /// upserts the listed edges (properties replaced). Applying the same facts again changes
    /// nothing.
    async fn apply(&self, facts: &Facts) -> Result<(), GraphError>;

    /// The asset ids (not vertex ids) of assets with this MD5, in no particular order.
    async fn assets_with_checksum(&self, md5: &str) -> Result<Vec<String>, GraphError>;
}

/// One asset's vertex and every edge touching it, each with the vertex at its other end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetGraph {
    pub asset: Vertex,
    pub edges: Vec<Neighbour>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbour {
    pub edge: Edge,
    /// The vertex at the edge's other end.
    pub vertex: Vertex,
}

/// An asset related to another, with what they share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Related {
    pub asset_id: String,
    /// The related asset's name (its source key).
    pub name: String,
    pub score: f64,
    /// Shared vertices, most telling first.
    pub shared: Vec<Shared>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shared {
    pub kind: VertexKind,
    pub id: String,
    pub name: String,
    /// How many assets of the library share it (the more, the less it says).
    pub assets: usize,
    pub weight: f64,
}

/// The weight of sharing one vertex of `kind` that `assets` assets of the library link to:
/// its kind's relatedness, divided by how common it is.
pub fn shared_weight(kind: VertexKind, assets: usize) -> f64 {
    kind.relatedness() / (1.0 + (assets.max(2) as f64 - 1.0).ln())
}

/// Where a person appears.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appearance {
    pub asset_id: String,
    pub asset_name: String,
    /// The person vertex's id (`person:…` or `face:…`) and name.
    pub person_id: String,
    pub person: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Seconds on screen (videos); `None` for an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<f64>,
    /// When on screen, in seconds.
    pub ranges: Vec<(f64, f64)>,
}

/// The read side of the graph.
#[async_trait]
pub trait GraphQueries: Send + Sync {
    /// The asset's vertex and its edges; `None` when the graph has no such asset.
    async fn asset(&self, asset_id: &str) -> Result<Option<AssetGraph>, GraphError>;

    /// Assets sharing vertices (people, labels, keywords, entities, brands, locations,
    /// checksums) with the asset, by the sum of [`shared_weight`] over what they share,
    /// highest first, at most `limit`.
    async fn related(&self, asset_id: &str, limit: usize) -> Result<Vec<Related>, GraphError>;

    /// Where persons appear whose name (case-insensitive, whitespace-collapsed) equals `name`,
    /// or whose vertex id is one of `face_ids` (faces of the collection named `name` later).
    /// Longest on screen first.
    async fn appearances(
        &self,
        name: &str,
        face_ids: &[String],
    ) -> Result<Vec<Appearance>, GraphError>;
}

/// What a search document was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    /// The source file's name (key).
    FileName,
    /// A transcript segment.
    Transcript,
    /// On-screen text (video) or text in an image.
    Text,
    /// A document page's text.
    Page,
    Label,
    Keyphrase,
    Entity,
    Person,
    /// A generated description (a scene's, an image's).
    Description,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Self::FileName => "fileName",
            Self::Transcript => "transcript",
            Self::Text => "text",
            Self::Page => "page",
            Self::Label => "label",
            Self::Keyphrase => "keyphrase",
            Self::Entity => "entity",
            Self::Person => "person",
            Self::Description => "description",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::FileName,
            Self::Transcript,
            Self::Text,
            Self::Page,
            Self::Label,
            Self::Keyphrase,
            Self::Entity,
            Self::Person,
            Self::Description,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// One searchable piece of an asset, with where in the asset it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchDoc {
    pub field: Field,
    pub text: String,
    /// When it is heard or seen (seconds), for time-based media.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<(f64, f64)>,
    /// The page (documents), from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub asset_id: String,
    pub field: Field,
    /// The matching text, matches marked `[like this]`.
    pub snippet: String,
    pub ranges: Vec<(f64, f64)>,
    pub page: Option<u32>,
    /// Higher is better.
    pub score: f64,
}

/// Full-text search over what the analyses found.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Replaces the documents `analysis` contributed for the asset with `docs`.
    async fn replace(
        &self,
        asset_id: &str,
        analysis: &str,
        docs: &[SearchDoc],
    ) -> Result<(), GraphError>;

    /// Documents matching every word of `query` (a `"quoted phrase"` matches as a phrase;
    /// nothing in `query` is search syntax otherwise), best first, at most `limit`.
    async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, GraphError>;
}
