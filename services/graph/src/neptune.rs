//! The graph on Amazon Neptune, through openCypher (`ExecuteOpenCypherQuery` of the Neptune
//! data API, `aws-sdk-neptunedata`): [`NeptuneGraph`] implements [`GraphStore`] and
//! [`GraphQueries`].
//!
//! # No Cypher is built from data
//!
//! Every query is a `&'static str`: a `const` of this module, or one of a fixed table with one
//! query per [`VertexKind`] / [`EdgeKind`] ([`vertex_upsert_query`], [`edge_upsert_query`];
//! openCypher takes no labels as parameters). Ids, names and property values (keys included)
//! travel in the request's `parameters` JSON only, so no file name, label or transcript text
//! can change what a query does. [`NeptuneGraph`]'s one way to Neptune takes a
//! `&'static str`, so the compiler holds to it.
//!
//! # How the model is stored
//!
//! A vertex is a node with its kind's label, its id as Neptune's own id (`~id`), `name` and its
//! properties as node properties. An edge is a relationship of its kind's type from `from` to
//! `to`, its id as the relationship's `~id`, `analysis` and its properties as relationship
//! properties. Custom `~id`s in `MERGE` need Neptune engine 1.2.0.2 or later.
//!
//! [`GraphStore::apply`] sends, in this order: the vertices, grouped by kind (in
//! [`VertexKind`] order) in batches of `batch_size` (`UNWIND $rows`), merged into existing
//! vertices (a new name replaces the old unless it is empty; properties are added or replaced
//! key by key); then one query removing the edges from the asset that the same analysis
//! contributed earlier and `facts` does not list; then the edges, grouped by kind (in
//! [`EdgeKind`] order) in batches, each edge's properties replaced as a whole. A vertex
//! property named `name` and an edge property named `analysis` (the fields of their own), and
//! keys starting with `~` (Neptune's), are not sent; non-finite numbers are not sent either.
//! Neptune commits each request on its own: a failure part-way leaves part of the facts
//! applied, and applying them again (the event's retry) completes them. An edge whose `from`
//! or `to` vertex does not exist is not created (its `MATCH` finds nothing).
//!
//! # Reading
//!
//! Rows come back as the `results` document (a list of maps). Integers are read as
//! [`Value::Long`], other numbers as [`Value::Double`]; list- or map-valued properties (which
//! this adapter never writes) are skipped. `related` fetches the assets sharing vertices with
//! the asset, then how many assets link to each shared vertex, and scores in Rust with
//! [`shared_weight`]. `appearances` matches a person by its id (`person:` + the normalised
//! name), by `toLower(name)` (Neptune has no whitespace collapsing: a face vertex named
//! `"Jane  Doe"` with two spaces is not found by `jane doe`; person vertices are, by their id),
//! or by one of the given face vertex ids.
//!
//! # Errors
//!
//! Every failed call is classified by the kit's [`Fault`] after the SDK's own retries:
//! throttling, 5xx, timeouts, unreachable endpoints and Neptune's transient exceptions
//! (`ConcurrentModificationException`, `TimeLimitExceededException`,
//! `QueryLimitExceededException`, ...) are [`GraphError::Unavailable`]; the rest
//! (`AccessDeniedException`, `MalformedQueryException`, `BadRequestException`, ...) are
//! [`GraphError::Failed`], with the operation and what to do in the message. The function's
//! role needs `neptune-db:ReadDataViaQuery`, `neptune-db:WriteDataViaQuery` and
//! `neptune-db:DeleteDataViaQuery` on the cluster.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_neptunedata::Client;
use aws_sdk_neptunedata::error::SdkError;
use aws_sdk_neptunedata::operation::execute_open_cypher_query::ExecuteOpenCypherQueryError;
use aws_smithy_types::{Document, Number};
use mediasift_kit::aws::Fault;
use serde_json::{Map, Value as Json, json};

use crate::model::{
    Edge, EdgeKind, Facts, Properties, Value, Vertex, VertexKind, ids, parse_ranges,
};
use crate::ports::{
    Appearance, AssetGraph, GraphError, GraphQueries, GraphStore, Neighbour, Related, Shared,
    shared_weight,
};

/// Rows per `UNWIND` request when none is set.
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// The Neptune data API operation every query goes through.
pub const OPERATION: &str = "ExecuteOpenCypherQuery";

/// The upsert of one kind's vertices: parameter `rows`, a list of `{id, name, props}`.
macro_rules! vertex_upsert {
    ($label:literal) => {
        concat!(
            "UNWIND $rows AS row MERGE (v:",
            $label,
            " {`~id`: row.id}) SET v.name = CASE WHEN row.name = '' THEN coalesce(v.name, '') \
             ELSE row.name END SET v += row.props"
        )
    };
}

/// The upsert of one kind's edges: parameter `rows`, a list of `{id, from, to, analysis,
/// props}`.
macro_rules! edge_upsert {
    ($label:literal) => {
        concat!(
            "UNWIND $rows AS row MATCH (a) WHERE id(a) = row.from MATCH (b) WHERE id(b) = row.to \
             MERGE (a)-[e:",
            $label,
            " {`~id`: row.id}]->(b) SET e = row.props SET e.analysis = row.analysis"
        )
    };
}

/// The query upserting vertices of `kind` (parameter `rows`: `[{id, name, props}]`).
pub fn vertex_upsert_query(kind: VertexKind) -> &'static str {
    match kind {
        VertexKind::Asset => vertex_upsert!("Asset"),
        VertexKind::Person => vertex_upsert!("Person"),
        VertexKind::Label => vertex_upsert!("Label"),
        VertexKind::Keyword => vertex_upsert!("Keyword"),
        VertexKind::Entity => vertex_upsert!("Entity"),
        VertexKind::Brand => vertex_upsert!("Brand"),
        VertexKind::Scene => vertex_upsert!("Scene"),
        VertexKind::Checksum => vertex_upsert!("Checksum"),
        VertexKind::Location => vertex_upsert!("Location"),
    }
}

/// The query upserting edges of `kind` (parameter `rows`: `[{id, from, to, analysis,
/// props}]`).
pub fn edge_upsert_query(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::HasLabel => edge_upsert!("HAS_LABEL"),
        EdgeKind::HasModerationLabel => edge_upsert!("HAS_MODERATION_LABEL"),
        EdgeKind::Features => edge_upsert!("FEATURES"),
        EdgeKind::HasKeyword => edge_upsert!("HAS_KEYWORD"),
        EdgeKind::ShowsText => edge_upsert!("SHOWS_TEXT"),
        EdgeKind::Mentions => edge_upsert!("MENTIONS"),
        EdgeKind::ShowsBrand => edge_upsert!("SHOWS_BRAND"),
        EdgeKind::HasScene => edge_upsert!("HAS_SCENE"),
        EdgeKind::HasChecksum => edge_upsert!("HAS_CHECKSUM"),
        EdgeKind::SameChecksum => edge_upsert!("SAME_CHECKSUM"),
        EdgeKind::TakenAt => edge_upsert!("TAKEN_AT"),
    }
}

/// Removes the edges from the asset (`asset`: its vertex id) that `analysis` contributed and
/// `keep` (edge ids) does not list.
pub const DELETE_STALE_EDGES: &str = "MATCH (a)-[e]->() WHERE id(a) = $asset \
     AND e.analysis = $analysis AND NOT id(e) IN $keep DELETE e";

/// The asset vertex ids linked to the checksum vertex `checksum`.
pub const ASSETS_WITH_CHECKSUM: &str = "MATCH (a:Asset)-[:HAS_CHECKSUM]->(c:Checksum) \
     WHERE id(c) = $checksum RETURN DISTINCT id(a) AS id";

/// The asset vertex `id` and each of its edges (either direction) with the vertex at the other
/// end; one row with null edge columns when it has none, no row when there is no such asset.
pub const ASSET: &str = "MATCH (a:Asset) WHERE id(a) = $id OPTIONAL MATCH (a)-[e]-(v) \
     RETURN id(a) AS aid, properties(a) AS aprops, id(e) AS eid, type(e) AS etype, \
     id(startNode(e)) AS efrom, id(endNode(e)) AS eto, properties(e) AS eprops, \
     id(v) AS vid, labels(v) AS vlabels, properties(v) AS vprops";

/// The other assets sharing a vertex with the asset `id`: one row per asset and vertex.
pub const RELATED_SHARED: &str = "MATCH (a:Asset)-->(v)<--(b:Asset) \
     WHERE id(a) = $id AND id(b) <> $id RETURN DISTINCT id(b) AS asset, b.name AS assetName, \
     id(v) AS vid, labels(v) AS vlabels, v.name AS vname";

/// How many assets link to each of the vertices `vids`.
pub const RELATED_DEGREES: &str = "UNWIND $vids AS vid MATCH (v)<--(x:Asset) \
     WHERE id(v) = vid RETURN vid, count(DISTINCT x) AS assets";

/// The `FEATURES` edges to persons whose id is `personId`, whose lower-cased name is `name`,
/// or whose id is one of `faceIds`.
pub const APPEARANCES: &str = "MATCH (a:Asset)-[e:FEATURES]->(p:Person) \
     WHERE id(p) = $personId OR toLower(p.name) = $name OR id(p) IN $faceIds \
     RETURN id(a) AS asset, a.name AS assetName, id(p) AS pid, p.name AS pname, \
     properties(e) AS eprops";

/// Neptune's exceptions that trying again later can clear, besides the throttling and server
/// codes [`Fault`] knows (the SDK retries these too).
const NEPTUNE_TRANSIENT_CODES: &[&str] = &[
    "ConcurrentModificationException",
    "CancelledByMaintenanceException",
    "ClientTimeoutException",
    "TimeLimitExceededException",
    "MemoryLimitExceededException",
    "QueryLimitExceededException",
    "FailureByQueryException",
    // Two concurrent MERGEs creating the same `~id`: the loser's retry finds it.
    "ConstraintViolationException",
    "TooManyRequestsException",
    "ThrottlingException",
];

/// The graph on a Neptune cluster (see the module docs).
#[derive(Debug, Clone)]
pub struct NeptuneGraph {
    client: Client,
    batch_size: usize,
}

impl NeptuneGraph {
    /// The graph on `client` (whose endpoint is the cluster's), [`DEFAULT_BATCH_SIZE`] rows per
    /// write request.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }

    /// The graph on the cluster at `endpoint`, e.g.
    /// `https://my-cluster.cluster-xyz.eu-west-1.neptune.amazonaws.com:8182` (the cluster,
    /// i.e. writer, endpoint: the reader endpoint refuses writes). An endpoint without a
    /// scheme is taken as `https://`. Region, credentials and retries come from `sdk`.
    pub fn from_conf(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let endpoint = endpoint.trim().trim_end_matches('/');
        let url = if endpoint.contains("://") {
            endpoint.to_owned()
        } else {
            format!("https://{endpoint}")
        };
        let config = aws_sdk_neptunedata::config::Builder::from(sdk)
            .endpoint_url(url)
            .build();
        Self::new(Client::from_conf(config))
    }

    /// Rows per write request (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Runs `query` with `parameters`; `what` says what for, in errors.
    async fn run(
        &self,
        what: &str,
        query: &'static str,
        parameters: &Json,
    ) -> Result<Vec<Row>, GraphError> {
        let output = self
            .client
            .execute_open_cypher_query()
            .open_cypher_query(query)
            .parameters(parameters.to_string())
            .send()
            .await
            .map_err(|e| classify(what, &e))?;
        let rows = rows(what, output.results())?;
        tracing::debug!(what, rows = rows.len(), "Neptune openCypher query");
        Ok(rows)
    }
}

#[async_trait]
impl GraphStore for NeptuneGraph {
    async fn apply(&self, facts: &Facts) -> Result<(), GraphError> {
        let context = format!(
            "applying the {} facts of asset {}",
            facts.analysis, facts.asset_id
        );

        let mut vertices: BTreeMap<VertexKind, Vec<Json>> = BTreeMap::new();
        for vertex in &facts.vertices {
            vertices.entry(vertex.kind).or_default().push(json!({
                "id": vertex.id,
                "name": vertex.name,
                "props": props_json(&vertex.properties, "name"),
            }));
        }
        for (kind, rows) in &vertices {
            let what = format!("{context}: upserting {kind} vertices");
            for batch in rows.chunks(self.batch_size) {
                self.run(&what, vertex_upsert_query(*kind), &json!({ "rows": batch }))
                    .await?;
            }
        }

        let keep: Vec<&str> = facts.edges.iter().map(|e| e.id.as_str()).collect();
        self.run(
            &format!("{context}: removing its earlier edges"),
            DELETE_STALE_EDGES,
            &json!({
                "asset": ids::asset(&facts.asset_id),
                "analysis": facts.analysis,
                "keep": keep,
            }),
        )
        .await?;

        let mut edges: BTreeMap<EdgeKind, Vec<Json>> = BTreeMap::new();
        for edge in &facts.edges {
            edges.entry(edge.kind).or_default().push(json!({
                "id": edge.id,
                "from": edge.from,
                "to": edge.to,
                "analysis": edge.analysis,
                "props": props_json(&edge.properties, "analysis"),
            }));
        }
        for (kind, rows) in &edges {
            let what = format!("{context}: upserting {kind} edges");
            for batch in rows.chunks(self.batch_size) {
                self.run(&what, edge_upsert_query(*kind), &json!({ "rows": batch }))
                    .await?;
            }
        }
        Ok(())
    }

    async fn assets_with_checksum(&self, md5: &str) -> Result<Vec<String>, GraphError> {
        let rows = self
            .run(
                "finding the assets with a checksum",
                ASSETS_WITH_CHECKSUM,
                &json!({ "checksum": ids::checksum(md5) }),
            )
            .await?;
        let assets: BTreeSet<String> = rows
            .iter()
            .filter_map(|row| text(row, "id"))
            .map(|id| ids::asset_id(id).unwrap_or(id).to_owned())
            .collect();
        Ok(assets.into_iter().collect())
    }
}

#[async_trait]
impl GraphQueries for NeptuneGraph {
    async fn asset(&self, asset_id: &str) -> Result<Option<AssetGraph>, GraphError> {
        let vertex_id = ids::asset(asset_id);
        let rows = self
            .run(
                &format!("reading asset {asset_id}"),
                ASSET,
                &json!({ "id": vertex_id }),
            )
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let (name, properties) = named_properties(first.get("aprops"), "name");
        let asset = Vertex {
            id: text(first, "aid").unwrap_or(&vertex_id).to_owned(),
            kind: VertexKind::Asset,
            name,
            properties,
        };

        let mut seen = HashSet::new();
        let mut edges = Vec::new();
        for row in &rows {
            let Some(edge_id) = text(row, "eid") else {
                continue;
            };
            if !seen.insert(edge_id) {
                continue;
            }
            let Some(kind) = text(row, "etype").and_then(EdgeKind::from_label) else {
                tracing::warn!(
                    edge = edge_id,
                    label = text(row, "etype"),
                    "skipping an edge of an unknown type"
                );
                continue;
            };
            let Some(vertex_kind) = vertex_kind(row, "vlabels") else {
                tracing::warn!(
                    edge = edge_id,
                    "skipping an edge to a vertex of no known label"
                );
                continue;
            };
            let (analysis, properties) = named_properties(row.get("eprops"), "analysis");
            let (vertex_name, vertex_properties) = named_properties(row.get("vprops"), "name");
            edges.push(Neighbour {
                edge: Edge {
                    id: edge_id.to_owned(),
                    kind,
                    from: text(row, "efrom").unwrap_or_default().to_owned(),
                    to: text(row, "eto").unwrap_or_default().to_owned(),
                    analysis,
                    properties,
                },
                vertex: Vertex {
                    id: text(row, "vid").unwrap_or_default().to_owned(),
                    kind: vertex_kind,
                    name: vertex_name,
                    properties: vertex_properties,
                },
            });
        }
        edges.sort_by(|a, b| (a.edge.kind, &a.edge.id).cmp(&(b.edge.kind, &b.edge.id)));
        Ok(Some(AssetGraph { asset, edges }))
    }

    async fn related(&self, asset_id: &str, limit: usize) -> Result<Vec<Related>, GraphError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = self
            .run(
                &format!("finding the assets related to asset {asset_id}"),
                RELATED_SHARED,
                &json!({ "id": ids::asset(asset_id) }),
            )
            .await?;

        // By asset vertex id.
        let mut candidates: BTreeMap<String, Candidate> = BTreeMap::new();
        for row in &rows {
            let (Some(asset), Some(vid)) = (text(row, "asset"), text(row, "vid")) else {
                continue;
            };
            let Some(kind) = vertex_kind(row, "vlabels").filter(|k| k.relatedness() > 0.0) else {
                continue;
            };
            let candidate = candidates
                .entry(asset.to_owned())
                .or_insert_with(|| Candidate {
                    name: text(row, "assetName").unwrap_or_default().to_owned(),
                    shared: BTreeMap::new(),
                });
            candidate.shared.insert(
                vid.to_owned(),
                (kind, text(row, "vname").unwrap_or_default().to_owned()),
            );
        }

        let vids: Vec<&str> = candidates
            .values()
            .flat_map(|c| c.shared.keys().map(String::as_str))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut degrees: HashMap<String, usize> = HashMap::new();
        let what = format!("counting the assets sharing vertices with asset {asset_id}");
        for batch in vids.chunks(self.batch_size) {
            for row in self
                .run(&what, RELATED_DEGREES, &json!({ "vids": batch }))
                .await?
            {
                if let (Some(vid), Some(count)) = (text(&row, "vid"), count(&row, "assets")) {
                    degrees.insert(vid.to_owned(), count);
                }
            }
        }

        let mut related: Vec<Related> = candidates
            .into_iter()
            .map(|(vertex_id, Candidate { name, shared })| {
                let mut shared: Vec<Shared> = shared
                    .into_iter()
                    .map(|(id, (kind, name))| {
                        // Both assets link to it, whatever a concurrent change did meanwhile.
                        let assets = degrees.get(&id).copied().unwrap_or(2);
                        Shared {
                            kind,
                            weight: shared_weight(kind, assets),
                            id,
                            name,
                            assets,
                        }
                    })
                    .collect();
                shared.sort_by(|a, b| {
                    b.weight
                        .total_cmp(&a.weight)
                        .then_with(|| a.name.cmp(&b.name))
                        .then_with(|| a.id.cmp(&b.id))
                });
                Related {
                    asset_id: ids::asset_id(&vertex_id).unwrap_or(&vertex_id).to_owned(),
                    name,
                    score: shared.iter().map(|s| s.weight).sum(),
                    shared,
                }
            })
            .collect();
        related.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.asset_id.cmp(&b.asset_id))
        });
        related.truncate(limit);
        Ok(related)
    }

    async fn appearances(
        &self,
        name: &str,
        face_ids: &[String],
    ) -> Result<Vec<Appearance>, GraphError> {
        let name = ids::normalise(name);
        if name.is_empty() && face_ids.is_empty() {
            return Ok(Vec::new());
        }
        // An empty name matches nothing (not every unnamed face).
        let (person_id, lower_name) = if name.is_empty() {
            (Json::Null, Json::Null)
        } else {
            (json!(ids::person(&name)), json!(name))
        };
        let rows = self
            .run(
                "finding where a person appears",
                APPEARANCES,
                &json!({
                    "personId": person_id,
                    "name": lower_name,
                    "faceIds": face_ids,
                }),
            )
            .await?;

        let mut appearances: Vec<Appearance> = rows
            .iter()
            .filter_map(|row| {
                let asset = text(row, "asset")?;
                let person_id = text(row, "pid")?;
                let props = row.get("eprops").and_then(Json::as_object);
                let number = |key: &str| props.and_then(|p| p.get(key)).and_then(Json::as_f64);
                Some(Appearance {
                    asset_id: ids::asset_id(asset).unwrap_or(asset).to_owned(),
                    asset_name: text(row, "assetName").unwrap_or_default().to_owned(),
                    person_id: person_id.to_owned(),
                    person: text(row, "pname").unwrap_or_default().to_owned(),
                    confidence: number("confidence"),
                    seconds: number("seconds"),
                    first_seen: number("firstSeen"),
                    last_seen: number("lastSeen"),
                    ranges: props
                        .and_then(|p| p.get("ranges"))
                        .and_then(Json::as_str)
                        .map(parse_ranges)
                        .unwrap_or_default(),
                })
            })
            .collect();
        appearances.sort_by(|a, b| {
            let seconds = match (a.seconds, b.seconds) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            seconds
                .then_with(|| a.asset_name.cmp(&b.asset_name))
                .then_with(|| a.asset_id.cmp(&b.asset_id))
                .then_with(|| a.person_id.cmp(&b.person_id))
        });
        Ok(appearances)
    }
}

/// An asset sharing vertices with the asset `related` is asked about.
struct Candidate {
    name: String,
    /// Shared vertex id → its kind and name.
    shared: BTreeMap<String, (VertexKind, String)>,
}

// --- parameters and rows ------------------------------------------------------------------------

type Row = Map<String, Json>;

/// `properties` as a JSON map of plain values, without `own` (a field of its own), Neptune's
/// `~` keys and non-finite numbers.
fn props_json(properties: &Properties, own: &str) -> Json {
    let map: Map<String, Json> = properties
        .iter()
        .filter(|(key, _)| key.as_str() != own && !key.starts_with('~'))
        .filter_map(|(key, value)| {
            let value = match value {
                Value::Bool(b) => Json::Bool(*b),
                Value::Long(n) => Json::from(*n),
                Value::Double(n) => Json::Number(serde_json::Number::from_f64(*n)?),
                Value::Text(s) => Json::String(s.clone()),
            };
            Some((key.clone(), value))
        })
        .collect();
    Json::Object(map)
}

/// Neptune's `results`: a list of rows (maps).
fn rows(what: &str, results: &Document) -> Result<Vec<Row>, GraphError> {
    match to_json(results) {
        Json::Null => Ok(Vec::new()),
        Json::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Json::Object(row) => Ok(row),
                other => Err(GraphError::Failed(format!(
                    "{what}: Neptune answered a row that is not a map: {other}"
                ))),
            })
            .collect(),
        other => Err(GraphError::Failed(format!(
            "{what}: Neptune's results are not a list of rows: {other}"
        ))),
    }
}

fn to_json(document: &Document) -> Json {
    match document {
        Document::Object(map) => Json::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), to_json(value)))
                .collect(),
        ),
        Document::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Document::Number(Number::PosInt(n)) => Json::from(*n),
        Document::Number(Number::NegInt(n)) => Json::from(*n),
        Document::Number(Number::Float(n)) => serde_json::Number::from_f64(*n)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Document::String(s) => Json::String(s.clone()),
        Document::Bool(b) => Json::Bool(*b),
        Document::Null => Json::Null,
    }
}

fn text<'a>(row: &'a Row, key: &str) -> Option<&'a str> {
    row.get(key).and_then(Json::as_str)
}

fn count(row: &Row, key: &str) -> Option<usize> {
    let value = row.get(key)?;
    value
        .as_u64()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .or_else(|| value.as_f64().map(|n| n.max(0.0) as usize))
}

/// The first of the labels in column `key` that is a vertex kind.
fn vertex_kind(row: &Row, key: &str) -> Option<VertexKind> {
    match row.get(key)? {
        Json::Array(labels) => labels
            .iter()
            .filter_map(Json::as_str)
            .find_map(VertexKind::from_label),
        Json::String(label) => VertexKind::from_label(label),
        _ => None,
    }
}

/// A properties map split into the text property `own` (empty when absent) and the others.
fn named_properties(map: Option<&Json>, own: &str) -> (String, Properties) {
    let mut named = String::new();
    let mut properties = Properties::new();
    for (key, value) in map.and_then(Json::as_object).into_iter().flatten() {
        if key == own {
            if let Some(text) = value.as_str() {
                named = text.to_owned();
            }
            continue;
        }
        if let Some(value) = to_value(value) {
            properties.insert(key.clone(), value);
        }
    }
    (named, properties)
}

fn to_value(json: &Json) -> Option<Value> {
    match json {
        Json::Bool(b) => Some(Value::Bool(*b)),
        Json::Number(n) => Some(match (n.as_i64(), n.as_u64()) {
            (Some(n), _) => Value::Long(n),
            (None, Some(n)) => Value::Long(i64::try_from(n).unwrap_or(i64::MAX)),
            (None, None) => Value::Double(n.as_f64()?),
        }),
        Json::String(s) => Some(Value::Text(s.clone())),
        Json::Null | Json::Array(_) | Json::Object(_) => None,
    }
}

// --- errors ---------------------------------------------------------------------------------------

/// What a failed `ExecuteOpenCypherQuery` means; `what` is what it was for.
fn classify(what: &str, err: &SdkError<ExecuteOpenCypherQueryError>) -> GraphError {
    let fault = Fault::of(OPERATION, err);
    let mut message = fault.message.clone();
    if let Some(detail) = neptune_detail(err).filter(|d| !d.is_empty() && !message.contains(d)) {
        message = format!("{message}: {detail}");
    }
    let code = fault.code.as_deref().unwrap_or_default();
    if fault.transient || NEPTUNE_TRANSIENT_CODES.contains(&code) {
        return GraphError::Unavailable(format!(
            "Neptune is throttled, busy or unreachable while {what} ({message}); the event will \
             be retried. If this lasts, check the cluster's health and capacity, and that the \
             function can reach the cluster endpoint (its VPC, subnets and security groups)."
        ));
    }
    let denied =
        matches!(code, "AccessDeniedException" | "AccessDenied") || fault.status == Some(403);
    let advice = match code {
        _ if denied => {
            "Grant neptune-db:ReadDataViaQuery, neptune-db:WriteDataViaQuery and \
             neptune-db:DeleteDataViaQuery on the cluster to the graph function's role."
        }
        "ReadOnlyViolationException" => {
            "The endpoint is a read replica's: configure the cluster (writer) endpoint."
        }
        "MalformedQueryException" | "ParsingException" | "UnsupportedOperationException" => {
            "The cluster does not take the adapter's openCypher: it needs Neptune engine \
             1.2.0.2 or later (custom ids in MERGE); on such an engine this is a bug of the \
             graph service's Neptune adapter."
        }
        "QueryTooLargeException" | "QueryLimitException" => {
            "The request is too large for Neptune: lower the adapter's batch size."
        }
        "BadRequestException"
        | "InvalidParameterException"
        | "InvalidArgumentException"
        | "IllegalArgumentException"
        | "MissingParameterException"
        | "InvalidNumericDataException"
        | "PreconditionsFailedException" => {
            "Neptune refused the request's parameters (an id or a property value it cannot \
             store?); retrying will not help."
        }
        "" => {
            "The request could not be made: check the cluster endpoint, the function's AWS \
             region and credentials."
        }
        _ => "Retrying will not help.",
    };
    GraphError::Failed(format!("Neptune failed while {what} ({message}). {advice}"))
}

/// The `detailedMessage` of Neptune's error answer: the SDK shows no `message` for most of
/// Neptune's exceptions, and none at all for codes it does not model (`AccessDeniedException`).
fn neptune_detail(err: &SdkError<ExecuteOpenCypherQueryError>) -> Option<String> {
    let from_body = err
        .raw_response()
        .and_then(|response| response.body().bytes())
        .and_then(|body| serde_json::from_slice::<Json>(body).ok())
        .and_then(|answer| answer.get("detailedMessage")?.as_str().map(str::to_owned));
    from_body.or_else(|| {
        err.as_service_error()
            .and_then(detailed_message)
            .map(str::to_owned)
    })
}

/// The `detailedMessage` of a modelled exception.
fn detailed_message(err: &ExecuteOpenCypherQueryError) -> Option<&str> {
    use ExecuteOpenCypherQueryError as E;
    macro_rules! detail {
        ($($variant:ident),* $(,)?) => {
            match err {
                $(E::$variant(e) => Some(e.detailed_message()),)*
                _ => None,
            }
        };
    }
    detail!(
        BadRequestException,
        CancelledByMaintenanceException,
        CancelledByUserException,
        ClientTimeoutException,
        ConcurrentModificationException,
        ConstraintViolationException,
        FailureByQueryException,
        IllegalArgumentException,
        InvalidArgumentException,
        InvalidNumericDataException,
        InvalidParameterException,
        MalformedQueryException,
        MemoryLimitExceededException,
        MissingParameterException,
        ParsingException,
        PreconditionsFailedException,
        QueryLimitExceededException,
        QueryLimitException,
        QueryTooLargeException,
        TimeLimitExceededException,
        TooManyRequestsException,
        UnsupportedOperationException,
    )
}
