//! The Neptune bulk-load CSV export, read back with the csv crate.

use std::collections::HashSet;

use mediasift_graph::export::{ExportError, export_dir, write_edges, write_vertices};
use mediasift_graph::model::{Edge, EdgeKind, Facts, Vertex, VertexKind, ids};
use mediasift_graph::ports::GraphStore;
use mediasift_graph::sqlite::SqliteGraph;

/// The header and the rows of a CSV file.
fn read(csv_text: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(csv_text);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn vertex_csv(vertices: &[Vertex]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut out = Vec::new();
    write_vertices(vertices, &mut out).unwrap();
    read(&out)
}

fn edge_csv(edges: &[Edge]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut out = Vec::new();
    write_edges(edges, &mut out).unwrap();
    read(&out)
}

const AWKWARD: &str = "Holiday, \"best\" of\n2024; part 1.mp4";

#[test]
fn vertices_have_typed_columns_and_quoting() {
    let vertices = vec![
        Vertex::asset("a", AWKWARD)
            .with("duration", 12.5)
            .with("width", 1920_i64)
            .with("hasAudio", true)
            .with("codec", "h264"),
        Vertex::new(ids::label("Car"), VertexKind::Label, "Car"),
        Vertex::asset("b", "b.mp4")
            .with("duration", 3_i64)
            .with("width", 640_i64)
            .with("hasAudio", false),
    ];
    let mut out = Vec::new();
    write_vertices(&vertices, &mut out).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.starts_with(
            "~id,~label,name:String,codec:String,duration:Double,hasAudio:Bool,width:Long\n"
        ),
        "{text}"
    );
    // RFC 4180: the awkward name quoted, its quotes doubled, its newline kept.
    assert!(
        text.contains("\"Holiday, \"\"best\"\" of\n2024; part 1.mp4\""),
        "{text}"
    );

    let (header, rows) = read(&out);
    assert_eq!(
        header,
        [
            "~id",
            "~label",
            "name:String",
            "codec:String",
            "duration:Double",
            "hasAudio:Bool",
            "width:Long"
        ]
    );
    assert_eq!(
        rows,
        [
            vec!["asset:a", "Asset", AWKWARD, "h264", "12.5", "true", "1920"],
            vec!["label:car", "Label", "Car", "", "", "", ""],
            vec!["asset:b", "Asset", "b.mp4", "", "3", "false", "640"],
        ]
    );
}

#[test]
fn mixed_columns_are_double_when_numeric_else_string() {
    let vertices = vec![
        Vertex::new("v1".into(), VertexKind::Keyword, "one")
            .with("count", 1_i64)
            .with("mixed", 2_i64)
            .with("score", 0.25)
            .with("nan", f64::NAN),
        Vertex::new("v2".into(), VertexKind::Keyword, "two")
            .with("count", 2.5)
            .with("mixed", "many")
            .with("score", true)
            .with("nan", 1.5),
        Vertex::new("v3".into(), VertexKind::Keyword, "three").with("mixed", false),
    ];
    let (header, rows) = vertex_csv(&vertices);
    assert_eq!(
        header,
        [
            "~id",
            "~label",
            "name:String",
            "count:Double",
            "mixed:String",
            "nan:Double",
            "score:String"
        ]
    );
    assert_eq!(
        rows,
        [
            vec!["v1", "Keyword", "one", "1", "2", "", "0.25"],
            vec!["v2", "Keyword", "two", "2.5", "many", "1.5", "true"],
            vec!["v3", "Keyword", "three", "", "false", "", ""],
        ]
    );
}

#[test]
fn edges_have_system_columns_then_properties() {
    let edges = vec![
        Edge::new(EdgeKind::Features, "asset:a", "person:jane doe", "video")
            .with("seconds", 12.0)
            .with("ranges", "1.00-2.00;5.00-15.00")
            .with("count", 3_i64),
        Edge::new(EdgeKind::HasChecksum, "asset:a", "md5:abc", "ingest"),
    ];
    let (header, rows) = edge_csv(&edges);
    assert_eq!(
        header,
        [
            "~id",
            "~from",
            "~to",
            "~label",
            "analysis:String",
            "count:Long",
            "ranges:String",
            "seconds:Double"
        ]
    );
    assert_eq!(
        rows,
        [
            vec![
                "asset:a|FEATURES|person:jane doe",
                "asset:a",
                "person:jane doe",
                "FEATURES",
                "video",
                "3",
                "1.00-2.00;5.00-15.00",
                "12"
            ],
            vec![
                "asset:a|HAS_CHECKSUM|md5:abc",
                "asset:a",
                "md5:abc",
                "HAS_CHECKSUM",
                "ingest",
                "",
                "",
                ""
            ],
        ]
    );
    // No properties at all: only the system columns.
    let (header, rows) = edge_csv(
        &edges[1..]
            .iter()
            .map(|e| Edge {
                properties: Default::default(),
                ..e.clone()
            })
            .collect::<Vec<_>>(),
    );
    assert_eq!(header, ["~id", "~from", "~to", "~label", "analysis:String"]);
    assert_eq!(rows.len(), 1);
}

#[test]
fn property_names_neptune_cannot_take_are_refused_or_escaped() {
    let vertices = vec![Vertex::new("v".into(), VertexKind::Label, "v").with("bad key", 1_i64)];
    let error = write_vertices(&vertices, Vec::new()).unwrap_err();
    assert!(
        matches!(error, ExportError::PropertyName(ref k) if k == "bad key"),
        "{error}"
    );

    let vertices = vec![
        Vertex::new("v".into(), VertexKind::Label, "v")
            .with("ns:key", 1_i64)
            .with("name", "shadowed"),
    ];
    let (header, rows) = vertex_csv(&vertices);
    assert_eq!(header, ["~id", "~label", "name:String", "ns\\:key:Long"]);
    assert_eq!(rows, [vec!["v", "Label", "v", "1"]]);
}

#[tokio::test]
async fn export_dir_writes_both_files_with_consistent_ids() {
    let graph = SqliteGraph::in_memory().unwrap();
    let person = Vertex::new(ids::person("Jane"), VertexKind::Person, "Jane");
    let label = Vertex::new(ids::label("Car"), VertexKind::Label, "Car");
    graph
        .apply(&Facts {
            asset_id: "a".into(),
            analysis: "video".into(),
            vertices: vec![
                Vertex::asset("a", AWKWARD).with("duration", 12.5),
                person.clone(),
                label.clone(),
            ],
            edges: vec![
                Edge::new(EdgeKind::Features, "asset:a", &person.id, "video").with("seconds", 4.0),
                Edge::new(EdgeKind::HasLabel, "asset:a", &label.id, "video")
                    .with("confidence", 97_i64),
            ],
        })
        .await
        .unwrap();
    graph
        .apply(&Facts {
            asset_id: "b".into(),
            analysis: "image".into(),
            vertices: vec![Vertex::asset("b", "b.jpg"), label.clone()],
            edges: vec![
                Edge::new(EdgeKind::HasLabel, "asset:b", &label.id, "image")
                    .with("confidence", 88.5),
            ],
        })
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("export");
    let summary = export_dir(&graph, &target).unwrap();
    assert_eq!(summary.vertices, 4);
    assert_eq!(summary.edges, 3);
    assert_eq!(summary.vertices_path, target.join("vertices.csv"));
    assert_eq!(summary.edges_path, target.join("edges.csv"));

    let (vertex_header, vertices) = read(&std::fs::read(&summary.vertices_path).unwrap());
    assert_eq!(
        vertex_header,
        ["~id", "~label", "name:String", "duration:Double"]
    );
    let vertex_ids: Vec<&str> = vertices.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(
        vertex_ids,
        ["asset:a", "asset:b", "label:car", "person:jane"]
    );
    assert_eq!(vertices[0][2], AWKWARD);
    assert_eq!(vertices[0][3], "12.5");

    let (edge_header, edges) = read(&std::fs::read(&summary.edges_path).unwrap());
    assert_eq!(
        edge_header,
        [
            "~id",
            "~from",
            "~to",
            "~label",
            "analysis:String",
            "confidence:Double",
            "seconds:Double"
        ]
    );
    assert_eq!(edges.len(), 3);
    let known: HashSet<&str> = vertex_ids.into_iter().collect();
    for edge in &edges {
        assert!(known.contains(edge[1].as_str()), "~from {edge:?}");
        assert!(known.contains(edge[2].as_str()), "~to {edge:?}");
    }
    let confidences: Vec<&str> = edges.iter().map(|row| row[5].as_str()).collect();
    assert_eq!(confidences, ["", "97", "88.5"]);
}
