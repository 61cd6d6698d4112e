//! The knowledge graph's model: typed vertices and edges with deterministic ids, and the facts
//! one analysis of one asset contributes. Every backend (SQLite locally, Neptune on AWS, the
//! Neptune bulk-load CSV) stores exactly this.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a vertex is. The label is its Neptune label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VertexKind {
    Asset,
    /// A celebrity (by name) or a face of the face collection (by face id).
    Person,
    /// A label or moderation label the vision backend saw.
    Label,
    /// A keyphrase of the speech or the document, or a line of on-screen text.
    Keyword,
    /// A named entity (place, organisation, date, ...) of the speech or the document.
    Entity,
    Brand,
    /// One scene of a video.
    Scene,
    /// An MD5: assets sharing one are byte-identical.
    Checksum,
    /// Where a photo was taken (GPS rounded to about 100 m).
    Location,
}

impl VertexKind {
    pub const ALL: [VertexKind; 9] = [
        Self::Asset,
        Self::Person,
        Self::Label,
        Self::Keyword,
        Self::Entity,
        Self::Brand,
        Self::Scene,
        Self::Checksum,
        Self::Location,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Asset => "Asset",
            Self::Person => "Person",
            Self::Label => "Label",
            Self::Keyword => "Keyword",
            Self::Entity => "Entity",
            Self::Brand => "Brand",
            Self::Scene => "Scene",
            Self::Checksum => "Checksum",
            Self::Location => "Location",
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.label() == label)
    }

    /// How much sharing one such vertex says two assets are related (before it is divided by
    /// how common the vertex is).
    pub fn relatedness(self) -> f64 {
        match self {
            Self::Checksum => 10.0,
            Self::Person => 4.0,
            Self::Location | Self::Brand => 3.0,
            Self::Keyword | Self::Entity => 2.0,
            Self::Label => 1.0,
            Self::Asset | Self::Scene => 0.0,
        }
    }
}

impl fmt::Display for VertexKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What an edge says. The label is its Neptune label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EdgeKind {
    /// Asset → Label.
    HasLabel,
    /// Asset → Label (moderation).
    HasModerationLabel,
    /// Asset → Person.
    Features,
    /// Asset → Keyword (a keyphrase).
    HasKeyword,
    /// Asset → Keyword (on-screen text).
    ShowsText,
    /// Asset → Entity.
    Mentions,
    /// Asset → Brand.
    ShowsBrand,
    /// Asset → Scene.
    HasScene,
    /// Asset → Checksum.
    HasChecksum,
    /// Asset → Asset: byte-identical (from the lower asset id to the higher).
    SameChecksum,
    /// Asset → Location.
    TakenAt,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 11] = [
        Self::HasLabel,
        Self::HasModerationLabel,
        Self::Features,
        Self::HasKeyword,
        Self::ShowsText,
        Self::Mentions,
        Self::ShowsBrand,
        Self::HasScene,
        Self::HasChecksum,
        Self::SameChecksum,
        Self::TakenAt,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::HasLabel => "HAS_LABEL",
            Self::HasModerationLabel => "HAS_MODERATION_LABEL",
            Self::Features => "FEATURES",
            Self::HasKeyword => "HAS_KEYWORD",
            Self::ShowsText => "SHOWS_TEXT",
            Self::Mentions => "MENTIONS",
            Self::ShowsBrand => "SHOWS_BRAND",
            Self::HasScene => "HAS_SCENE",
            Self::HasChecksum => "HAS_CHECKSUM",
            Self::SameChecksum => "SAME_CHECKSUM",
            Self::TakenAt => "TAKEN_AT",
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.label() == label)
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A property value, typed as Neptune types it (`String`, `Double`, `Long`, `Bool`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Long(i64),
    Double(f64),
    Text(String),
}

impl Value {
    /// The Neptune bulk-load type name of this value.
    pub fn neptune_type(&self) -> &'static str {
        match self {
            Self::Bool(_) => "Bool",
            Self::Long(_) => "Long",
            Self::Double(_) => "Double",
            Self::Text(_) => "String",
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Long(n) => Some(*n as f64),
            Self::Double(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}
impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Self::Double(n)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Self::Long(n)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Self::Long(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Self::Long(i64::from(n))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

pub type Properties = BTreeMap<String, Value>;

/// A vertex. Its id is deterministic from what it is (see the constructors), so every
/// analysis that meets the same person, label or checksum meets the same vertex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vertex {
    pub id: String,
    pub kind: VertexKind,
    /// What a person reads: the file name, the person's name, the label, the keyword.
    pub name: String,
    #[serde(default)]
    pub properties: Properties,
}

impl Vertex {
    pub fn new(id: String, kind: VertexKind, name: impl Into<String>) -> Self {
        Self {
            id,
            kind,
            name: name.into(),
            properties: Properties::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(key.to_owned(), value.into());
        self
    }

    pub fn asset(asset_id: &str, name: &str) -> Self {
        Self::new(ids::asset(asset_id), VertexKind::Asset, name)
    }
}

/// An edge. Its id is deterministic from its ends and kind, so an upsert of the same edge
/// replaces it (re-delivery never doubles a count or a screen time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub id: String,
    pub kind: EdgeKind,
    pub from: String,
    pub to: String,
    /// The analysis that contributed it (`ingest`, `video`, `audio`, `image`, `document`,
    /// `scenes`, `adBreaks`): its next contribution replaces this one's edges.
    pub analysis: String,
    /// `confidence` (0–100), `seconds` on screen, `firstSeen`/`lastSeen` (seconds),
    /// `ranges` (`start-end;start-end`), `score`, `count`, ...
    #[serde(default)]
    pub properties: Properties,
}

impl Edge {
    pub fn new(kind: EdgeKind, from: &str, to: &str, analysis: &str) -> Self {
        Self {
            id: ids::edge(kind, from, to),
            kind,
            from: from.to_owned(),
            to: to.to_owned(),
            analysis: analysis.to_owned(),
            properties: Properties::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(key.to_owned(), value.into());
        self
    }
}

/// What one analysis of one asset says: applied as a whole, it replaces that analysis's
/// earlier contribution (its edges from the asset), so a re-run leaves no stale edges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The asset id (a UUID).
    pub asset_id: String,
    pub analysis: String,
    /// Vertices to upsert (properties merged into an existing vertex's).
    pub vertices: Vec<Vertex>,
    /// Edges to upsert; every edge of the asset from this analysis not listed is removed.
    pub edges: Vec<Edge>,
}

/// Deterministic ids. Names are normalised (lower case, whitespace collapsed) so `Eiffel
/// Tower` and `eiffel  tower` are one vertex.
pub mod ids {
    use super::EdgeKind;

    pub fn normalise(name: &str) -> String {
        name.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }

    pub fn asset(asset_id: &str) -> String {
        format!("asset:{asset_id}")
    }
    /// The asset id back from an asset vertex id.
    pub fn asset_id(vertex_id: &str) -> Option<&str> {
        vertex_id.strip_prefix("asset:")
    }
    /// A celebrity or a person named by speech or text.
    pub fn person(name: &str) -> String {
        format!("person:{}", normalise(name))
    }
    /// A face of the face collection, named or not.
    pub fn face(face_id: &str) -> String {
        format!("face:{face_id}")
    }
    pub fn label(name: &str) -> String {
        format!("label:{}", normalise(name))
    }
    pub fn keyword(text: &str) -> String {
        format!("keyword:{}", normalise(text))
    }
    pub fn entity(kind: &str, text: &str) -> String {
        format!("entity:{}:{}", kind.to_lowercase(), normalise(text))
    }
    pub fn brand(name: &str) -> String {
        format!("brand:{}", normalise(name))
    }
    pub fn scene(asset_id: &str, index: u32) -> String {
        format!("scene:{asset_id}:{index}")
    }
    pub fn checksum(md5: &str) -> String {
        format!("md5:{}", md5.to_lowercase())
    }
    /// GPS rounded to 3 decimals (about 100 m).
    pub fn location(latitude: f64, longitude: f64) -> String {
        format!("geo:{latitude:.3},{longitude:.3}")
    }
    pub fn edge(kind: EdgeKind, from: &str, to: &str) -> String {
        format!("{from}|{}|{to}", kind.label())
    }
}

/// Time ranges as an edge stores them: `start-end;start-end` in seconds.
pub fn format_ranges(ranges: &[(f64, f64)]) -> String {
    ranges
        .iter()
        .map(|(start, end)| format!("{start:.2}-{end:.2}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// The ranges [`format_ranges`] wrote; malformed parts are skipped.
pub fn parse_ranges(text: &str) -> Vec<(f64, f64)> {
    text.split(';')
        .filter_map(|part| {
            let (start, end) = part.split_once('-')?;
            Some((start.parse().ok()?, end.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_normalised_and_ranges_round_trip() {
        assert_eq!(ids::label("Eiffel  Tower"), ids::label(" eiffel tower"));
        assert_eq!(
            ids::edge(EdgeKind::HasLabel, "asset:a", "label:car"),
            "asset:a|HAS_LABEL|label:car"
        );
        let ranges = [(0.0, 1.5), (12.25, 20.0)];
        assert_eq!(format_ranges(&ranges), "0.00-1.50;12.25-20.00");
        assert_eq!(parse_ranges(&format_ranges(&ranges)), ranges);
        for kind in VertexKind::ALL {
            assert_eq!(VertexKind::from_label(kind.label()), Some(kind));
        }
        for kind in EdgeKind::ALL {
            assert_eq!(EdgeKind::from_label(kind.label()), Some(kind));
        }
    }
}
