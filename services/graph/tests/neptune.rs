//! The Neptune adapter on a client answered by aws-smithy-mocks: the openCypher requests it
//! sends (fixed query text, everything else in the parameters), how it batches a write, how it
//! reads the `results` rows, and how it reads Neptune's refusals and throttling (restJson1
//! error answers, so the SDK's own error parsing and retries run as they do against AWS).
#![cfg(feature = "aws")]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_neptunedata::Client;
use aws_sdk_neptunedata::config::retry::RetryConfig;
use aws_sdk_neptunedata::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_neptunedata::operation::execute_open_cypher_query::{
    ExecuteOpenCypherQueryInput, ExecuteOpenCypherQueryOutput,
};
use aws_smithy_mocks::{MockResponse, MockResponseInterceptor, Rule, RuleMode, mock};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::{Document, Number};
use mediasift_graph::model::{Edge, EdgeKind, Facts, Value, Vertex, VertexKind, ids};
use mediasift_graph::neptune::{
    APPEARANCES, ASSET, ASSETS_WITH_CHECKSUM, DELETE_STALE_EDGES, NeptuneGraph, RELATED_DEGREES,
    RELATED_SHARED, edge_upsert_query, vertex_upsert_query,
};
use mediasift_graph::ports::{
    Appearance, GraphError, GraphQueries, GraphStore, Related, Shared, shared_weight,
};
use mediasift_kit::ports::Retryable;
use serde_json::{Value as Json, json};

const ATTEMPTS: u32 = 3;
const ENDPOINT: &str = "https://mediasift.cluster-c1x2y3z4.eu-west-1.neptune.amazonaws.com:8182";

// --- the mocked cluster -----------------------------------------------------------------------

/// One request as Neptune received it.
#[derive(Debug, Clone)]
struct Sent {
    query: String,
    params: Json,
}

/// A cluster answering every query with the rows `answer` gives for it, recording every
/// request.
struct Neptune {
    rule: Rule,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Neptune {
    fn answering(answer: impl Fn(&str, &Json) -> Json + Send + Sync + 'static) -> Self {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&sent);
        let rule = mock!(Client::execute_open_cypher_query).then_compute_response(
            move |input: &ExecuteOpenCypherQueryInput| {
                let query = input.open_cypher_query().expect("a query").to_owned();
                let params: Json = serde_json::from_str(input.parameters().expect("parameters"))
                    .expect("JSON parameters");
                let rows = answer(&query, &params);
                recorded.lock().unwrap().push(Sent { query, params });
                MockResponse::Output(
                    ExecuteOpenCypherQueryOutput::builder()
                        .results(document(&rows))
                        .build()
                        .unwrap(),
                )
            },
        );
        Self { rule, sent }
    }

    /// A cluster answering no rows to everything.
    fn empty() -> Self {
        Self::answering(|_, _| json!([]))
    }

    fn graph(&self, batch_size: usize) -> NeptuneGraph {
        graph_on(&self.rule).with_batch_size(batch_size)
    }

    fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }
}

/// The adapter on a client answered by `rule`, with the production retry policy except for
/// [`ATTEMPTS`] attempts and a 1 ms first backoff.
fn graph_on(rule: &Rule) -> NeptuneGraph {
    let interceptor = MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .with_rule(rule);
    let config = aws_sdk_neptunedata::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(ENDPOINT)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor)
        .build();
    NeptuneGraph::new(Client::from_conf(config))
}

/// `json` as the Document the SDK reads from Neptune's answer: integers as integers, other
/// numbers as floats.
fn document(json: &Json) -> Document {
    match json {
        Json::Null => Document::Null,
        Json::Bool(b) => Document::Bool(*b),
        Json::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap())
        }),
        Json::String(s) => Document::String(s.clone()),
        Json::Array(items) => Document::Array(items.iter().map(document).collect()),
        Json::Object(map) => Document::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), document(value)))
                .collect(),
        ),
    }
}

/// Neptune's error answer (restJson1).
fn refusal(status: u16, code: &str, detail: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(
            json!({
                "requestId": "5ac3f6f2-4e0f-4a4e-9d1c-0b5f2d8e7a61",
                "code": code,
                "detailedMessage": detail,
            })
            .to_string(),
        ),
    );
    response
        .headers_mut()
        .insert("content-type", "application/json");
    response
}

/// Every query the adapter may send.
fn fixed_queries() -> BTreeSet<&'static str> {
    let mut queries: BTreeSet<&'static str> = [
        DELETE_STALE_EDGES,
        ASSETS_WITH_CHECKSUM,
        ASSET,
        RELATED_SHARED,
        RELATED_DEGREES,
        APPEARANCES,
    ]
    .into_iter()
    .collect();
    queries.extend(VertexKind::ALL.into_iter().map(vertex_upsert_query));
    queries.extend(EdgeKind::ALL.into_iter().map(edge_upsert_query));
    queries
}

/// Every string in `json`, map keys included.
fn strings(json: &Json) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(json: &Json, out: &mut BTreeSet<String>) {
        match json {
            Json::String(s) => {
                out.insert(s.clone());
            }
            Json::Array(items) => items.iter().for_each(|item| walk(item, out)),
            Json::Object(map) => {
                for (key, value) in map {
                    out.insert(key.clone());
                    walk(value, out);
                }
            }
            _ => {}
        }
    }
    walk(json, &mut out);
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// --- parameterisation ---------------------------------------------------------------------------

const INJECTION: &str = "x'}) DETACH DELETE n //";

/// User text that would change a query built by pasting it in.
fn hostile() -> Vec<String> {
    vec![
        INJECTION.to_owned(),
        "clip`) MATCH (m) DETACH DELETE m //\n$rows {`~id`: 'x'} ünïcødé 🎬.mp4".to_owned(),
        "Car\"}) SET v.pwned = true RETURN 1 //".to_owned(),
        "`backtick` $param {map: 1}\r\nnew line \u{202e}".to_owned(),
        "Zoë \"O'Brien\" $name \\' //".to_owned(),
    ]
}

#[tokio::test]
async fn user_text_travels_only_in_the_parameters() {
    let [injection, asset_name, label, keyword, person] =
        <[String; 5]>::try_from(hostile()).unwrap();
    let asset_id = format!("a1{injection}");
    let asset = ids::asset(&asset_id);
    let label_id = ids::label(&label);
    let keyword_id = ids::keyword(&keyword);
    let person_id = ids::person(&person);
    let face_id = ids::face(&injection);
    let md5 = format!("D41D8CD98F00B204E9800998ECF8427E{injection}");
    let property_key = format!("note{injection}");
    let facts = Facts {
        asset_id: asset_id.clone(),
        analysis: format!("video{injection}"),
        vertices: vec![
            Vertex::asset(&asset_id, &asset_name).with("source", asset_name.as_str()),
            Vertex::new(label_id.clone(), VertexKind::Label, &label)
                .with(&property_key, keyword.as_str()),
            Vertex::new(keyword_id.clone(), VertexKind::Keyword, &keyword),
            Vertex::new(person_id.clone(), VertexKind::Person, &person),
            Vertex::new(ids::checksum(&md5), VertexKind::Checksum, &md5),
        ],
        edges: vec![
            Edge::new(EdgeKind::HasLabel, &asset, &label_id, "video")
                .with("confidence", 97.5)
                .with("source", injection.as_str()),
            Edge::new(EdgeKind::HasKeyword, &asset, &keyword_id, "video"),
            Edge::new(EdgeKind::Features, &asset, &person_id, "video")
                .with("ranges", "0.00-1.00")
                .with(&property_key, label.as_str()),
            Edge::new(EdgeKind::HasChecksum, &asset, &ids::checksum(&md5), "video"),
        ],
    };
    let mut forbidden: BTreeSet<String> = hostile().into_iter().collect();
    forbidden.extend([
        asset_id.clone(),
        asset.clone(),
        md5.clone(),
        ids::checksum(&md5),
        face_id.clone(),
        property_key.clone(),
        facts.analysis.clone(),
    ]);
    forbidden.extend(facts.vertices.iter().map(|v| v.id.clone()));
    forbidden.extend(facts.edges.iter().map(|e| e.id.clone()));

    let (shared_asset, shared_label) = (asset.clone(), label_id.clone());
    let (other_name, other_label) = (asset_name.clone(), label.clone());
    let neptune = Neptune::answering(move |query, _| {
        if query == RELATED_SHARED {
            // The related asset and the shared vertex are user text too.
            json!([{
                "asset": format!("{shared_asset}2"),
                "assetName": other_name,
                "vid": shared_label,
                "vlabels": ["Label"],
                "vname": other_label,
            }])
        } else {
            json!([])
        }
    });
    let graph = neptune.graph(100);
    graph.apply(&facts).await.unwrap();
    graph.assets_with_checksum(&md5).await.unwrap();
    assert_eq!(graph.asset(&asset_id).await.unwrap(), None);
    let related = graph.related(&asset_id, 10).await.unwrap();
    assert_eq!(related.len(), 1);
    assert_eq!(related[0].name, asset_name);
    graph
        .appearances(&person, std::slice::from_ref(&face_id))
        .await
        .unwrap();

    let sent = neptune.sent();
    let queries = fixed_queries();
    // 5 vertex kinds, the delete, 4 edge kinds; checksum, asset, related (2), appearances.
    assert_eq!(sent.len(), 15, "{sent:#?}");
    for request in &sent {
        assert!(
            queries.contains(request.query.as_str()),
            "not a fixed query: {}",
            request.query
        );
        for text in &forbidden {
            assert!(
                !request.query.contains(text.as_str()),
                "{text:?} is in the query {}",
                request.query
            );
        }
        assert!(!request.query.contains("DETACH"), "{}", request.query);
    }

    // Every user string reached Neptune as it is, in the parameters.
    let all: BTreeSet<String> = sent.iter().flat_map(|s| strings(&s.params)).collect();
    for text in hostile().iter().chain(&forbidden) {
        assert!(
            all.iter().any(|sent| sent.contains(text.as_str())),
            "{text:?} was not sent as a parameter"
        );
    }
    let label_rows = &sent
        .iter()
        .find(|s| s.query == vertex_upsert_query(VertexKind::Label))
        .unwrap()
        .params;
    assert_eq!(
        label_rows,
        &json!({"rows": [{"id": label_id, "name": label, "props": {property_key.as_str(): keyword}}]})
    );
    let delete = &sent
        .iter()
        .find(|s| s.query == DELETE_STALE_EDGES)
        .unwrap()
        .params;
    assert_eq!(delete["asset"], json!(asset));
    assert_eq!(delete["analysis"], json!(facts.analysis));
    let checksum = &sent
        .iter()
        .find(|s| s.query == ASSETS_WITH_CHECKSUM)
        .unwrap()
        .params;
    assert_eq!(checksum, &json!({"checksum": ids::checksum(&md5)}));
    let read = &sent.iter().find(|s| s.query == ASSET).unwrap().params;
    assert_eq!(read, &json!({"id": asset}));
    let related = sent.iter().find(|s| s.query == RELATED_SHARED).unwrap();
    assert_eq!(related.params, json!({"id": asset}));
    let degrees = sent.iter().find(|s| s.query == RELATED_DEGREES).unwrap();
    assert_eq!(degrees.params, json!({"vids": [label_id]}));
    let appearances = sent.iter().find(|s| s.query == APPEARANCES).unwrap();
    assert_eq!(
        appearances.params,
        json!({
            "personId": person_id,
            "name": ids::normalise(&person),
            "faceIds": [face_id],
        })
    );
}

#[test]
fn each_kind_has_its_own_fixed_query() {
    for kind in VertexKind::ALL {
        let query = vertex_upsert_query(kind);
        assert!(
            query.contains(&format!("MERGE (v:{} {{`~id`: row.id}})", kind.label())),
            "{query}"
        );
        assert_eq!(
            VertexKind::ALL
                .iter()
                .filter(|k| query.contains(&format!(":{} ", k.label())))
                .count(),
            1,
            "{query}"
        );
    }
    for kind in EdgeKind::ALL {
        let query = edge_upsert_query(kind);
        assert!(
            query.contains(&format!("-[e:{} {{`~id`: row.id}}]->", kind.label())),
            "{query}"
        );
    }
    assert_eq!(
        fixed_queries().len(),
        6 + VertexKind::ALL.len() + EdgeKind::ALL.len(),
        "every query is distinct"
    );
}

// --- the shape of a write -----------------------------------------------------------------------

#[tokio::test]
async fn apply_sends_vertices_by_kind_in_batches_then_the_delete_then_the_edges() {
    let asset = ids::asset("a1");
    let labels = ["Car", "Tree", "Road"];
    let people = ["Jane Doe", "John Roe"];
    let mut vertices = vec![
        Vertex::new(ids::label(labels[0]), VertexKind::Label, labels[0]).with("score", 0.5),
        Vertex::asset("a1", "clips/a1.mp4")
            .with("kind", "video")
            .with("durationSeconds", 12.0)
            .with("width", 1920i64)
            .with("hasAudio", true)
            .with("name", "ignored: the name is the field's"),
    ];
    vertices.extend(
        labels[1..]
            .iter()
            .map(|l| Vertex::new(ids::label(l), VertexKind::Label, *l)),
    );
    vertices.extend(
        people
            .iter()
            .map(|p| Vertex::new(ids::person(p), VertexKind::Person, *p)),
    );
    let mut edges: Vec<Edge> = people
        .iter()
        .map(|p| {
            Edge::new(EdgeKind::Features, &asset, &ids::person(p), "video")
                .with("seconds", 4.5)
                .with("analysis", "ignored")
        })
        .collect();
    edges.extend(labels.iter().map(|l| {
        Edge::new(EdgeKind::HasLabel, &asset, &ids::label(l), "video").with("count", 3i64)
    }));
    let facts = Facts {
        asset_id: "a1".into(),
        analysis: "video".into(),
        vertices,
        edges: edges.clone(),
    };
    let neptune = Neptune::empty();
    neptune.graph(2).apply(&facts).await.unwrap();

    let sent = neptune.sent();
    let shape: Vec<(&str, Vec<&str>)> = sent
        .iter()
        .map(|s| {
            let ids = s.params["rows"]
                .as_array()
                .map(|rows| rows.iter().map(|r| r["id"].as_str().unwrap()).collect())
                .unwrap_or_default();
            (s.query.as_str(), ids)
        })
        .collect();
    let (car, tree, road) = (ids::label("Car"), ids::label("Tree"), ids::label("Road"));
    let (jane, john) = (ids::person("Jane Doe"), ids::person("John Roe"));
    let edge = |kind, to: &str| ids::edge(kind, &asset, to);
    let (has_car, has_tree, has_road) = (
        edge(EdgeKind::HasLabel, &car),
        edge(EdgeKind::HasLabel, &tree),
        edge(EdgeKind::HasLabel, &road),
    );
    let (features_jane, features_john) = (
        edge(EdgeKind::Features, &jane),
        edge(EdgeKind::Features, &john),
    );
    assert_eq!(
        shape,
        vec![
            (vertex_upsert_query(VertexKind::Asset), vec![asset.as_str()]),
            (
                vertex_upsert_query(VertexKind::Person),
                vec![jane.as_str(), john.as_str()]
            ),
            (
                vertex_upsert_query(VertexKind::Label),
                vec![car.as_str(), tree.as_str()]
            ),
            (vertex_upsert_query(VertexKind::Label), vec![road.as_str()]),
            (DELETE_STALE_EDGES, vec![]),
            (
                edge_upsert_query(EdgeKind::HasLabel),
                vec![has_car.as_str(), has_tree.as_str()]
            ),
            (
                edge_upsert_query(EdgeKind::HasLabel),
                vec![has_road.as_str()]
            ),
            (
                edge_upsert_query(EdgeKind::Features),
                vec![features_jane.as_str(), features_john.as_str()]
            ),
        ]
    );

    // Properties as plain JSON values; the name and analysis are fields of their own.
    assert_eq!(
        sent[0].params,
        json!({"rows": [{
            "id": asset,
            "name": "clips/a1.mp4",
            "props": {"durationSeconds": 12.0, "hasAudio": true, "kind": "video", "width": 1920},
        }]})
    );
    assert!(sent[0].params["rows"][0]["props"]["durationSeconds"].is_f64());
    assert!(sent[0].params["rows"][0]["props"]["width"].is_i64());
    assert_eq!(
        sent[4].params,
        json!({
            "asset": asset,
            "analysis": "video",
            "keep": [features_jane, features_john, has_car, has_tree, has_road],
        })
    );
    assert_eq!(
        sent[7].params["rows"][0],
        json!({
            "id": features_jane,
            "from": asset,
            "to": jane,
            "analysis": "video",
            "props": {"seconds": 4.5},
        })
    );
    assert_eq!(sent[5].params["rows"][1]["props"], json!({"count": 3}));
}

#[tokio::test]
async fn facts_without_edges_still_remove_the_analysis_earlier_edges() {
    let neptune = Neptune::empty();
    let facts = Facts {
        asset_id: "a1".into(),
        analysis: "audio".into(),
        ..Facts::default()
    };
    neptune.graph(100).apply(&facts).await.unwrap();
    let sent = neptune.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].query, DELETE_STALE_EDGES);
    assert_eq!(
        sent[0].params,
        json!({"asset": "asset:a1", "analysis": "audio", "keep": []})
    );
}

// --- reading --------------------------------------------------------------------------------------

#[tokio::test]
async fn assets_with_a_checksum_are_asset_ids() {
    let neptune = Neptune::answering(|_, _| json!([{"id": "asset:b2"}, {"id": "asset:a1"}]));
    let mut assets = neptune
        .graph(100)
        .assets_with_checksum("D41D8CD98F00B204E9800998ECF8427E")
        .await
        .unwrap();
    assets.sort();
    assert_eq!(assets, ["a1", "b2"]);
    assert_eq!(
        neptune.sent()[0].params,
        json!({"checksum": "md5:d41d8cd98f00b204e9800998ecf8427e"})
    );
}

#[tokio::test]
async fn an_asset_is_its_vertex_and_its_edges_with_the_vertices_at_their_other_ends() {
    let aprops = json!({
        "name": "clips/a1.mp4",
        "kind": "video",
        "durationSeconds": 12.5,
        "fps": 25.0,
        "width": 1920,
        "hasAudio": true,
    });
    let row = |eid: &str,
               etype: &str,
               efrom: &str,
               eto: &str,
               eprops: Json,
               vid: &str,
               vlabels: Json,
               vprops: Json| {
        json!({
            "aid": "asset:a1", "aprops": aprops,
            "eid": eid, "etype": etype, "efrom": efrom, "eto": eto, "eprops": eprops,
            "vid": vid, "vlabels": vlabels, "vprops": vprops,
        })
    };
    let rows = json!([
        row(
            "asset:a1|HAS_LABEL|label:car",
            "HAS_LABEL",
            "asset:a1",
            "label:car",
            json!({"analysis": "video", "confidence": 98.5, "count": 3}),
            "label:car",
            json!(["Label"]),
            json!({"name": "Car"}),
        ),
        row(
            "asset:b2|SAME_CHECKSUM|asset:a1",
            "SAME_CHECKSUM",
            "asset:b2",
            "asset:a1",
            json!({"analysis": "ingest"}),
            "asset:b2",
            json!(["Asset"]),
            json!({"name": "copies/b2.mp4", "kind": "video"}),
        ),
        row(
            "asset:a1|FEATURES|person:jane doe",
            "FEATURES",
            "asset:a1",
            "person:jane doe",
            json!({"analysis": "video", "seconds": 7.25, "ranges": "0.00-7.25"}),
            "person:jane doe",
            json!(["Person"]),
            json!({"name": "Jane Doe"}),
        ),
        // Repeated (a self-loop comes back twice) and of types this adapter does not write.
        row(
            "asset:a1|HAS_LABEL|label:car",
            "HAS_LABEL",
            "asset:a1",
            "label:car",
            json!({"analysis": "video", "confidence": 98.5, "count": 3}),
            "label:car",
            json!(["Label"]),
            json!({"name": "Car"}),
        ),
        row(
            "x1",
            "LIKES",
            "asset:a1",
            "label:car",
            json!({}),
            "label:car",
            json!(["Label"]),
            json!({"name": "Car"}),
        ),
        row(
            "x2",
            "HAS_LABEL",
            "asset:a1",
            "thing:1",
            json!({}),
            "thing:1",
            json!(["Thing"]),
            json!({}),
        ),
    ]);
    let neptune = Neptune::answering(move |_, _| rows.clone());
    let graph = neptune.graph(100).asset("a1").await.unwrap().unwrap();
    assert_eq!(neptune.sent()[0].query, ASSET);
    assert_eq!(neptune.sent()[0].params, json!({"id": "asset:a1"}));

    let asset = Vertex::asset("a1", "clips/a1.mp4")
        .with("kind", "video")
        .with("durationSeconds", 12.5)
        .with("fps", 25.0)
        .with("width", 1920i64)
        .with("hasAudio", true);
    assert_eq!(graph.asset, asset);
    assert_eq!(graph.asset.properties["fps"], Value::Double(25.0));
    assert_eq!(graph.asset.properties["width"], Value::Long(1920));

    let summary: Vec<(EdgeKind, &str, &str, &str, VertexKind, &str)> = graph
        .edges
        .iter()
        .map(|n| {
            (
                n.edge.kind,
                n.edge.from.as_str(),
                n.edge.to.as_str(),
                n.edge.analysis.as_str(),
                n.vertex.kind,
                n.vertex.name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                EdgeKind::HasLabel,
                "asset:a1",
                "label:car",
                "video",
                VertexKind::Label,
                "Car"
            ),
            (
                EdgeKind::Features,
                "asset:a1",
                "person:jane doe",
                "video",
                VertexKind::Person,
                "Jane Doe"
            ),
            (
                EdgeKind::SameChecksum,
                "asset:b2",
                "asset:a1",
                "ingest",
                VertexKind::Asset,
                "copies/b2.mp4"
            ),
        ]
    );
    let label = &graph.edges[0];
    assert_eq!(
        label.edge,
        Edge::new(EdgeKind::HasLabel, "asset:a1", "label:car", "video")
            .with("confidence", 98.5)
            .with("count", 3i64)
    );
    assert_eq!(
        label.vertex,
        Vertex::new("label:car".into(), VertexKind::Label, "Car")
    );
    assert_eq!(
        graph.edges[2].vertex,
        Vertex::asset("b2", "copies/b2.mp4").with("kind", "video")
    );
}

#[tokio::test]
async fn an_asset_without_edges_has_none_and_a_missing_asset_is_none() {
    let neptune = Neptune::answering(|_, params| {
        if params["id"] == "asset:a1" {
            json!([{
                "aid": "asset:a1", "aprops": {"name": "a1.jpg"},
                "eid": null, "etype": null, "efrom": null, "eto": null, "eprops": null,
                "vid": null, "vlabels": null, "vprops": null,
            }])
        } else {
            json!([])
        }
    });
    let graph = neptune.graph(100);
    let a1 = graph.asset("a1").await.unwrap().unwrap();
    assert_eq!(a1.asset, Vertex::asset("a1", "a1.jpg"));
    assert!(a1.edges.is_empty());
    assert_eq!(graph.asset("nope").await.unwrap(), None);
}

/// What [`RELATED_SHARED`] answers for asset a1: b2 shares a person and a common label (and
/// a scene-typed vertex, which says nothing), c3 the checksum, d4 and e5 the common label.
fn shared_rows() -> Json {
    let row = |asset: &str, name: &str, vid: &str, label: &str, vname: &str| json!({"asset": asset, "assetName": name, "vid": vid, "vlabels": [label], "vname": vname});
    json!([
        row(
            "asset:b2",
            "b2.mp4",
            "person:jane doe",
            "Person",
            "Jane Doe"
        ),
        row("asset:b2", "b2.mp4", "label:car", "Label", "Car"),
        row("asset:b2", "b2.mp4", "scene:x:1", "Scene", "Scene 1"),
        row("asset:c3", "c3.mp4", "md5:abc", "Checksum", "abc"),
        row("asset:e5", "e5.jpg", "label:car", "Label", "Car"),
        row("asset:d4", "d4.jpg", "label:car", "Label", "Car"),
        row("asset:d4", "d4.jpg", "label:car", "Label", "Car"),
    ])
}

#[tokio::test]
async fn related_assets_are_scored_by_shared_weight() {
    let neptune = Neptune::answering(|query, params| {
        if query == RELATED_SHARED {
            return shared_rows();
        }
        assert_eq!(query, RELATED_DEGREES);
        let degree = |vid: &str| match vid {
            "label:car" => 50,
            _ => 2,
        };
        Json::Array(
            params["vids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|vid| json!({"vid": vid, "assets": degree(vid.as_str().unwrap())}))
                .collect(),
        )
    });
    let graph = neptune.graph(2);
    let related = graph.related("a1", 10).await.unwrap();

    let person = Shared {
        kind: VertexKind::Person,
        id: "person:jane doe".into(),
        name: "Jane Doe".into(),
        assets: 2,
        weight: shared_weight(VertexKind::Person, 2),
    };
    let car = Shared {
        kind: VertexKind::Label,
        id: "label:car".into(),
        name: "Car".into(),
        assets: 50,
        weight: shared_weight(VertexKind::Label, 50),
    };
    let checksum = Shared {
        kind: VertexKind::Checksum,
        id: "md5:abc".into(),
        name: "abc".into(),
        assets: 2,
        weight: shared_weight(VertexKind::Checksum, 2),
    };
    let expected = vec![
        Related {
            asset_id: "c3".into(),
            name: "c3.mp4".into(),
            score: checksum.weight,
            shared: vec![checksum],
        },
        Related {
            asset_id: "b2".into(),
            name: "b2.mp4".into(),
            score: person.weight + car.weight,
            shared: vec![person, car.clone()],
        },
        // Equal scores: by asset id.
        Related {
            asset_id: "d4".into(),
            name: "d4.jpg".into(),
            score: car.weight,
            shared: vec![car.clone()],
        },
        Related {
            asset_id: "e5".into(),
            name: "e5.jpg".into(),
            score: car.weight,
            shared: vec![car],
        },
    ];
    assert_eq!(related, expected);
    assert!(close(related[1].score, 4.0 + 1.0 / (1.0 + 49f64.ln())));

    // The degrees of the telling vertices only (not the scene), in batches.
    let sent = neptune.sent();
    let vids: Vec<&Json> = sent
        .iter()
        .filter(|s| s.query == RELATED_DEGREES)
        .map(|s| &s.params["vids"])
        .collect();
    assert_eq!(
        vids,
        [
            &json!(["label:car", "md5:abc"]),
            &json!(["person:jane doe"])
        ]
    );

    assert_eq!(graph.related("a1", 2).await.unwrap(), expected[..2]);
    assert!(graph.related("a1", 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_asset_sharing_nothing_has_no_related_assets_and_no_degree_query() {
    let neptune = Neptune::empty();
    assert!(
        neptune
            .graph(100)
            .related("a1", 5)
            .await
            .unwrap()
            .is_empty()
    );
    let sent = neptune.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].query, RELATED_SHARED);
}

#[tokio::test]
async fn appearances_read_the_edge_properties_longest_on_screen_first() {
    let row = |asset: &str, name: &str, pid: &str, pname: &str, eprops: Json| json!({"asset": asset, "assetName": name, "pid": pid, "pname": pname, "eprops": eprops});
    let rows = json!([
        row(
            "asset:p1",
            "photo.jpg",
            "person:jane doe",
            "Jane Doe",
            json!({"analysis": "image", "confidence": 99.5})
        ),
        row(
            "asset:v1",
            "talk.mp4",
            "person:jane doe",
            "Jane Doe",
            json!({
                "analysis": "video", "confidence": 97.25, "seconds": 12.5,
                "firstSeen": 0, "lastSeen": 17.5, "ranges": "0.00-5.00;10.00-17.50",
            })
        ),
        row(
            "asset:v2",
            "panel.mp4",
            "face:f-1",
            "jane  doe",
            json!({"analysis": "video", "seconds": 30, "ranges": "1.00-31.00"})
        ),
        row(
            "asset:p0",
            "album.jpg",
            "face:f-1",
            "",
            json!({"analysis": "image"})
        ),
    ]);
    let neptune = Neptune::answering(move |_, _| rows.clone());
    let graph = neptune.graph(100);
    let found = graph
        .appearances("  Jane   DOE ", &["face:f-1".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        neptune.sent()[0].params,
        json!({"personId": "person:jane doe", "name": "jane doe", "faceIds": ["face:f-1"]})
    );
    let expected = vec![
        Appearance {
            asset_id: "v2".into(),
            asset_name: "panel.mp4".into(),
            person_id: "face:f-1".into(),
            person: "jane  doe".into(),
            confidence: None,
            seconds: Some(30.0),
            first_seen: None,
            last_seen: None,
            ranges: vec![(1.0, 31.0)],
        },
        Appearance {
            asset_id: "v1".into(),
            asset_name: "talk.mp4".into(),
            person_id: "person:jane doe".into(),
            person: "Jane Doe".into(),
            confidence: Some(97.25),
            seconds: Some(12.5),
            first_seen: Some(0.0),
            last_seen: Some(17.5),
            ranges: vec![(0.0, 5.0), (10.0, 17.5)],
        },
        // Images: by asset name.
        Appearance {
            asset_id: "p0".into(),
            asset_name: "album.jpg".into(),
            person_id: "face:f-1".into(),
            person: String::new(),
            confidence: None,
            seconds: None,
            first_seen: None,
            last_seen: None,
            ranges: vec![],
        },
        Appearance {
            asset_id: "p1".into(),
            asset_name: "photo.jpg".into(),
            person_id: "person:jane doe".into(),
            person: "Jane Doe".into(),
            confidence: Some(99.5),
            seconds: None,
            first_seen: None,
            last_seen: None,
            ranges: vec![],
        },
    ];
    assert_eq!(found, expected);
}

#[tokio::test]
async fn appearances_of_no_name_match_the_faces_only() {
    let neptune = Neptune::empty();
    let graph = neptune.graph(100);
    assert!(graph.appearances("   ", &[]).await.unwrap().is_empty());
    assert!(neptune.sent().is_empty(), "nothing to look for: no query");
    graph
        .appearances("", &["face:f-9".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        neptune.sent()[0].params,
        json!({"personId": null, "name": null, "faceIds": ["face:f-9"]})
    );
}

/// The SDK's own reading of Neptune's JSON answer: integers stay integers.
#[tokio::test]
async fn results_are_read_from_neptunes_json_answer() {
    let rule = mock!(Client::execute_open_cypher_query).then_http_response(|| {
        let mut response = HttpResponse::new(
            StatusCode::try_from(200).unwrap(),
            SdkBody::from(
                json!({"results": [{
                    "aid": "asset:a1",
                    "aprops": {"name": "a1.mp4", "width": 1920, "fps": 25.0, "offset": -3, "duration": 12.5},
                    "eid": null, "etype": null, "efrom": null, "eto": null, "eprops": null,
                    "vid": null, "vlabels": null, "vprops": null,
                }]})
                .to_string(),
            ),
        );
        response
            .headers_mut()
            .insert("content-type", "application/json");
        response
    });
    let graph = graph_on(&rule).asset("a1").await.unwrap().unwrap();
    assert_eq!(
        graph.asset,
        Vertex::asset("a1", "a1.mp4")
            .with("width", 1920i64)
            .with("fps", 25.0)
            .with("offset", -3i64)
            .with("duration", 12.5)
    );
    assert_eq!(graph.asset.properties["fps"], Value::Double(25.0));
}

// --- errors -----------------------------------------------------------------------------------------

#[tokio::test]
async fn throttling_and_transient_exceptions_are_unavailable_after_the_sdks_retries() {
    for (status, code) in [
        (429, "ThrottlingException"),
        (500, "ThrottlingException"),
        (429, "TooManyRequestsException"),
        (400, "ConcurrentModificationException"),
        (500, "TimeLimitExceededException"),
        (500, "QueryLimitExceededException"),
        (503, "ServiceUnavailable"),
    ] {
        let rule = mock!(Client::execute_open_cypher_query)
            .sequence()
            .http_response(move || refusal(status, code, "Try again later"))
            .repeatedly()
            .build();
        let err = graph_on(&rule).asset("a1").await.unwrap_err();
        let GraphError::Unavailable(message) = &err else {
            panic!("{status} {code}: {err:?}");
        };
        assert!(message.contains(code), "{message}");
        assert!(message.contains("reading asset a1"), "{message}");
        assert!(err.is_retryable());
        assert_eq!(rule.num_calls(), ATTEMPTS as usize, "{status} {code}");
    }
}

#[tokio::test]
async fn a_transient_refusal_that_passes_is_retried_by_the_sdk() {
    let rule = mock!(Client::execute_open_cypher_query)
        .sequence()
        .http_response(|| refusal(500, "ConcurrentModificationException", "Conflict"))
        .output(|| {
            ExecuteOpenCypherQueryOutput::builder()
                .results(document(&json!([{"id": "asset:a1"}])))
                .build()
                .unwrap()
        })
        .build();
    let assets = graph_on(&rule).assets_with_checksum("abc").await.unwrap();
    assert_eq!(assets, ["a1"]);
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn access_denied_is_failed_naming_the_iam_actions() {
    let rule = mock!(Client::execute_open_cypher_query).then_http_response(|| {
        refusal(
            403,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/mediasift-graph/mediasift-graph is not \
             authorized to perform: neptune-db:WriteDataViaQuery",
        )
    });
    let facts = Facts {
        asset_id: "a1".into(),
        analysis: "video".into(),
        vertices: vec![Vertex::asset("a1", "a1.mp4")],
        edges: vec![],
    };
    let err = graph_on(&rule).apply(&facts).await.unwrap_err();
    let GraphError::Failed(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains(
            "Grant neptune-db:ReadDataViaQuery, neptune-db:WriteDataViaQuery and \
             neptune-db:DeleteDataViaQuery on the cluster to the graph function's role"
        ),
        "{message}"
    );
    assert!(
        message.contains("applying the video facts of asset a1: upserting Asset vertices"),
        "{message}"
    );
    assert!(message.contains("AccessDeniedException"), "{message}");
    assert!(
        message.contains("is not authorized to perform"),
        "{message}"
    );
    assert!(!err.is_retryable());
    assert_eq!(rule.num_calls(), 1, "a refusal is not retried");
}

#[tokio::test]
async fn a_malformed_query_or_a_bad_request_is_failed_with_neptunes_detail() {
    for (code, detail, advice) in [
        (
            "MalformedQueryException",
            "Invalid input 'x': expected whitespace (line 1, column 12)",
            "Neptune engine 1.2.0.2 or later",
        ),
        (
            "BadRequestException",
            "Invalid parameter value for 'rows'",
            "retrying will not help",
        ),
        (
            "QueryTooLargeException",
            "Query body too large",
            "lower the adapter's batch size",
        ),
    ] {
        let rule = mock!(Client::execute_open_cypher_query)
            .then_http_response(move || refusal(400, code, detail));
        let err = graph_on(&rule).related("a1", 5).await.unwrap_err();
        let GraphError::Failed(message) = &err else {
            panic!("{code}: {err:?}");
        };
        assert!(message.contains(code), "{message}");
        assert!(message.contains(detail), "{message}");
        assert!(message.contains(advice), "{message}");
        assert!(
            message.contains("finding the assets related to asset a1"),
            "{message}"
        );
        assert!(!err.is_retryable());
        assert_eq!(rule.num_calls(), 1, "{code}");
    }
}

#[test]
fn the_graph_is_built_from_the_sdk_config_and_an_endpoint() {
    let sdk = aws_config::SdkConfig::builder()
        .region(Region::new("eu-west-1"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    let graph = NeptuneGraph::from_conf(&sdk, ENDPOINT);
    assert_eq!(graph.batch_size(), 100);
    assert_eq!(graph.with_batch_size(0).batch_size(), 1);
}
