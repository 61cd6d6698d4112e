//! The graph as Amazon Neptune bulk-load CSV, in the Gremlin property-graph format:
//! <https://docs.aws.amazon.com/neptune/latest/userguide/bulk-load-tutorial-format-gremlin.html>.
//!
//! Vertices and edges go to separate files. Each starts with a header of system columns
//! (`~id`, `~label` for vertices; `~id`, `~from`, `~to`, `~label` for edges) and property
//! columns `name:Type` (`String`, `Long`, `Double`, `Bool`); a row without a property leaves
//! its cell empty. The files follow RFC 4180 (the `csv` crate quotes what needs quoting), in
//! UTF-8.
//!
//! A property's column type is its values' [`Value::neptune_type`]; when the rows disagree it
//! is `Double` if every value is a number, `String` otherwise (the values then written as
//! text). Columns are not array columns, so a `;` in a value is not a separator. A vertex
//! property named `name`, or an edge property named `analysis`, would clash with the column
//! of that name and is not exported.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::model::{Edge, Properties, Value, Vertex};
use crate::ports::GraphError;
use crate::sqlite::SqliteGraph;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A property name Neptune cannot take in a header (space, comma, carriage return or
    /// newline).
    #[error("the property name {0:?} cannot be a Neptune column header")]
    PropertyName(String),
    #[error("reading the graph: {0}")]
    Graph(#[from] GraphError),
}

/// What [`export_dir`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub vertices: usize,
    pub edges: usize,
    pub vertices_path: PathBuf,
    pub edges_path: PathBuf,
}

/// Writes the whole graph to `dir/vertices.csv` and `dir/edges.csv` (creating `dir`).
pub fn export_dir(graph: &SqliteGraph, dir: &Path) -> Result<ExportSummary, ExportError> {
    let vertices = graph.all_vertices()?;
    let edges = graph.all_edges()?;
    std::fs::create_dir_all(dir)?;
    let vertices_path = dir.join("vertices.csv");
    let edges_path = dir.join("edges.csv");
    write_file(&vertices_path, |out| write_vertices(&vertices, out))?;
    write_file(&edges_path, |out| write_edges(&edges, out))?;
    Ok(ExportSummary {
        vertices: vertices.len(),
        edges: edges.len(),
        vertices_path,
        edges_path,
    })
}

fn write_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut out = BufWriter::new(File::create(path)?);
    write(&mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

/// Writes a vertex file: `~id,~label,name:String`, then one column per property.
pub fn write_vertices<W: Write>(vertices: &[Vertex], out: W) -> Result<(), ExportError> {
    let columns = Columns::of(vertices.iter().map(|v| &v.properties), "name")?;
    let mut writer = csv::Writer::from_writer(out);
    let mut header = vec![
        "~id".to_owned(),
        "~label".to_owned(),
        "name:String".to_owned(),
    ];
    header.extend(columns.headers());
    writer.write_record(&header)?;
    for vertex in vertices {
        let mut record = vec![
            vertex.id.clone(),
            vertex.kind.label().to_owned(),
            vertex.name.clone(),
        ];
        record.extend(columns.cells(&vertex.properties));
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(())
}

/// Writes an edge file: `~id,~from,~to,~label,analysis:String`, then one column per property.
pub fn write_edges<W: Write>(edges: &[Edge], out: W) -> Result<(), ExportError> {
    let columns = Columns::of(edges.iter().map(|e| &e.properties), "analysis")?;
    let mut writer = csv::Writer::from_writer(out);
    let mut header = vec![
        "~id".to_owned(),
        "~from".to_owned(),
        "~to".to_owned(),
        "~label".to_owned(),
        "analysis:String".to_owned(),
    ];
    header.extend(columns.headers());
    writer.write_record(&header)?;
    for edge in edges {
        let mut record = vec![
            edge.id.clone(),
            edge.from.clone(),
            edge.to.clone(),
            edge.kind.label().to_owned(),
            edge.analysis.clone(),
        ];
        record.extend(columns.cells(&edge.properties));
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(())
}

/// A property column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Bool,
    Long,
    Double,
    String,
}

impl Type {
    fn of(value: &Value) -> Self {
        match value {
            Value::Bool(_) => Self::Bool,
            Value::Long(_) => Self::Long,
            Value::Double(_) => Self::Double,
            Value::Text(_) => Self::String,
        }
    }

    /// The type of a column holding values of both types.
    fn join(self, other: Self) -> Self {
        match (self, other) {
            (a, b) if a == b => a,
            (Self::Long | Self::Double, Self::Long | Self::Double) => Self::Double,
            _ => Self::String,
        }
    }

    /// The Neptune type name (as [`Value::neptune_type`] names it).
    fn name(self) -> &'static str {
        match self {
            Self::Bool => Value::Bool(false).neptune_type(),
            Self::Long => Value::Long(0).neptune_type(),
            Self::Double => Value::Double(0.0).neptune_type(),
            Self::String => Value::Text(String::new()).neptune_type(),
        }
    }
}

/// The property columns of a file, by key.
struct Columns(BTreeMap<String, Type>);

impl Columns {
    /// The columns for these rows' properties, leaving out `reserved` (a system property
    /// column of the file).
    fn of<'a>(
        rows: impl Iterator<Item = &'a Properties>,
        reserved: &str,
    ) -> Result<Self, ExportError> {
        let mut columns: BTreeMap<String, Type> = BTreeMap::new();
        for properties in rows {
            for (key, value) in properties {
                if key == reserved {
                    continue;
                }
                let kind = Type::of(value);
                columns
                    .entry(key.clone())
                    .and_modify(|t| *t = t.join(kind))
                    .or_insert(kind);
            }
        }
        if let Some(key) = columns
            .keys()
            .find(|key| key.contains([' ', ',', '\r', '\n']))
        {
            return Err(ExportError::PropertyName(key.clone()));
        }
        Ok(Self(columns))
    }

    /// `key:Type`, a colon in the key escaped as `\:`.
    fn headers(&self) -> impl Iterator<Item = String> + '_ {
        self.0
            .iter()
            .map(|(key, kind)| format!("{}:{}", key.replace(':', "\\:"), kind.name()))
    }

    fn cells<'a>(&'a self, properties: &'a Properties) -> impl Iterator<Item = String> + 'a {
        self.0
            .keys()
            .map(|key| properties.get(key).map(cell).unwrap_or_default())
    }
}

/// A value as a cell: `true`/`false`, the number, the text; empty for a non-finite double.
fn cell(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Double(n) if n.is_finite() => n.to_string(),
        Value::Double(_) => String::new(),
        Value::Text(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_join() {
        assert_eq!(Type::Long.join(Type::Long), Type::Long);
        assert_eq!(Type::Long.join(Type::Double), Type::Double);
        assert_eq!(Type::Double.join(Type::Long), Type::Double);
        assert_eq!(Type::Bool.join(Type::Long), Type::String);
        assert_eq!(Type::String.join(Type::Double), Type::String);
        assert_eq!(Type::Bool.name(), "Bool");
        assert_eq!(Type::String.name(), "String");
    }
}
