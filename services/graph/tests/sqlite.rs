//! The SQLite graph and search index, through their ports.

use mediasift_graph::model::{Edge, EdgeKind, Facts, Value, Vertex, VertexKind, ids};
use mediasift_graph::ports::{
    Field, GraphError, GraphQueries, GraphStore, SearchDoc, SearchIndex, shared_weight,
};
use mediasift_graph::sqlite::SqliteGraph;

fn graph() -> SqliteGraph {
    SqliteGraph::in_memory().expect("an in-memory graph")
}

fn label(asset_id: &str, name: &str, analysis: &str) -> (Vertex, Edge) {
    let vertex = Vertex::new(ids::label(name), VertexKind::Label, name);
    let edge = Edge::new(
        EdgeKind::HasLabel,
        &ids::asset(asset_id),
        &vertex.id,
        analysis,
    )
    .with("confidence", 90.0);
    (vertex, edge)
}

fn checksum(asset_id: &str, md5: &str) -> (Vertex, Edge) {
    let vertex = Vertex::new(ids::checksum(md5), VertexKind::Checksum, md5);
    let edge = Edge::new(
        EdgeKind::HasChecksum,
        &ids::asset(asset_id),
        &vertex.id,
        "ingest",
    );
    (vertex, edge)
}

/// Facts of `analysis` about an asset named `name`, with these (vertex, edge) pairs.
fn facts(asset_id: &str, name: &str, analysis: &str, links: Vec<(Vertex, Edge)>) -> Facts {
    let mut vertices = vec![Vertex::asset(asset_id, name)];
    let mut edges = Vec::new();
    for (vertex, edge) in links {
        vertices.push(vertex);
        edges.push(edge);
    }
    Facts {
        asset_id: asset_id.to_owned(),
        analysis: analysis.to_owned(),
        vertices,
        edges,
    }
}

fn edge_ids(graph: &SqliteGraph) -> Vec<String> {
    graph
        .all_edges()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

#[tokio::test]
async fn apply_is_idempotent() {
    let graph = graph();
    let video = facts(
        "a",
        "a.mp4",
        "video",
        vec![label("a", "Car", "video"), label("a", "Tree", "video")],
    );
    graph.apply(&video).await.unwrap();
    let vertices = graph.all_vertices().unwrap();
    let edges = graph.all_edges().unwrap();
    graph.apply(&video).await.unwrap();
    assert_eq!(graph.all_vertices().unwrap(), vertices);
    assert_eq!(graph.all_edges().unwrap(), edges);

    assert_eq!(
        vertices.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        ["asset:a", "label:car", "label:tree"]
    );
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0].id, "asset:a|HAS_LABEL|label:car");
    assert_eq!(edges[0].kind, EdgeKind::HasLabel);
    assert_eq!(edges[0].analysis, "video");
    assert_eq!(
        edges[0].properties.get("confidence"),
        Some(&Value::Double(90.0))
    );
}

#[tokio::test]
async fn a_new_contribution_replaces_only_its_own_analysis_edges() {
    let graph = graph();
    graph
        .apply(&facts(
            "a",
            "a.mp4",
            "video",
            vec![label("a", "Car", "video"), label("a", "Tree", "video")],
        ))
        .await
        .unwrap();
    graph
        .apply(&facts(
            "a",
            "a.mp4",
            "image",
            vec![label("a", "Boat", "image")],
        ))
        .await
        .unwrap();
    graph
        .apply(&facts("a", "a.mp4", "ingest", vec![checksum("a", "ABC")]))
        .await
        .unwrap();
    assert_eq!(
        edge_ids(&graph),
        [
            "asset:a|HAS_CHECKSUM|md5:abc",
            "asset:a|HAS_LABEL|label:boat",
            "asset:a|HAS_LABEL|label:car",
            "asset:a|HAS_LABEL|label:tree",
        ]
    );

    // The video analysis again, without the tree and with a new confidence for the car.
    let (car, car_edge) = label("a", "Car", "video");
    let car_edge = car_edge.with("confidence", 55.5);
    graph
        .apply(&facts("a", "a.mp4", "video", vec![(car, car_edge)]))
        .await
        .unwrap();
    assert_eq!(
        edge_ids(&graph),
        [
            "asset:a|HAS_CHECKSUM|md5:abc",
            "asset:a|HAS_LABEL|label:boat",
            "asset:a|HAS_LABEL|label:car",
        ]
    );
    let car = graph
        .all_edges()
        .unwrap()
        .into_iter()
        .find(|e| e.id == "asset:a|HAS_LABEL|label:car")
        .unwrap();
    assert_eq!(car.properties.get("confidence"), Some(&Value::Double(55.5)));
    // The tree vertex stays (other assets may link to it).
    assert!(
        graph
            .all_vertices()
            .unwrap()
            .iter()
            .any(|v| v.id == "label:tree")
    );

    // An empty contribution of an analysis removes all of its edges.
    graph
        .apply(&facts("a", "a.mp4", "image", vec![]))
        .await
        .unwrap();
    assert_eq!(
        edge_ids(&graph),
        [
            "asset:a|HAS_CHECKSUM|md5:abc",
            "asset:a|HAS_LABEL|label:car",
        ]
    );
}

#[tokio::test]
async fn vertex_properties_merge_and_keep_their_types() {
    let graph = graph();
    let first = Facts {
        asset_id: "a".into(),
        analysis: "ingest".into(),
        vertices: vec![
            Vertex::asset("a", "a.mp4")
                .with("duration", 3.0)
                .with("width", 1920_i64)
                .with("codec", "h264"),
        ],
        edges: vec![],
    };
    graph.apply(&first).await.unwrap();
    let second = Facts {
        asset_id: "a".into(),
        analysis: "video".into(),
        vertices: vec![
            Vertex::asset("a", "")
                .with("codec", "hevc")
                .with("hasFaces", true),
        ],
        edges: vec![],
    };
    graph.apply(&second).await.unwrap();

    let vertices = graph.all_vertices().unwrap();
    assert_eq!(vertices.len(), 1);
    let asset = &vertices[0];
    assert_eq!(asset.name, "a.mp4", "an empty name keeps the old one");
    assert_eq!(asset.kind, VertexKind::Asset);
    assert_eq!(asset.properties.get("duration"), Some(&Value::Double(3.0)));
    assert_eq!(asset.properties.get("width"), Some(&Value::Long(1920)));
    assert_eq!(
        asset.properties.get("codec"),
        Some(&Value::Text("hevc".into()))
    );
    assert_eq!(asset.properties.get("hasFaces"), Some(&Value::Bool(true)));
    assert_eq!(asset.properties.len(), 4);

    // A non-empty name replaces the old one.
    let renamed = Facts {
        vertices: vec![Vertex::asset("a", "renamed.mp4")],
        ..second
    };
    graph.apply(&renamed).await.unwrap();
    let vertices = graph.all_vertices().unwrap();
    assert_eq!(vertices[0].name, "renamed.mp4");
    assert_eq!(vertices[0].properties.len(), 4);
}

#[tokio::test]
async fn assets_with_checksum_lists_asset_ids() {
    let graph = graph();
    for id in ["a", "b"] {
        graph
            .apply(&facts(id, id, "ingest", vec![checksum(id, "ABC")]))
            .await
            .unwrap();
    }
    graph
        .apply(&facts("c", "c", "ingest", vec![checksum("c", "def")]))
        .await
        .unwrap();
    let mut found = graph.assets_with_checksum("abc").await.unwrap();
    found.sort();
    assert_eq!(found, ["a", "b"]);
    assert_eq!(graph.assets_with_checksum("DEF").await.unwrap(), ["c"]);
    assert!(graph.assets_with_checksum("999").await.unwrap().is_empty());
}

#[tokio::test]
async fn asset_lists_its_edges_with_their_other_ends() {
    let graph = graph();
    let person = |name: &str, seconds: f64| {
        let vertex = Vertex::new(ids::person(name), VertexKind::Person, name);
        let edge =
            Edge::new(EdgeKind::Features, "asset:a", &vertex.id, "video").with("seconds", seconds);
        (vertex, edge)
    };
    graph
        .apply(&facts(
            "a",
            "a.mp4",
            "video",
            vec![
                label("a", "Tree", "video"),
                person("Ann", 3.0),
                person("Bob", 12.0),
                label("a", "Car", "video"),
            ],
        ))
        .await
        .unwrap();
    // b is byte-identical to a: the edge into a is listed too.
    let same = Edge::new(EdgeKind::SameChecksum, "asset:b", "asset:a", "ingest");
    graph
        .apply(&Facts {
            asset_id: "b".into(),
            analysis: "ingest".into(),
            vertices: vec![Vertex::asset("b", "b.mp4")],
            edges: vec![same],
        })
        .await
        .unwrap();
    // An edge to a vertex that is missing is left out.
    graph
        .apply(&Facts {
            asset_id: "a".into(),
            analysis: "audio".into(),
            vertices: vec![],
            edges: vec![Edge::new(
                EdgeKind::HasKeyword,
                "asset:a",
                "keyword:ghost",
                "audio",
            )],
        })
        .await
        .unwrap();

    let found = graph.asset("a").await.unwrap().expect("asset a");
    assert_eq!(found.asset.name, "a.mp4");
    let listed: Vec<(&str, &str)> = found
        .edges
        .iter()
        .map(|n| (n.edge.kind.label(), n.vertex.name.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("HAS_LABEL", "Car"),
            ("HAS_LABEL", "Tree"),
            ("FEATURES", "Bob"),
            ("FEATURES", "Ann"),
            ("SAME_CHECKSUM", "b.mp4"),
        ]
    );
    assert!(graph.asset("nope").await.unwrap().is_none());
}

/// A and B share a checksum and a label; A and C share only a label that 5 more assets have.
async fn library() -> SqliteGraph {
    let graph = graph();
    graph
        .apply(&facts("a", "a.mp4", "ingest", vec![checksum("a", "abc")]))
        .await
        .unwrap();
    graph
        .apply(&facts("b", "b.mp4", "ingest", vec![checksum("b", "abc")]))
        .await
        .unwrap();
    graph
        .apply(&facts(
            "a",
            "a.mp4",
            "video",
            vec![label("a", "Dog", "video"), label("a", "Sky", "video")],
        ))
        .await
        .unwrap();
    graph
        .apply(&facts(
            "b",
            "b.mp4",
            "video",
            vec![label("b", "Dog", "video")],
        ))
        .await
        .unwrap();
    graph
        .apply(&facts(
            "c",
            "c.mp4",
            "video",
            vec![label("c", "Sky", "video")],
        ))
        .await
        .unwrap();
    for n in 1..=5 {
        let id = format!("sky{n}");
        graph
            .apply(&facts(&id, &id, "video", vec![label(&id, "Sky", "video")]))
            .await
            .unwrap();
    }
    graph
        .apply(&facts(
            "lonely",
            "lonely.mp4",
            "video",
            vec![label("lonely", "Moon", "video")],
        ))
        .await
        .unwrap();
    graph
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn related_assets_by_what_they_share() {
    let graph = library().await;
    let related = graph.related("a", 10).await.unwrap();
    let ids: Vec<&str> = related.iter().map(|r| r.asset_id.as_str()).collect();
    assert_eq!(ids, ["b", "c", "sky1", "sky2", "sky3", "sky4", "sky5"]);

    let b = &related[0];
    assert_eq!(b.name, "b.mp4");
    let checksum_weight = shared_weight(VertexKind::Checksum, 2);
    let dog_weight = shared_weight(VertexKind::Label, 2);
    assert!(close(b.score, checksum_weight + dog_weight), "{b:?}");
    assert_eq!(b.shared.len(), 2);
    assert_eq!(b.shared[0].id, "md5:abc");
    assert_eq!(b.shared[0].kind, VertexKind::Checksum);
    assert_eq!(b.shared[0].assets, 2);
    assert!(close(b.shared[0].weight, checksum_weight));
    assert_eq!(b.shared[1].id, "label:dog");
    assert_eq!(b.shared[1].name, "Dog");
    assert_eq!(b.shared[1].assets, 2);

    // The sky: a, c and five more.
    let c = &related[1];
    assert_eq!(c.name, "c.mp4");
    let sky_weight = shared_weight(VertexKind::Label, 7);
    assert!(close(c.score, sky_weight), "{c:?}");
    assert_eq!(c.shared.len(), 1);
    assert_eq!(c.shared[0].id, "label:sky");
    assert_eq!(c.shared[0].assets, 7);
    assert!(b.score > c.score);
    assert!(related[2..].iter().all(|r| close(r.score, sky_weight)));

    let top = graph.related("a", 2).await.unwrap();
    assert_eq!(top.len(), 2);
    assert_eq!(top[0].asset_id, "b");
    assert_eq!(top[1].asset_id, "c");
    assert!(graph.related("a", 0).await.unwrap().is_empty());

    assert!(graph.related("lonely", 10).await.unwrap().is_empty());
    assert!(graph.related("unknown", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn byte_identical_assets_share_the_checksum_once() {
    let graph = library().await;
    // b is later found identical to a: its SAME_CHECKSUM edge does not count twice.
    graph
        .apply(&Facts {
            asset_id: "b".into(),
            analysis: "ingest".into(),
            vertices: vec![Vertex::asset("b", "b.mp4"), checksum("b", "abc").0],
            edges: vec![
                checksum("b", "abc").1,
                Edge::new(EdgeKind::SameChecksum, "asset:b", "asset:a", "ingest"),
            ],
        })
        .await
        .unwrap();
    let related = graph.related("a", 1).await.unwrap();
    let expected = shared_weight(VertexKind::Checksum, 2) + shared_weight(VertexKind::Label, 2);
    assert!(close(related[0].score, expected), "{related:?}");
    assert_eq!(related[0].shared.len(), 2);

    // d is identical to a but has no checksum edge of its own: it still shares a's checksum.
    graph
        .apply(&Facts {
            asset_id: "d".into(),
            analysis: "ingest".into(),
            vertices: vec![Vertex::asset("d", "d.mp4")],
            edges: vec![Edge::new(
                EdgeKind::SameChecksum,
                "asset:d",
                "asset:a",
                "ingest",
            )],
        })
        .await
        .unwrap();
    let related = graph.related("a", 10).await.unwrap();
    let d = related.iter().find(|r| r.asset_id == "d").expect("d");
    assert_eq!(d.name, "d.mp4");
    assert_eq!(d.shared.len(), 1);
    assert_eq!(d.shared[0].id, "md5:abc");
    assert_eq!(d.shared[0].assets, 3);
    assert!(close(d.score, shared_weight(VertexKind::Checksum, 3)));
    // And the other way round: from d, a shares the checksum a has.
    let from_d = graph.related("d", 10).await.unwrap();
    assert_eq!(from_d[0].asset_id, "a");
    assert_eq!(from_d[0].shared[0].id, "md5:abc");
}

fn appearance(asset_id: &str, person: &Vertex, seconds: Option<f64>) -> Edge {
    let edge = Edge::new(
        EdgeKind::Features,
        &ids::asset(asset_id),
        &person.id,
        "video",
    )
    .with("confidence", 99.5);
    match seconds {
        Some(seconds) => edge
            .with("seconds", seconds)
            .with("firstSeen", 1.0)
            .with("lastSeen", 1.0 + seconds)
            .with("ranges", "1.00-2.50;10.00-12.00"),
        None => edge,
    }
}

#[tokio::test]
async fn appearances_by_name_and_face() {
    let graph = graph();
    let jane = Vertex::new(ids::person("Jane Doe"), VertexKind::Person, "Jane Doe");
    let face = Vertex::new(ids::face("f-1"), VertexKind::Person, "");
    let other = Vertex::new(ids::person("John Roe"), VertexKind::Person, "John Roe");
    let apply = |asset_id: &'static str, name: &'static str, vertex: Vertex, edge: Edge| {
        let graph = graph.clone();
        async move {
            graph
                .apply(&Facts {
                    asset_id: asset_id.into(),
                    analysis: "video".into(),
                    vertices: vec![Vertex::asset(asset_id, name), vertex],
                    edges: vec![edge],
                })
                .await
                .unwrap();
        }
    };
    apply(
        "a",
        "short.mp4",
        jane.clone(),
        appearance("a", &jane, Some(3.5)),
    )
    .await;
    apply(
        "b",
        "long.mp4",
        face.clone(),
        appearance("b", &face, Some(40.0)),
    )
    .await;
    apply("c", "photo.jpg", jane.clone(), appearance("c", &jane, None)).await;
    apply(
        "d",
        "another.jpg",
        jane.clone(),
        appearance("d", &jane, None),
    )
    .await;
    apply(
        "e",
        "john.mp4",
        other.clone(),
        appearance("e", &other, Some(100.0)),
    )
    .await;

    let found = graph
        .appearances("  jane   DOE ", &["face:f-1".to_owned()])
        .await
        .unwrap();
    let order: Vec<(&str, &str)> = found
        .iter()
        .map(|a| (a.asset_id.as_str(), a.asset_name.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("b", "long.mp4"),
            ("a", "short.mp4"),
            ("d", "another.jpg"),
            ("c", "photo.jpg"),
        ]
    );
    let long = &found[0];
    assert_eq!(long.person_id, "face:f-1");
    assert_eq!(long.person, "");
    assert_eq!(long.seconds, Some(40.0));
    assert_eq!(long.confidence, Some(99.5));
    assert_eq!(long.first_seen, Some(1.0));
    assert_eq!(long.last_seen, Some(41.0));
    assert_eq!(long.ranges, [(1.0, 2.5), (10.0, 12.0)]);
    let short = &found[1];
    assert_eq!(short.person_id, "person:jane doe");
    assert_eq!(short.person, "Jane Doe");
    let photo = &found[3];
    assert_eq!(photo.seconds, None);
    assert_eq!(photo.first_seen, None);
    assert!(photo.ranges.is_empty());

    // By name alone; by face alone; an empty name matches no unnamed face.
    assert_eq!(graph.appearances("JANE DOE", &[]).await.unwrap().len(), 3);
    let by_face = graph
        .appearances("", &["face:f-1".to_owned()])
        .await
        .unwrap();
    assert_eq!(by_face.len(), 1);
    assert_eq!(by_face[0].asset_id, "b");
    assert!(graph.appearances("", &[]).await.unwrap().is_empty());
    assert!(graph.appearances("Nobody", &[]).await.unwrap().is_empty());
}

fn doc(field: Field, text: &str) -> SearchDoc {
    SearchDoc {
        field,
        text: text.to_owned(),
        ranges: vec![],
        page: None,
    }
}

#[tokio::test]
async fn search_by_words_and_phrases() {
    let graph = graph();
    graph
        .replace(
            "a",
            "audio",
            &[SearchDoc {
                ranges: vec![(1.0, 2.5), (30.0, 31.25)],
                ..doc(Field::Transcript, "The red car drove past the old mill.")
            }],
        )
        .await
        .unwrap();
    graph
        .replace(
            "b",
            "document",
            &[
                SearchDoc {
                    page: Some(3),
                    ..doc(Field::Page, "A car that was red, parked by the mill.")
                },
                doc(Field::FileName, "report.pdf"),
            ],
        )
        .await
        .unwrap();

    // Words: both assets, in any order of the words.
    let hits = graph.search("mill car", 10).await.unwrap();
    let mut assets: Vec<&str> = hits.iter().map(|h| h.asset_id.as_str()).collect();
    assets.sort();
    assert_eq!(assets, ["a", "b"]);
    assert!(hits.iter().all(|h| h.score > 0.0));
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    let a = hits.iter().find(|h| h.asset_id == "a").unwrap();
    assert_eq!(a.field, Field::Transcript);
    assert_eq!(a.ranges, [(1.0, 2.5), (30.0, 31.25)]);
    assert_eq!(a.page, None);
    assert_eq!(a.snippet, "The red [car] drove past the old [mill].");
    let b = hits.iter().find(|h| h.asset_id == "b").unwrap();
    assert_eq!(b.field, Field::Page);
    assert_eq!(b.page, Some(3));
    assert!(b.ranges.is_empty());

    // A phrase: only where the words are adjacent.
    let hits = graph.search("\"red car\"", 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].asset_id, "a");
    assert_eq!(hits[0].snippet, "The [red car] drove past the old mill.");
    let hits = graph.search("\"car red\"", 10).await.unwrap();
    assert!(hits.is_empty());
    // Every word is required.
    assert!(graph.search("car submarine", 10).await.unwrap().is_empty());
    // Case-insensitive; limit.
    assert_eq!(graph.search("RED", 10).await.unwrap().len(), 2);
    assert_eq!(graph.search("red", 1).await.unwrap().len(), 1);
    assert!(graph.search("red", 0).await.unwrap().is_empty());
    // The file name is a document too.
    let hits = graph.search("report.pdf", 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].field, Field::FileName);
    assert_eq!(hits[0].snippet, "[report.pdf]", "a phrase is one highlight");
}

#[tokio::test]
async fn hostile_queries_are_only_words() {
    let graph = graph();
    graph
        .replace(
            "a",
            "audio",
            &[doc(
                Field::Transcript,
                "near the col x, a star * and not or and",
            )],
        )
        .await
        .unwrap();
    for query in [
        "NEAR(",
        "NEAR(a b) OR col:x * \"",
        "\"",
        "\"\"",
        "*",
        "col:x",
        "AND OR NOT",
        "",
        "   ",
        "^",
        "-",
        "a + b",
        "{col}: x",
        "x'); DROP TABLE search; --",
        "\u{301}",
        "\u{345}",
        "car \u{345} \"\u{345}\"",
    ] {
        if let Err(e) = graph.search(query, 10).await {
            panic!("{query:?} failed: {e}");
        }
    }
    assert!(graph.search("", 10).await.unwrap().is_empty());
    assert!(graph.search("\"*\"", 10).await.unwrap().is_empty());
    // Operators and columns are words like any other.
    assert_eq!(graph.search("AND OR NOT", 10).await.unwrap().len(), 1);
    assert_eq!(graph.search("col:x", 10).await.unwrap().len(), 1);
    assert_eq!(graph.search("NEAR(the", 10).await.unwrap().len(), 1);
    // The table survived.
    assert_eq!(graph.search("star", 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn replace_removes_the_analysis_old_documents_only() {
    let graph = graph();
    graph
        .replace("a", "audio", &[doc(Field::Transcript, "old words")])
        .await
        .unwrap();
    graph
        .replace("a", "video", &[doc(Field::Text, "old sign")])
        .await
        .unwrap();
    graph
        .replace("b", "audio", &[doc(Field::Transcript, "old story")])
        .await
        .unwrap();
    graph
        .replace("a", "audio", &[doc(Field::Transcript, "new words")])
        .await
        .unwrap();
    assert!(graph.search("\"old words\"", 10).await.unwrap().is_empty());
    assert_eq!(
        graph.search("new words", 10).await.unwrap()[0].asset_id,
        "a"
    );
    let old: Vec<(String, Field)> = graph
        .search("old", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.asset_id, h.field))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        old,
        [
            ("a".to_owned(), Field::Text),
            ("b".to_owned(), Field::Transcript)
        ]
    );
    // Replacing with nothing empties it.
    graph.replace("a", "audio", &[]).await.unwrap();
    assert!(graph.search("words", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn diacritics_do_not_matter() {
    let graph = graph();
    graph
        .replace("a", "audio", &[doc(Field::Transcript, "Un café à Paris")])
        .await
        .unwrap();
    graph
        .replace(
            "b",
            "audio",
            &[doc(Field::Transcript, "the cafe next door")],
        )
        .await
        .unwrap();
    let mut hits: Vec<String> = graph
        .search("café", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.asset_id)
        .collect();
    hits.sort();
    assert_eq!(hits, ["a", "b"]);
    let hits = graph.search("CAFE a", 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].snippet, "Un [café] [à] Paris");
}

#[tokio::test]
async fn a_file_database_is_shared_between_handles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("graph.db");
    let writer = SqliteGraph::open(&path).unwrap();
    let reader = SqliteGraph::open(&path).unwrap();
    writer
        .apply(&facts(
            "a",
            "a.mp4",
            "video",
            vec![label("a", "Car", "video")],
        ))
        .await
        .unwrap();
    writer
        .replace("a", "video", &[doc(Field::Label, "Car")])
        .await
        .unwrap();
    assert_eq!(reader.all_edges().unwrap().len(), 1);
    assert_eq!(reader.search("car", 10).await.unwrap().len(), 1);
    assert_eq!(writer.path(), Some(path.as_path()));
    drop((writer, reader));
    // Reopening keeps everything.
    let again = SqliteGraph::open(&path).unwrap();
    assert_eq!(again.all_vertices().unwrap().len(), 2);
}

#[test]
fn the_graph_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<SqliteGraph>();
    // Errors of a busy database are retryable.
    use mediasift_kit::ports::Retryable;
    assert!(GraphError::Unavailable("busy".into()).is_retryable());
}
