//! From an event and the result documents it points to, the facts the graph learns and the
//! documents search learns. Readers take documents by shape (services never import each
//! other), and a document that is missing or unreadable is reported, not fatal: the rest of
//! what the analysis found still goes in.

use std::collections::BTreeMap;

use mediasift_kit::ports::{ObjectStore, Retryable, StoreError, split_s3_uri};
use mediasift_schemas::{
    AdBreaksDetected, AudioAnalysisCompleted, DocumentAnalysisCompleted, ImageAnalysisCompleted,
    ResultRef, ScenesDetected, SourceObject, VideoAnalysisCompleted,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::model::{Edge, EdgeKind, Facts, Vertex, VertexKind, format_ranges, ids};
use crate::ports::{Field, SearchDoc};

/// Which findings are kept: video and image findings below `min_confidence`, and video
/// findings on screen less than `min_seconds`, are noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseFilter {
    pub min_confidence: f64,
    pub min_seconds: f64,
}

impl Default for NoiseFilter {
    fn default() -> Self {
        Self {
            min_confidence: 70.0,
            min_seconds: 1.0,
        }
    }
}

/// What one event adds: graph facts, search documents, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contribution {
    pub facts: Facts,
    pub docs: Vec<SearchDoc>,
    pub warnings: Vec<String>,
}

impl Contribution {
    fn new(asset_id: &str, analysis: &str) -> Self {
        Self {
            facts: Facts {
                asset_id: asset_id.to_owned(),
                analysis: analysis.to_owned(),
                vertices: Vec::new(),
                edges: Vec::new(),
            },
            docs: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn asset_vertex(&self) -> String {
        ids::asset(&self.facts.asset_id)
    }

    /// Adds `vertex` and an edge of `kind` from the asset to it.
    fn link(&mut self, kind: EdgeKind, vertex: Vertex, edge: impl FnOnce(Edge) -> Edge) {
        let from = self.asset_vertex();
        let built = edge(Edge::new(kind, &from, &vertex.id, &self.facts.analysis));
        // The same vertex met twice (a label in two features) keeps its first edge.
        if !self.facts.edges.iter().any(|e| e.id == built.id) {
            self.facts.edges.push(built);
        }
        if !self.facts.vertices.iter().any(|v| v.id == vertex.id) {
            self.facts.vertices.push(vertex);
        }
    }

    fn doc(&mut self, field: Field, text: &str, ranges: Vec<(f64, f64)>, page: Option<u32>) {
        let text = text.trim();
        if !text.is_empty() {
            self.docs.push(SearchDoc {
                field,
                text: text.to_owned(),
                ranges,
                page,
            });
        }
    }
}

/// The asset as ingest describes it. `duplicates` are the ids of assets already in the graph
/// with the same MD5.
pub fn ingested(
    asset_id: &str,
    media_type: &str,
    source: &SourceObject,
    md5: &str,
    technical: &[(&str, crate::model::Value)],
    duplicates: &[String],
) -> Contribution {
    let mut c = Contribution::new(asset_id, "ingest");
    let mut asset = Vertex::asset(asset_id, &source.key)
        .with("mediaType", media_type)
        .with("bucket", source.bucket.as_str())
        .with("key", source.key.as_str())
        .with("uri", source.uri.as_str())
        .with("size", source.size)
        .with("md5", md5);
    for (key, value) in technical {
        asset.properties.insert((*key).to_owned(), value.clone());
    }
    c.facts.vertices.push(asset);
    let checksum = Vertex::new(ids::checksum(md5), VertexKind::Checksum, md5.to_lowercase())
        .with("algorithm", "MD5");
    c.link(EdgeKind::HasChecksum, checksum, |e| e);
    for other in duplicates.iter().filter(|other| other.as_str() != asset_id) {
        // One edge per pair, from the lower asset id to the higher, whichever asset's ingest
        // (or re-delivery) finds the other: the graph is the same in any order of arrival.
        // The other asset's vertex exists already (it was found by its checksum edge).
        let (low, high) = if asset_id < other.as_str() {
            (asset_id, other.as_str())
        } else {
            (other.as_str(), asset_id)
        };
        c.facts.edges.push(
            Edge::new(
                EdgeKind::SameChecksum,
                &ids::asset(low),
                &ids::asset(high),
                "ingest",
            )
            .with("md5", md5),
        );
    }
    let key = source.key.clone();
    c.doc(Field::FileName, &key, Vec::new(), None);
    c
}

/// Reads result documents from the object store.
pub struct Reader<'a> {
    pub objects: &'a dyn ObjectStore,
    pub filter: NoiseFilter,
}

/// Why a result document could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The store failed in a way that may pass (retry the event).
    Transient(StoreError),
    /// Missing, refused, or not what it should be: reported as a warning.
    Unusable(String),
}

impl Reader<'_> {
    async fn json<T: DeserializeOwned>(&self, result: &ResultRef) -> Result<T, ReadError> {
        let (bucket, key) = split_s3_uri(&result.uri).ok_or_else(|| {
            ReadError::Unusable(format!(
                "{}: {} is not an s3:// URI",
                result.name, result.uri
            ))
        })?;
        let bytes = match self.objects.get_bytes(bucket, key).await {
            Ok(bytes) => bytes,
            Err(e) if e.is_retryable() => return Err(ReadError::Transient(e)),
            // Missing, or refused (a permission the deployment lacks): this document stays
            // out; the rest of the analysis, and the asset's completion, go on.
            Err(e) => return Err(ReadError::Unusable(format!("{}: {e}", result.name))),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            ReadError::Unusable(format!(
                "{} ({}) is not readable: {e}",
                result.name, result.uri
            ))
        })
    }

    /// Reads the result named `name`, if the event lists it; a warning when it cannot be read.
    async fn optional<T: DeserializeOwned>(
        &self,
        c: &mut Contribution,
        results: &[ResultRef],
        name: &str,
    ) -> Result<Option<T>, StoreError> {
        let Some(result) = results.iter().find(|r| r.name == name) else {
            return Ok(None);
        };
        match self.json::<T>(result).await {
            Ok(doc) => Ok(Some(doc)),
            Err(ReadError::Transient(e)) => Err(e),
            Err(ReadError::Unusable(warning)) => {
                tracing::warn!(asset_id = %c.facts.asset_id, %warning, "result not indexed");
                c.warnings.push(warning);
                Ok(None)
            }
        }
    }

    pub async fn video(&self, d: &VideoAnalysisCompleted) -> Result<Contribution, StoreError> {
        let mut c = Contribution::new(&d.asset_id.to_string(), "video");
        c.facts
            .vertices
            .push(Vertex::asset(&d.asset_id.to_string(), "").with("shots", d.summary.shots));
        if let Some(doc) = self
            .optional::<TimelinesDoc>(&mut c, &d.results, "timelines")
            .await?
        {
            for timeline in &doc.timelines {
                for track in &timeline.tracks {
                    self.track(&mut c, &timeline.feature, track);
                }
            }
        }
        Ok(c)
    }

    fn track(&self, c: &mut Contribution, feature: &str, track: &TrackDoc) {
        if track.max_confidence < self.filter.min_confidence
            || track.seconds < self.filter.min_seconds
        {
            return;
        }
        let ranges: Vec<(f64, f64)> = track.ranges.iter().map(|r| (r.start, r.end)).collect();
        let first = ranges.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
        let last = ranges.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max);
        let timed = |e: Edge| {
            let e = e
                .with("confidence", track.max_confidence)
                .with("seconds", track.seconds)
                .with("ranges", format_ranges(&ranges));
            if ranges.is_empty() {
                e
            } else {
                e.with("firstSeen", first).with("lastSeen", last)
            }
        };
        let name = track.name.trim();
        match feature {
            "labels" | "moderation" if !name.is_empty() => {
                let kind = if feature == "labels" {
                    EdgeKind::HasLabel
                } else {
                    EdgeKind::HasModerationLabel
                };
                c.link(kind, label(name, feature), timed);
                c.doc(Field::Label, name, ranges.clone(), None);
            }
            "celebrities" if !name.is_empty() => {
                let mut person = Vertex::new(ids::person(name), VertexKind::Person, name);
                if let Some(id) = &track.id {
                    person = person.with("celebrityId", id.as_str());
                }
                c.link(EdgeKind::Features, person, |e| {
                    timed(e).with("source", "celebrities")
                });
                c.doc(Field::Person, name, ranges.clone(), None);
            }
            "faceMatch" => {
                let Some(face_id) = &track.id else { return };
                let person = Vertex::new(ids::face(face_id), VertexKind::Person, name)
                    .with("faceId", face_id.as_str());
                c.link(EdgeKind::Features, person, |e| {
                    timed(e).with("source", "faceMatch")
                });
                c.doc(Field::Person, name, ranges.clone(), None);
            }
            "text" if !name.is_empty() => {
                let keyword = Vertex::new(ids::keyword(name), VertexKind::Keyword, name);
                c.link(EdgeKind::ShowsText, keyword, timed);
                c.doc(Field::Text, name, ranges.clone(), None);
            }
            _ => {}
        }
    }

    pub async fn audio(&self, d: &AudioAnalysisCompleted) -> Result<Contribution, StoreError> {
        let mut c = Contribution::new(&d.asset_id.to_string(), "audio");
        let mut asset = Vertex::asset(&d.asset_id.to_string(), "").with("words", d.summary.words);
        if let Some(language) = &d.summary.language {
            asset = asset.with("language", language.as_str());
        }
        c.facts.vertices.push(asset);
        if let Some(doc) = self
            .optional::<TranscriptDoc>(&mut c, &d.results, "transcript")
            .await?
        {
            for segment in &doc.segments {
                c.doc(
                    Field::Transcript,
                    &segment.text,
                    vec![(segment.start, segment.end)],
                    None,
                );
            }
        }
        if let Some(doc) = self
            .optional::<LanguageDoc>(&mut c, &d.results, "keyphrases")
            .await?
        {
            keyphrases(&mut c, &doc.asset, &doc.windows);
        }
        if let Some(doc) = self
            .optional::<LanguageDoc>(&mut c, &d.results, "entities")
            .await?
        {
            entities(&mut c, &doc.asset, &doc.windows);
        }
        Ok(c)
    }

    pub async fn image(&self, d: &ImageAnalysisCompleted) -> Result<Contribution, StoreError> {
        let asset_id = d.asset_id.to_string();
        let mut c = Contribution::new(&asset_id, "image");
        let mut asset = Vertex::asset(&asset_id, "");
        if let Some(exif) = self.optional::<ExifDoc>(&mut c, &d.results, "exif").await? {
            if let Some(captured) = exif.captured.and_then(|c| c.iso8601) {
                asset = asset.with("capturedAt", captured);
            }
            if let Some(camera) = exif.camera {
                let name = [camera.make, camera.model]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                if !name.is_empty() {
                    asset = asset.with("camera", name);
                }
            }
            if let Some(gps) = exif.gps
                && let (Some(lat), Some(lon)) = (gps.latitude, gps.longitude)
                && lat.is_finite()
                && lon.is_finite()
            {
                let place = Vertex::new(
                    ids::location(lat, lon),
                    VertexKind::Location,
                    format!("{lat:.3}, {lon:.3}"),
                )
                .with("latitude", (lat * 1000.0).round() / 1000.0)
                .with("longitude", (lon * 1000.0).round() / 1000.0);
                c.link(EdgeKind::TakenAt, place, |e| {
                    e.with("latitude", lat).with("longitude", lon)
                });
            }
        }
        c.facts.vertices.insert(0, asset);
        for feature in ["labels", "moderation", "celebrities", "faceMatch", "text"] {
            let Some(doc) = self
                .optional::<DetectionsDoc>(&mut c, &d.results, feature)
                .await?
            else {
                continue;
            };
            // Words of one line of text become the line.
            let mut seen: BTreeMap<String, TrackDoc> = BTreeMap::new();
            for detection in doc.detections {
                let name = match (feature, &detection.line) {
                    ("text", Some(line)) => line.clone(),
                    _ => detection.name.clone(),
                };
                let key = match (feature, &detection.id) {
                    ("faceMatch", Some(id)) => id.clone(),
                    _ => ids::normalise(&name),
                };
                let entry = seen.entry(key).or_insert_with(|| TrackDoc {
                    name: name.clone(),
                    id: detection.id.clone(),
                    max_confidence: detection.confidence,
                    seconds: 0.0,
                    ranges: Vec::new(),
                });
                // A line is as certain as its least certain word.
                entry.max_confidence = if feature == "text" {
                    entry.max_confidence.min(detection.confidence)
                } else {
                    entry.max_confidence.max(detection.confidence)
                };
            }
            let still = NoiseFilter {
                min_seconds: 0.0,
                ..self.filter
            };
            let reader = Reader {
                objects: self.objects,
                filter: still,
            };
            for track in seen.values() {
                reader.track(&mut c, feature, track);
            }
        }
        if let Some(doc) = self
            .optional::<serde_json::Value>(&mut c, &d.results, "description")
            .await?
        {
            let mut text = doc["description"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for tag in doc["tags"].as_array().into_iter().flatten() {
                if let Some(tag) = tag["value"].as_str() {
                    text.push_str(&format!(" · {tag}"));
                }
            }
            c.doc(Field::Description, &text, Vec::new(), None);
        }
        Ok(c)
    }

    pub async fn document(
        &self,
        d: &DocumentAnalysisCompleted,
    ) -> Result<Contribution, StoreError> {
        let mut c = Contribution::new(&d.asset_id.to_string(), "document");
        if let Some(doc) = self
            .optional::<PagesDoc>(&mut c, &d.results, "pages")
            .await?
        {
            c.facts
                .vertices
                .push(Vertex::asset(&d.asset_id.to_string(), "").with("words", doc.words));
            for page in &doc.pages {
                c.doc(Field::Page, &page.text, Vec::new(), Some(page.page));
            }
        }
        if let Some(doc) = self
            .optional::<LanguageDoc>(&mut c, &d.results, "keyphrases")
            .await?
        {
            keyphrases(&mut c, &doc.document, &[]);
        }
        if let Some(doc) = self
            .optional::<LanguageDoc>(&mut c, &d.results, "entities")
            .await?
        {
            entities(&mut c, &doc.document, &[]);
        }
        Ok(c)
    }

    pub async fn scenes(&self, d: &ScenesDetected) -> Result<Contribution, StoreError> {
        let asset_id = d.asset_id.to_string();
        let mut c = Contribution::new(&asset_id, "scenes");
        c.facts
            .vertices
            .push(Vertex::asset(&asset_id, "").with("scenes", d.summary.scenes));
        let Some(doc) = self
            .optional::<ScenesDoc>(&mut c, &d.results, "scenes")
            .await?
        else {
            return Ok(c);
        };
        // Brand id → (name, best score, the scenes' ranges).
        type Seen = (String, f64, Vec<(f64, f64)>);
        let mut brands: BTreeMap<String, Seen> = BTreeMap::new();
        for scene in &doc.scenes {
            let range = (scene.start_seconds, scene.end_seconds);
            let categories: Vec<&str> = scene.taxonomy.iter().map(|t| t.name.as_str()).collect();
            let mut vertex = Vertex::new(
                ids::scene(&asset_id, scene.index),
                VertexKind::Scene,
                format!("Scene {}", scene.index),
            )
            .with("index", scene.index)
            .with("startSeconds", scene.start_seconds)
            .with("endSeconds", scene.end_seconds)
            .with("startTimecode", scene.start_timecode.as_str())
            .with("endTimecode", scene.end_timecode.as_str())
            .with("categories", categories.join("; "));
            let mut text = categories.join(" · ");
            if let Some(description) = &scene.description {
                vertex = vertex.with("description", description.description.as_str());
                text = format!("{} {text}", description.description);
                for brand in &description.brands {
                    let entry = brands
                        .entry(ids::brand(&brand.name))
                        .or_insert_with(|| (brand.name.clone(), 0.0, Vec::new()));
                    entry.1 = entry.1.max(brand.score);
                    entry.2.push(range);
                }
            }
            c.link(EdgeKind::HasScene, vertex, |e| {
                e.with("index", scene.index)
                    .with("firstSeen", scene.start_seconds)
                    .with("lastSeen", scene.end_seconds)
            });
            c.doc(Field::Description, &text, vec![range], None);
        }
        for (id, (name, score, ranges)) in brands {
            let seconds: f64 = ranges.iter().map(|(s, e)| e - s).sum();
            c.link(
                EdgeKind::ShowsBrand,
                Vertex::new(id, VertexKind::Brand, name.as_str()),
                |e| {
                    e.with("score", score)
                        .with("seconds", seconds)
                        .with("ranges", format_ranges(&ranges))
                },
            );
            c.doc(Field::Label, &name, ranges, None);
        }
        Ok(c)
    }

    pub fn ad_breaks(&self, d: &AdBreaksDetected) -> Contribution {
        let asset_id = d.asset_id.to_string();
        let mut c = Contribution::new(&asset_id, "adBreaks");
        c.facts
            .vertices
            .push(Vertex::asset(&asset_id, "").with("adBreaks", d.breaks.len() as u64));
        c
    }
}

fn label(name: &str, feature: &str) -> Vertex {
    let vertex = Vertex::new(ids::label(name), VertexKind::Label, name);
    if feature == "moderation" {
        vertex.with("moderation", true)
    } else {
        vertex
    }
}

fn keyphrases(c: &mut Contribution, phrases: &[Phrase], windows: &[WindowDoc]) {
    for phrase in phrases {
        let ranges = windows_with(windows, &phrase.text, |w| &w.keyphrases);
        let keyword = Vertex::new(
            ids::keyword(&phrase.text),
            VertexKind::Keyword,
            &phrase.text,
        );
        c.link(EdgeKind::HasKeyword, keyword, |e| {
            let e = e.with("score", phrase.score);
            let e = match phrase.windows {
                Some(n) => e.with("count", n),
                None => e,
            };
            if ranges.is_empty() {
                e
            } else {
                e.with("ranges", format_ranges(&ranges))
            }
        });
        c.doc(Field::Keyphrase, &phrase.text, ranges, None);
    }
}

fn entities(c: &mut Contribution, found: &[Phrase], windows: &[WindowDoc]) {
    for entity in found {
        let kind = entity.kind.as_deref().unwrap_or("OTHER");
        let ranges = windows_with(windows, &entity.text, |w| &w.entities);
        let vertex = Vertex::new(
            ids::entity(kind, &entity.text),
            VertexKind::Entity,
            &entity.text,
        )
        .with("type", kind);
        c.link(EdgeKind::Mentions, vertex, |e| {
            let e = e.with("score", entity.score);
            let e = match entity.mentions {
                Some(n) => e.with("count", n),
                None => e,
            };
            if ranges.is_empty() {
                e
            } else {
                e.with("ranges", format_ranges(&ranges))
            }
        });
        c.doc(Field::Entity, &entity.text, ranges, None);
    }
}

/// The time windows whose list (keyphrases or entities) holds `text`.
fn windows_with(
    windows: &[WindowDoc],
    text: &str,
    list: impl Fn(&WindowDoc) -> &Vec<Phrase>,
) -> Vec<(f64, f64)> {
    let wanted = ids::normalise(text);
    windows
        .iter()
        .filter(|w| list(w).iter().any(|p| ids::normalise(&p.text) == wanted))
        .map(|w| (w.start, w.end))
        .collect()
}

// Result documents, by shape.

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimelinesDoc {
    #[serde(default)]
    timelines: Vec<TimelineDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimelineDoc {
    feature: String,
    #[serde(default)]
    tracks: Vec<TrackDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackDoc {
    name: String,
    #[serde(default)]
    id: Option<String>,
    max_confidence: f64,
    seconds: f64,
    #[serde(default)]
    ranges: Vec<RangeDoc>,
}

#[derive(Debug, Clone, Deserialize)]
struct RangeDoc {
    start: f64,
    end: f64,
}

#[derive(Debug, Deserialize)]
struct TranscriptDoc {
    #[serde(default)]
    segments: Vec<SegmentDoc>,
}

#[derive(Debug, Deserialize)]
struct SegmentDoc {
    start: f64,
    end: f64,
    text: String,
}

/// `keyphrases.json` and `entities.json`, of audio (`asset`, `windows`) and documents
/// (`document`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LanguageDoc {
    asset: Vec<Phrase>,
    document: Vec<Phrase>,
    windows: Vec<WindowDoc>,
}

#[derive(Debug, Clone, Deserialize)]
struct Phrase {
    text: String,
    #[serde(default)]
    score: f64,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    windows: Option<u32>,
    #[serde(default)]
    mentions: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct WindowDoc {
    start: f64,
    end: f64,
    #[serde(default)]
    keyphrases: Vec<Phrase>,
    #[serde(default)]
    entities: Vec<Phrase>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExifDoc {
    #[serde(default)]
    camera: Option<CameraDoc>,
    #[serde(default)]
    captured: Option<CapturedDoc>,
    #[serde(default)]
    gps: Option<GpsDoc>,
}

#[derive(Debug, Deserialize)]
struct CameraDoc {
    make: Option<String>,
    model: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CapturedDoc {
    iso8601: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GpsDoc {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct DetectionsDoc {
    #[serde(default)]
    detections: Vec<mediasift_kit::vision::Detection>,
}

#[derive(Debug, Deserialize)]
struct PagesDoc {
    #[serde(default)]
    pages: Vec<PageDoc>,
    #[serde(default)]
    words: u64,
}

#[derive(Debug, Deserialize)]
struct PageDoc {
    page: u32,
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
struct ScenesDoc {
    #[serde(default)]
    scenes: Vec<SceneDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SceneDoc {
    index: u32,
    start_seconds: f64,
    end_seconds: f64,
    #[serde(default)]
    start_timecode: String,
    #[serde(default)]
    end_timecode: String,
    #[serde(default)]
    taxonomy: Vec<NamedScore>,
    #[serde(default)]
    description: Option<SceneDescriptionDoc>,
}

#[derive(Debug, Deserialize)]
struct NamedScore {
    name: String,
    #[serde(default)]
    score: f64,
}

#[derive(Debug, Deserialize)]
struct SceneDescriptionDoc {
    description: String,
    #[serde(default)]
    brands: Vec<NamedScore>,
}
