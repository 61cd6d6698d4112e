//! The graph and its search index in one SQLite database: the local backend of
//! [`GraphStore`], [`GraphQueries`] and [`SearchIndex`].
//!
//! ```sql
//! vertices(id TEXT PRIMARY KEY, kind TEXT /* VertexKind::label */, name TEXT,
//!          properties TEXT /* a JSON object */)
//! edges(id TEXT PRIMARY KEY, kind TEXT /* EdgeKind::label */, from_id TEXT, to_id TEXT,
//!       analysis TEXT, properties TEXT /* a JSON object */)
//! search USING fts5(text, asset_id UNINDEXED, analysis UNINDEXED, field UNINDEXED,
//!                   ranges UNINDEXED, page UNINDEXED)
//! ```
//!
//! Properties are stored as a plain JSON object: a `Long` is a JSON integer, a `Double` a
//! JSON number with a fraction or an exponent (serde_json writes `3.0` for `3.0_f64`), so
//! both survive a round trip. A non-finite `Double` has no JSON form and is not stored.
//!
//! The database runs in WAL mode with a busy timeout, so one process (the CLI) can read
//! while another (a run) writes; every write is one `BEGIN IMMEDIATE` transaction.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::model::{
    Edge, EdgeKind, Facts, Properties, Value, Vertex, VertexKind, format_ranges, ids, parse_ranges,
};
use crate::ports::{
    Appearance, AssetGraph, Field, GraphError, GraphQueries, GraphStore, Neighbour, Related,
    SearchDoc, SearchHit, SearchIndex, Shared, shared_weight,
};

/// How long a write waits for another process's write before giving up as `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema. `edges_from_analysis` also serves lookups by `from_id` alone (it is its
/// prefix), so there is no separate index on `from_id`.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vertices (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS vertices_kind ON vertices (kind);
CREATE TABLE IF NOT EXISTS edges (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    from_id TEXT NOT NULL,
    to_id TEXT NOT NULL,
    analysis TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS edges_from_analysis ON edges (from_id, analysis);
CREATE INDEX IF NOT EXISTS edges_to ON edges (to_id);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(
    text,
    asset_id UNINDEXED,
    analysis UNINDEXED,
    field UNINDEXED,
    ranges UNINDEXED,
    page UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
";

/// The knowledge graph and the search index in a SQLite database. Cloning shares the
/// connection.
#[derive(Clone)]
pub struct SqliteGraph {
    connection: Arc<Mutex<Connection>>,
    /// `None` for an in-memory database.
    path: Option<Arc<PathBuf>>,
}

impl fmt::Debug for SqliteGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteGraph")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteGraph {
    /// Opens (creating when needed, with its folder) the database at `path`, in WAL mode.
    pub fn open(path: &Path) -> Result<Self, GraphError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                GraphError::Failed(format!("creating the folder {}: {e}", parent.display()))
            })?;
        }
        let context = |doing: &str| format!("{doing} the graph database {}", path.display());
        let connection = Connection::open(path).doing(&context("opening"))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .doing(&context("configuring"))?;
        let mode: String = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .doing(&context("switching to WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "the graph database is not in WAL mode");
        }
        connection
            .pragma_update(None, "synchronous", "FULL")
            .doing(&context("configuring"))?;
        Self::with_connection(connection, Some(path.to_path_buf()))
    }

    /// A private database in memory, gone when the last clone is dropped: for tests.
    pub fn in_memory() -> Result<Self, GraphError> {
        let connection = Connection::open_in_memory().doing("opening an in-memory database")?;
        Self::with_connection(connection, None)
    }

    fn with_connection(connection: Connection, path: Option<PathBuf>) -> Result<Self, GraphError> {
        connection
            .execute_batch(SCHEMA)
            .doing("creating the graph schema (vertices, edges, search)")?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            path: path.map(Arc::new),
        })
    }

    /// The database file; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref().map(PathBuf::as_path)
    }

    /// Every vertex, by id.
    pub fn all_vertices(&self) -> Result<Vec<Vertex>, GraphError> {
        self.blocking(|connection| {
            let doing = "reading every vertex";
            let mut statement = connection
                .prepare("SELECT id, kind, name, properties FROM vertices ORDER BY id")
                .doing(doing)?;
            let rows = statement
                .query_map([], RawVertex::from_row)
                .doing(doing)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .doing(doing)?;
            rows.into_iter().map(RawVertex::into_vertex).collect()
        })
    }

    /// Every edge, by id.
    pub fn all_edges(&self) -> Result<Vec<Edge>, GraphError> {
        self.blocking(|connection| {
            let doing = "reading every edge";
            let mut statement = connection
                .prepare(
                    "SELECT id, kind, from_id, to_id, analysis, properties FROM edges ORDER BY id",
                )
                .doing(doing)?;
            let rows = statement
                .query_map([], |row| RawEdge::from_row(row, 0))
                .doing(doing)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .doing(doing)?;
            rows.into_iter().map(RawEdge::into_edge).collect()
        })
    }

    /// Runs `work` on the connection on this thread.
    fn blocking<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, GraphError>,
    ) -> Result<T, GraphError> {
        // A panic cannot leave a transaction open (it rolls back on drop), so a poisoned lock
        // still guards a consistent connection.
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        work(&mut connection)
    }

    /// Runs `work` on the connection on a blocking thread.
    async fn run<T, F>(&self, work: F) -> Result<T, GraphError>
    where
        F: FnOnce(&mut Connection) -> Result<T, GraphError> + Send + 'static,
        T: Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.blocking(work))
            .await
            .map_err(|e| {
                GraphError::Unavailable(format!("a graph store task did not finish: {e}"))
            })?
    }
}

#[async_trait]
impl GraphStore for SqliteGraph {
    async fn apply(&self, facts: &Facts) -> Result<(), GraphError> {
        let facts = facts.clone();
        self.run(move |connection| apply_facts(connection, &facts))
            .await
    }

    async fn assets_with_checksum(&self, md5: &str) -> Result<Vec<String>, GraphError> {
        let checksum = ids::checksum(md5);
        self.run(move |connection| {
            let doing = format!("reading the assets with checksum {checksum}");
            let mut statement = connection
                .prepare("SELECT DISTINCT from_id FROM edges WHERE to_id = ?1 AND kind = ?2")
                .doing(&doing)?;
            let from_ids = statement
                .query_map(params![checksum, EdgeKind::HasChecksum.label()], |row| {
                    row.get::<_, String>(0)
                })
                .doing(&doing)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .doing(&doing)?;
            Ok(from_ids
                .iter()
                .filter_map(|id| ids::asset_id(id))
                .map(str::to_owned)
                .collect())
        })
        .await
    }
}

#[async_trait]
impl GraphQueries for SqliteGraph {
    async fn asset(&self, asset_id: &str) -> Result<Option<AssetGraph>, GraphError> {
        let vertex_id = ids::asset(asset_id);
        self.run(move |connection| asset_graph(connection, &vertex_id))
            .await
    }

    async fn related(&self, asset_id: &str, limit: usize) -> Result<Vec<Related>, GraphError> {
        let vertex_id = ids::asset(asset_id);
        self.run(move |connection| related(connection, &vertex_id, limit))
            .await
    }

    async fn appearances(
        &self,
        name: &str,
        face_ids: &[String],
    ) -> Result<Vec<Appearance>, GraphError> {
        let name = name.to_owned();
        let face_ids = face_ids.to_vec();
        self.run(move |connection| appearances(connection, &name, &face_ids))
            .await
    }
}

#[async_trait]
impl SearchIndex for SqliteGraph {
    async fn replace(
        &self,
        asset_id: &str,
        analysis: &str,
        docs: &[SearchDoc],
    ) -> Result<(), GraphError> {
        let (asset_id, analysis, docs) = (asset_id.to_owned(), analysis.to_owned(), docs.to_vec());
        self.run(move |connection| {
            let doing = format!("replacing the {analysis} search documents of asset {asset_id}");
            let tx = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .doing(&doing)?;
            tx.execute(
                "DELETE FROM search WHERE asset_id = ?1 AND analysis = ?2",
                params![asset_id, analysis],
            )
            .doing(&doing)?;
            {
                let mut insert = tx
                    .prepare(
                        "INSERT INTO search (text, asset_id, analysis, field, ranges, page)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .doing(&doing)?;
                for doc in &docs {
                    insert
                        .execute(params![
                            doc.text,
                            asset_id,
                            analysis,
                            doc.field.name(),
                            format_ranges(&doc.ranges),
                            doc.page,
                        ])
                        .doing(&doing)?;
                }
            }
            tx.commit().doing(&doing)
        })
        .await
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, GraphError> {
        let Some(expression) = fts_query(query) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |connection| {
            let doing = "searching the search index";
            let mut statement = connection
                .prepare(
                    "SELECT asset_id, field, highlight(search, 0, '[', ']'), ranges, page,
                            bm25(search) AS score
                     FROM search WHERE search MATCH ?1
                     ORDER BY score, asset_id, rowid LIMIT ?2",
                )
                .doing(doing)?;
            let rows = statement
                .query_map(params![expression, limit], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, Option<i64>>(4)?,
                        row.get::<_, f64>(5)?,
                    ))
                })
                .doing(doing)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .doing(doing)?;
            let mut hits = Vec::with_capacity(rows.len());
            for (asset_id, field, snippet, ranges, page, bm25) in rows {
                let Some(field) = Field::from_name(&field) else {
                    tracing::warn!(
                        asset_id,
                        field,
                        "skipping a search document of an unknown field"
                    );
                    continue;
                };
                hits.push(SearchHit {
                    asset_id,
                    field,
                    snippet,
                    ranges: ranges.as_deref().map(parse_ranges).unwrap_or_default(),
                    page: page.and_then(|p| u32::try_from(p).ok()),
                    score: -bm25,
                });
            }
            Ok(hits)
        })
        .await
    }
}

/// The FTS5 expression for a user's query: every `"quoted phrase"` and every bare word
/// becomes an FTS5 string (so nothing the user typed is FTS5 syntax), all of them required.
/// `None` when nothing in the query can match (only whitespace and punctuation).
pub(crate) fn fts_query(query: &str) -> Option<String> {
    let mut pieces: Vec<&str> = Vec::new();
    // Outside quotes at even positions, inside at odd ones; an unclosed quote runs to the end.
    for (index, part) in query.split('"').enumerate() {
        if index % 2 == 1 {
            pieces.push(part);
        } else {
            pieces.extend(part.split_whitespace());
        }
    }
    let strings: Vec<String> = pieces
        .into_iter()
        // The tokenizer keeps letters and numbers only: a piece without any would be an empty
        // phrase.
        .filter(|piece| piece.chars().any(char::is_alphanumeric))
        .map(|piece| format!("\"{}\"", piece.replace('"', "\"\"")))
        .collect();
    (!strings.is_empty()).then(|| strings.join(" "))
}

fn apply_facts(connection: &mut Connection, facts: &Facts) -> Result<(), GraphError> {
    let doing = format!(
        "applying the {} facts of asset {}",
        facts.analysis, facts.asset_id
    );
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .doing(&doing)?;
    {
        let doing_vertices = format!("{doing} (vertices)");
        let mut select = tx
            .prepare("SELECT name, properties FROM vertices WHERE id = ?1")
            .doing(&doing_vertices)?;
        let mut upsert = tx
            .prepare(
                "INSERT INTO vertices (id, kind, name, properties) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET
                     kind = excluded.kind, name = excluded.name, properties = excluded.properties",
            )
            .doing(&doing_vertices)?;
        for vertex in &facts.vertices {
            let existing = select
                .query_row(params![vertex.id], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .optional()
                .doing(&doing_vertices)?;
            let (name, properties) = match existing {
                None => (vertex.name.clone(), vertex.properties.clone()),
                Some((name, properties)) => {
                    let mut merged = decode_properties(&properties, "vertex", &vertex.id)?;
                    merged.extend(vertex.properties.clone());
                    let name = if vertex.name.is_empty() {
                        name
                    } else {
                        vertex.name.clone()
                    };
                    (name, merged)
                }
            };
            upsert
                .execute(params![
                    vertex.id,
                    vertex.kind.label(),
                    name,
                    encode_properties(&properties)
                ])
                .doing(&doing_vertices)?;
        }

        let doing_edges = format!("{doing} (edges)");
        let asset = ids::asset(&facts.asset_id);
        let listed: HashSet<&str> = facts.edges.iter().map(|e| e.id.as_str()).collect();
        let earlier = tx
            .prepare("SELECT id FROM edges WHERE from_id = ?1 AND analysis = ?2")
            .doing(&doing_edges)?
            .query_map(params![asset, facts.analysis], |row| {
                row.get::<_, String>(0)
            })
            .doing(&doing_edges)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .doing(&doing_edges)?;
        let mut delete = tx
            .prepare("DELETE FROM edges WHERE id = ?1")
            .doing(&doing_edges)?;
        for id in earlier.iter().filter(|id| !listed.contains(id.as_str())) {
            delete.execute(params![id]).doing(&doing_edges)?;
        }
        let mut upsert = tx
            .prepare(
                "INSERT INTO edges (id, kind, from_id, to_id, analysis, properties)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET
                     kind = excluded.kind, from_id = excluded.from_id, to_id = excluded.to_id,
                     analysis = excluded.analysis, properties = excluded.properties",
            )
            .doing(&doing_edges)?;
        for edge in &facts.edges {
            upsert
                .execute(params![
                    edge.id,
                    edge.kind.label(),
                    edge.from,
                    edge.to,
                    edge.analysis,
                    encode_properties(&edge.properties)
                ])
                .doing(&doing_edges)?;
        }
    }
    tx.commit().doing(&doing)
}

fn read_vertex(connection: &Connection, id: &str) -> Result<Option<Vertex>, GraphError> {
    let doing = format!("reading the vertex {id}");
    connection
        .query_row(
            "SELECT id, kind, name, properties FROM vertices WHERE id = ?1",
            params![id],
            RawVertex::from_row,
        )
        .optional()
        .doing(&doing)?
        .map(RawVertex::into_vertex)
        .transpose()
}

fn asset_graph(connection: &Connection, vertex_id: &str) -> Result<Option<AssetGraph>, GraphError> {
    let Some(asset) = read_vertex(connection, vertex_id)? else {
        return Ok(None);
    };
    let doing = format!("reading the edges of {vertex_id}");
    let mut statement = connection
        .prepare(
            "SELECT e.id, e.kind, e.from_id, e.to_id, e.analysis, e.properties,
                    v.id, v.kind, v.name, v.properties
             FROM edges e
             JOIN vertices v ON v.id = CASE WHEN e.from_id = ?1 THEN e.to_id ELSE e.from_id END
             WHERE e.from_id = ?1 OR e.to_id = ?1",
        )
        .doing(&doing)?;
    let rows = statement
        .query_map(params![vertex_id], |row| {
            Ok((RawEdge::from_row(row, 0)?, RawVertex::from_row_at(row, 6)?))
        })
        .doing(&doing)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .doing(&doing)?;
    let mut edges = rows
        .into_iter()
        .map(|(edge, vertex)| {
            Ok(Neighbour {
                edge: edge.into_edge()?,
                vertex: vertex.into_vertex()?,
            })
        })
        .collect::<Result<Vec<_>, GraphError>>()?;
    edges.sort_by(neighbour_order);
    Ok(Some(AssetGraph { asset, edges }))
}

/// By edge kind, then the most telling first (`seconds`, `confidence`, `score`, highest
/// first, absent last), then by the other vertex's name and the edge id.
fn neighbour_order(a: &Neighbour, b: &Neighbour) -> Ordering {
    let number = |n: &Neighbour, key: &str| n.edge.properties.get(key).and_then(Value::as_f64);
    a.edge
        .kind
        .cmp(&b.edge.kind)
        .then_with(|| descending(number(a, "seconds"), number(b, "seconds")))
        .then_with(|| descending(number(a, "confidence"), number(b, "confidence")))
        .then_with(|| descending(number(a, "score"), number(b, "score")))
        .then_with(|| a.vertex.name.cmp(&b.vertex.name))
        .then_with(|| a.edge.id.cmp(&b.edge.id))
}

/// Highest first, `None` last.
fn descending(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A vertex the asset links to, with every asset linking to it.
struct Linked {
    kind: VertexKind,
    name: String,
    /// Asset vertex ids.
    assets: BTreeSet<String>,
}

fn related(connection: &Connection, asset: &str, limit: usize) -> Result<Vec<Related>, GraphError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let doing = format!("reading the assets related to {asset}");
    // Every vertex the asset links to, once per asset linking to it (the asset included).
    let rows = connection
        .prepare(
            "SELECT v.id, v.kind, v.name, other.from_id
             FROM (SELECT DISTINCT to_id FROM edges WHERE from_id = ?1) mine
             JOIN vertices v ON v.id = mine.to_id
             JOIN edges other ON other.to_id = v.id
             WHERE substr(other.from_id, 1, 6) = 'asset:'",
        )
        .doing(&doing)?
        .query_map(params![asset], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .doing(&doing)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .doing(&doing)?;
    let mut linked: BTreeMap<String, Linked> = BTreeMap::new();
    for (id, kind, name, from) in rows {
        let kind = vertex_kind(&kind, &id)?;
        if kind.relatedness() <= 0.0 {
            continue;
        }
        linked
            .entry(id)
            .or_insert_with(|| Linked {
                kind,
                name,
                assets: BTreeSet::new(),
            })
            .assets
            .insert(from);
    }

    // Related asset vertex id → shared vertex id → what they share.
    let mut sharing: BTreeMap<String, BTreeMap<String, Shared>> = BTreeMap::new();
    let shared = |id: &str, link: &Linked, assets: usize| Shared {
        kind: link.kind,
        id: id.to_owned(),
        name: link.name.clone(),
        assets,
        weight: shared_weight(link.kind, assets),
    };
    for (id, link) in &linked {
        for other in link.assets.iter().filter(|other| *other != asset) {
            sharing
                .entry(other.clone())
                .or_default()
                .insert(id.clone(), shared(id, link, link.assets.len()));
        }
    }

    // Byte-identical assets share the checksum vertex even when one lacks its HAS_CHECKSUM
    // edge; each checksum vertex counts once.
    let doing_same = format!("reading the assets byte-identical to {asset}");
    let identical = connection
        .prepare(
            "SELECT CASE WHEN from_id = ?1 THEN to_id ELSE from_id END FROM edges
             WHERE kind = ?2 AND (from_id = ?1 OR to_id = ?1)",
        )
        .doing(&doing_same)?
        .query_map(params![asset, EdgeKind::SameChecksum.label()], |row| {
            row.get::<_, String>(0)
        })
        .doing(&doing_same)?
        .collect::<rusqlite::Result<BTreeSet<_>>>()
        .doing(&doing_same)?;
    let own_checksums: Vec<&String> = linked
        .iter()
        .filter(|(_, link)| link.kind == VertexKind::Checksum)
        .map(|(id, _)| id)
        .collect();
    for other in identical
        .iter()
        .filter(|other| *other != asset && ids::asset_id(other).is_some())
    {
        let checksums: Vec<(String, Linked)> = if own_checksums.is_empty() {
            checksums_of(connection, other)?
        } else {
            own_checksums
                .iter()
                .map(|id| {
                    let link = &linked[*id];
                    let link = Linked {
                        kind: link.kind,
                        name: link.name.clone(),
                        assets: link.assets.clone(),
                    };
                    ((*id).clone(), link)
                })
                .collect()
        };
        let entry = sharing.entry(other.clone()).or_default();
        for (id, mut link) in checksums {
            if entry.contains_key(&id) {
                continue;
            }
            link.assets.insert(asset.to_owned());
            link.assets.insert(other.clone());
            entry.insert(id.clone(), shared(&id, &link, link.assets.len()));
        }
    }

    let mut related = Vec::with_capacity(sharing.len());
    for (other, shared) in sharing {
        if shared.is_empty() {
            continue;
        }
        let name = read_vertex(connection, &other)?
            .map(|v| v.name)
            .unwrap_or_default();
        let mut shared: Vec<Shared> = shared.into_values().collect();
        shared.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.id.cmp(&b.id))
        });
        let score = shared.iter().map(|s| s.weight).sum();
        let asset_id = ids::asset_id(&other).unwrap_or(&other).to_owned();
        related.push(Related {
            asset_id,
            name,
            score,
            shared,
        });
    }
    related.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.asset_id.cmp(&b.asset_id))
    });
    related.truncate(limit);
    Ok(related)
}

/// The checksum vertices `asset` has, with every asset having each.
fn checksums_of(connection: &Connection, asset: &str) -> Result<Vec<(String, Linked)>, GraphError> {
    let doing = format!("reading the checksums of {asset}");
    let rows = connection
        .prepare(
            "SELECT v.id, v.name, other.from_id
             FROM edges mine
             JOIN vertices v ON v.id = mine.to_id
             JOIN edges other ON other.to_id = v.id AND other.kind = ?2
             WHERE mine.from_id = ?1 AND mine.kind = ?2",
        )
        .doing(&doing)?
        .query_map(params![asset, EdgeKind::HasChecksum.label()], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .doing(&doing)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .doing(&doing)?;
    let mut checksums: BTreeMap<String, Linked> = BTreeMap::new();
    for (id, name, from) in rows {
        checksums
            .entry(id)
            .or_insert_with(|| Linked {
                kind: VertexKind::Checksum,
                name,
                assets: BTreeSet::new(),
            })
            .assets
            .insert(from);
    }
    Ok(checksums.into_iter().collect())
}

fn appearances(
    connection: &Connection,
    name: &str,
    face_ids: &[String],
) -> Result<Vec<Appearance>, GraphError> {
    let wanted = ids::normalise(name);
    let faces: HashSet<&str> = face_ids.iter().map(String::as_str).collect();
    let doing = format!("reading the persons named {name:?}");
    let persons: Vec<(String, String)> = connection
        .prepare("SELECT id, name FROM vertices WHERE kind = ?1")
        .doing(&doing)?
        .query_map(params![VertexKind::Person.label()], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .doing(&doing)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .doing(&doing)?
        .into_iter()
        // An empty name matches no one (unnamed faces have empty names).
        .filter(|(id, person)| {
            faces.contains(id.as_str()) || (!wanted.is_empty() && ids::normalise(person) == wanted)
        })
        .collect();

    let mut found = Vec::new();
    for (person_id, person) in persons {
        let doing = format!("reading where {person_id} appears");
        let rows = connection
            .prepare(
                "SELECT e.from_id, e.properties, a.name FROM edges e
                 LEFT JOIN vertices a ON a.id = e.from_id
                 WHERE e.to_id = ?1 AND e.kind = ?2",
            )
            .doing(&doing)?
            .query_map(params![person_id, EdgeKind::Features.label()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })
            .doing(&doing)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .doing(&doing)?;
        for (from, properties, asset_name) in rows {
            let Some(asset_id) = ids::asset_id(&from) else {
                continue;
            };
            let properties = decode_properties(&properties, "edge to", &person_id)?;
            let number = |key: &str| properties.get(key).and_then(Value::as_f64);
            found.push(Appearance {
                asset_id: asset_id.to_owned(),
                asset_name: asset_name.unwrap_or_default(),
                person_id: person_id.clone(),
                person: person.clone(),
                confidence: number("confidence"),
                seconds: number("seconds"),
                first_seen: number("firstSeen"),
                last_seen: number("lastSeen"),
                ranges: properties
                    .get("ranges")
                    .and_then(Value::as_str)
                    .map(parse_ranges)
                    .unwrap_or_default(),
            });
        }
    }
    found.sort_by(|a, b| {
        descending(a.seconds, b.seconds)
            .then_with(|| a.asset_name.cmp(&b.asset_name))
            .then_with(|| a.asset_id.cmp(&b.asset_id))
            .then_with(|| a.person_id.cmp(&b.person_id))
    });
    Ok(found)
}

/// A vertex row as stored.
struct RawVertex {
    id: String,
    kind: String,
    name: String,
    properties: String,
}

impl RawVertex {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Self::from_row_at(row, 0)
    }

    fn from_row_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(at)?,
            kind: row.get(at + 1)?,
            name: row.get(at + 2)?,
            properties: row.get(at + 3)?,
        })
    }

    fn into_vertex(self) -> Result<Vertex, GraphError> {
        Ok(Vertex {
            kind: vertex_kind(&self.kind, &self.id)?,
            properties: decode_properties(&self.properties, "vertex", &self.id)?,
            id: self.id,
            name: self.name,
        })
    }
}

/// An edge row as stored.
struct RawEdge {
    id: String,
    kind: String,
    from: String,
    to: String,
    analysis: String,
    properties: String,
}

impl RawEdge {
    fn from_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(at)?,
            kind: row.get(at + 1)?,
            from: row.get(at + 2)?,
            to: row.get(at + 3)?,
            analysis: row.get(at + 4)?,
            properties: row.get(at + 5)?,
        })
    }

    fn into_edge(self) -> Result<Edge, GraphError> {
        Ok(Edge {
            kind: EdgeKind::from_label(&self.kind).ok_or_else(|| {
                GraphError::Failed(format!(
                    "the edge {} has an unknown kind {:?}",
                    self.id, self.kind
                ))
            })?,
            properties: decode_properties(&self.properties, "edge", &self.id)?,
            id: self.id,
            from: self.from,
            to: self.to,
            analysis: self.analysis,
        })
    }
}

fn vertex_kind(label: &str, id: &str) -> Result<VertexKind, GraphError> {
    VertexKind::from_label(label)
        .ok_or_else(|| GraphError::Failed(format!("the vertex {id} has an unknown kind {label:?}")))
}

/// Properties as a JSON object; a non-finite `Double` (no JSON form) is left out.
fn encode_properties(properties: &Properties) -> String {
    let object: serde_json::Map<String, serde_json::Value> = properties
        .iter()
        .filter_map(|(key, value)| {
            let json = match value {
                Value::Bool(b) => serde_json::Value::Bool(*b),
                Value::Long(n) => serde_json::Value::from(*n),
                Value::Double(n) => serde_json::Value::Number(serde_json::Number::from_f64(*n)?),
                Value::Text(s) => serde_json::Value::String(s.clone()),
            };
            Some((key.clone(), json))
        })
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// The properties [`encode_properties`] wrote: a JSON integer is a `Long`, any other number
/// a `Double`. Nulls, arrays and objects (never written) are skipped.
fn decode_properties(json: &str, what: &str, id: &str) -> Result<Properties, GraphError> {
    let corrupt = |why: String| GraphError::Failed(format!("the properties of {what} {id}: {why}"));
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
    let serde_json::Value::Object(object) = value else {
        return Err(corrupt("not a JSON object".to_owned()));
    };
    Ok(object
        .into_iter()
        .filter_map(|(key, value)| {
            let value = match value {
                serde_json::Value::Bool(b) => Value::Bool(b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(n) => Value::Long(n),
                    None => Value::Double(n.as_f64()?),
                },
                serde_json::Value::String(s) => Value::Text(s),
                serde_json::Value::Null
                | serde_json::Value::Array(_)
                | serde_json::Value::Object(_) => return None,
            };
            Some((key, value))
        })
        .collect())
}

/// Maps a rusqlite result to a [`GraphError`] saying what was being done: a busy or locked
/// database is `Unavailable` (retryable), anything else `Failed`.
trait Doing<T> {
    fn doing(self, doing: &str) -> Result<T, GraphError>;
}

impl<T> Doing<T> for rusqlite::Result<T> {
    fn doing(self, doing: &str) -> Result<T, GraphError> {
        self.map_err(|e| sql_error(doing, e))
    }
}

fn sql_error(doing: &str, e: rusqlite::Error) -> GraphError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            GraphError::Unavailable(format!("{doing}: the database is busy: {e}"))
        }
        _ => GraphError::Failed(format!("{doing}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_fts5_strings() {
        assert_eq!(fts_query("  "), None);
        assert_eq!(fts_query("* \" ( ) :"), None);
        assert_eq!(fts_query("red car").as_deref(), Some("\"red\" \"car\""));
        assert_eq!(
            fts_query("say \"red car\" now").as_deref(),
            Some("\"say\" \"red car\" \"now\"")
        );
        assert_eq!(
            fts_query("NEAR(a b) OR col:x * \"").as_deref(),
            Some("\"NEAR(a\" \"b)\" \"OR\" \"col:x\"")
        );
        assert_eq!(
            fts_query("\"unclosed phrase").as_deref(),
            Some("\"unclosed phrase\"")
        );
    }

    #[test]
    fn properties_keep_their_types() {
        let properties: Properties = [
            ("long".to_owned(), Value::Long(3)),
            ("double".to_owned(), Value::Double(3.0)),
            ("big".to_owned(), Value::Double(1e300)),
            ("small".to_owned(), Value::Double(-2.5e-8)),
            ("max".to_owned(), Value::Long(i64::MAX)),
            ("bool".to_owned(), Value::Bool(false)),
            ("text".to_owned(), Value::Text("3.0".to_owned())),
        ]
        .into_iter()
        .collect();
        let json = encode_properties(&properties);
        assert_eq!(decode_properties(&json, "vertex", "v").unwrap(), properties);

        let mut with_nan = properties.clone();
        with_nan.insert("nan".to_owned(), Value::Double(f64::NAN));
        let json = encode_properties(&with_nan);
        assert_eq!(decode_properties(&json, "vertex", "v").unwrap(), properties);
    }
}
