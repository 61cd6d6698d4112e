//! The knowledge graph's commands: `search`, `show`, `graph related`, `graph person` and
//! `graph export`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use mediasift::runtime::LocalRuntime;
use mediasift_graph::completion::{self, RunRecord};
use mediasift_graph::model::{EdgeKind, VertexKind, ids, parse_ranges};
use mediasift_graph::ports::{AssetGraph, GraphQueries, Neighbour};
use mediasift_video::faces::FaceNames;
use serde_json::json;

use crate::DataDir;

/// `mediasift search TEXT`: assets whose transcripts, text, labels, keyphrases, entities,
/// people or file names match, with where in them.
pub async fn search(
    data: &DataDir,
    query: &str,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let found = mediasift::search::search(&runtime, query, limit).await?;
    if found.is_empty() {
        if !json {
            eprintln!("no asset matches {query:?}");
        }
        return Ok(ExitCode::from(1));
    }
    for asset in &found {
        if json {
            println!("{}", serde_json::to_string(asset)?);
            continue;
        }
        println!(
            "{}  ({}, asset {})",
            asset.name, asset.media_type, asset.asset_id
        );
        for m in &asset.matches {
            let place = match (m.page, m.ranges.is_empty()) {
                (Some(page), _) => format!("page {page}"),
                (None, false) => ranges_text(&m.ranges),
                (None, true) => String::new(),
            };
            println!("  {:<11} {:<24} {}", m.field, place, one_line(&m.text, 100));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `mediasift show ASSET`: everything known about an asset.
pub async fn show(data: &DataDir, asset: &str, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let Some(asset_id) = resolve(&runtime, asset).await? else {
        eprintln!(
            "no asset {asset:?} in {} (an asset id, or the key it was uploaded as; `mediasift status` lists them)",
            data.data_dir.display()
        );
        return Ok(ExitCode::from(1));
    };
    let Some(mut graph) = runtime.graph.asset(&asset_id).await? else {
        eprintln!("asset {asset_id} is not in the graph yet");
        return Ok(ExitCode::from(1));
    };
    name_faces(&runtime, &mut graph).await?;
    let run = latest_run(&runtime, &asset_id).await?;
    if json {
        let outcomes: BTreeMap<String, serde_json::Value> = run
            .as_ref()
            .map(|run| {
                run.outcomes
                    .iter()
                    .map(|(analysis, r)| {
                        (
                            serde_json::to_value(analysis)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default(),
                            json!({"completed": r.completed, "eventId": r.event_id, "results": r.results, "cause": r.cause}),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let value = json!({
            "assetId": asset_id,
            "asset": graph.asset,
            "planned": run.as_ref().and_then(|r| r.planned.as_ref()).map(|p| &p.analyses),
            "complete": run.as_ref().is_some_and(|r| r.completed),
            "outcomes": outcomes,
            "edges": graph.edges,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_asset(&asset_id, &graph, run.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// `mediasift graph related ASSET`.
pub async fn related(
    data: &DataDir,
    asset: &str,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let Some(asset_id) = resolve(&runtime, asset).await? else {
        eprintln!("no asset {asset:?} in {}", data.data_dir.display());
        return Ok(ExitCode::from(1));
    };
    let related = runtime.graph.related(&asset_id, limit).await?;
    if related.is_empty() && !json {
        eprintln!(
            "nothing in the library shares people, labels, keywords, entities, places or bytes with {asset_id}"
        );
    }
    for r in &related {
        if json {
            println!("{}", serde_json::to_string(r)?);
            continue;
        }
        println!("{:>7.2}  {}  (asset {})", r.score, r.name, r.asset_id);
        let shared: Vec<String> = r
            .shared
            .iter()
            .map(|s| format!("{} {:?}", s.kind.label().to_lowercase(), s.name))
            .collect();
        println!("         shares {}", shared.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// `mediasift graph person NAME`: where a person appears (celebrities by name, faces of the
/// collection by the name given to them, even after their analysis).
pub async fn person(data: &DataDir, name: &str, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let wanted = ids::normalise(name);
    let names = FaceNames::new(runtime.state.as_ref());
    let mut face_ids = Vec::new();
    let mut face_names = BTreeMap::new();
    for vertex in runtime.graph.all_vertices()? {
        if let Some(face_id) = vertex.id.strip_prefix("face:")
            && let Some(given) = names.name(face_id).await?
        {
            if ids::normalise(&given) == wanted {
                face_ids.push(vertex.id.clone());
            }
            face_names.insert(vertex.id.clone(), given);
        }
    }
    let mut appearances = runtime.graph.appearances(name, &face_ids).await?;
    for a in &mut appearances {
        if let Some(given) = face_names.get(&a.person_id) {
            a.person = given.clone();
        }
    }
    if appearances.is_empty() {
        if !json {
            eprintln!(
                "{name:?} appears in no asset (celebrities by name; faces once named with `mediasift faces name`)"
            );
        }
        return Ok(ExitCode::from(1));
    }
    for a in &appearances {
        if json {
            println!("{}", serde_json::to_string(a)?);
            continue;
        }
        let time = match a.seconds {
            Some(seconds) => format!("{seconds:.1} s on screen: {}", ranges_text(&a.ranges)),
            None => "in the picture".into(),
        };
        println!(
            "{}  (asset {})  {}  {time}",
            a.asset_name, a.asset_id, a.person
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `mediasift graph export DIR`: Neptune bulk-load CSV of the whole graph.
pub async fn export(data: &DataDir, dir: &Path) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let summary = mediasift_graph::export::export_dir(&runtime.graph, dir)?;
    println!(
        "{} vertices → {}\n{} edges → {}\nload them with Neptune's bulk loader (format csv) from an S3 folder holding both files",
        summary.vertices,
        summary.vertices_path.display(),
        summary.edges,
        summary.edges_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// An asset id from an id or the key the asset was uploaded as.
async fn resolve(runtime: &LocalRuntime, asset: &str) -> anyhow::Result<Option<String>> {
    if let Ok(id) = uuid::Uuid::parse_str(asset) {
        return Ok(Some(id.to_string()));
    }
    Ok(runtime
        .graph
        .all_vertices()?
        .into_iter()
        .filter(|v| v.kind == VertexKind::Asset)
        .find(|v| v.name == asset || v.name.rsplit('/').next() == Some(asset))
        .and_then(|v| ids::asset_id(&v.id).map(str::to_owned)))
}

/// The latest processing run of the asset (its latest `… Ingested` event's).
async fn latest_run(runtime: &LocalRuntime, asset_id: &str) -> anyhow::Result<Option<RunRecord>> {
    let events = super::read_events(&runtime.bus, Some(asset_id), 0).await?;
    let Some((_, ingested)) = events
        .iter()
        .rev()
        .find(|(_, e)| e.detail_type.ends_with(" Ingested"))
    else {
        return Ok(None);
    };
    let id = uuid::Uuid::parse_str(asset_id)?;
    let key = completion::key(id, &ingested.correlation_id());
    let item = runtime.state.as_ref();
    let item = mediasift_kit::ports::StateStore::get(item, completion::TABLE, &key).await?;
    Ok(match item {
        Some(item) => Some(completion::record(&item)?),
        None => None,
    })
}

/// Faces of the collection with the names given to them since.
async fn name_faces(runtime: &LocalRuntime, graph: &mut AssetGraph) -> anyhow::Result<()> {
    let names = FaceNames::new(runtime.state.as_ref());
    for n in &mut graph.edges {
        if let Some(face_id) = n.vertex.id.strip_prefix("face:")
            && let Some(given) = names.name(face_id).await?
        {
            n.vertex.name = given;
        }
    }
    Ok(())
}

fn print_asset(asset_id: &str, graph: &AssetGraph, run: Option<&RunRecord>) {
    let asset = &graph.asset;
    let prop = |k: &str| asset.properties.get(k);
    println!(
        "{}  ({}, asset {asset_id})",
        asset.name,
        prop("mediaType").and_then(|v| v.as_str()).unwrap_or("?")
    );
    let facts: Vec<String> = asset
        .properties
        .iter()
        .filter(|(k, _)| !["mediaType", "bucket", "key"].contains(&k.as_str()))
        .map(|(k, v)| match v {
            mediasift_graph::model::Value::Text(s) => format!("{k} {s}"),
            mediasift_graph::model::Value::Double(n) => format!("{k} {n:.2}"),
            mediasift_graph::model::Value::Long(n) => format!("{k} {n}"),
            mediasift_graph::model::Value::Bool(b) => format!("{k} {b}"),
        })
        .collect();
    println!("  {}", facts.join(" · "));
    if let Some(run) = run {
        if let Some(planned) = &run.planned {
            let states: Vec<String> = planned
                .analyses
                .iter()
                .map(|a| {
                    let name = serde_json::to_value(a)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    match run.outcomes.get(a) {
                        Some(r) if r.completed => format!("{name} ✓"),
                        Some(_) => format!("{name} ✗"),
                        None => format!("{name} …"),
                    }
                })
                .collect();
            let done = if run.completed {
                "complete"
            } else {
                "in progress"
            };
            println!("  analyses ({done}): {}", states.join(", "));
        }
        for (analysis, r) in &run.outcomes {
            if let Some(cause) = &r.cause {
                println!("    {analysis:?} failed: {cause}");
            }
            for result in &r.results {
                println!("    {:<18} {}", result.name, result.uri);
            }
        }
    }
    let sections: [(&str, &[EdgeKind]); 9] = [
        ("people", &[EdgeKind::Features]),
        ("labels", &[EdgeKind::HasLabel]),
        ("moderation", &[EdgeKind::HasModerationLabel]),
        ("on-screen text", &[EdgeKind::ShowsText]),
        ("keyphrases", &[EdgeKind::HasKeyword]),
        ("entities", &[EdgeKind::Mentions]),
        ("brands", &[EdgeKind::ShowsBrand]),
        ("places", &[EdgeKind::TakenAt]),
        ("scenes", &[EdgeKind::HasScene]),
    ];
    for (title, kinds) in sections {
        let items: Vec<&Neighbour> = graph
            .edges
            .iter()
            .filter(|n| kinds.contains(&n.edge.kind) && n.edge.from == asset.id)
            .collect();
        if items.is_empty() {
            continue;
        }
        println!("  {title}:");
        for n in items {
            println!("    {}", neighbour_line(n));
        }
    }
    let duplicates: Vec<String> = graph
        .edges
        .iter()
        .filter(|n| n.edge.kind == EdgeKind::SameChecksum)
        .map(|n| {
            format!(
                "{} (asset {})",
                n.vertex.name,
                ids::asset_id(&n.vertex.id).unwrap_or("?")
            )
        })
        .collect();
    if !duplicates.is_empty() {
        println!("  byte-identical to: {}", duplicates.join(", "));
    }
}

fn neighbour_line(n: &Neighbour) -> String {
    let p = |k: &str| n.edge.properties.get(k).and_then(|v| v.as_f64());
    let mut parts = vec![if n.vertex.name.is_empty() {
        format!("(unnamed {})", n.vertex.id)
    } else {
        n.vertex.name.clone()
    }];
    if let Some(kind) = n.vertex.properties.get("type").and_then(|v| v.as_str()) {
        parts.push(kind.to_owned());
    }
    if let Some(c) = p("confidence") {
        parts.push(format!("{c:.0}%"));
    }
    if let Some(s) = p("score") {
        parts.push(format!("score {s:.2}"));
    }
    if let Some(s) = p("seconds") {
        parts.push(format!("{s:.1} s"));
    }
    if let Some(ranges) = n.edge.properties.get("ranges").and_then(|v| v.as_str()) {
        parts.push(ranges_text(&parse_ranges(ranges)));
    }
    if n.edge.kind == EdgeKind::HasScene {
        let v = |k: &str| {
            n.vertex
                .properties
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        parts.push(format!("{}–{}", v("startTimecode"), v("endTimecode")));
        let categories = v("categories");
        if !categories.is_empty() {
            parts.push(categories);
        }
    }
    parts.join("  ")
}

fn ranges_text(ranges: &[(f64, f64)]) -> String {
    const SHOWN: usize = 6;
    let mut text: Vec<String> = ranges
        .iter()
        .take(SHOWN)
        .map(|(s, e)| format!("{}–{}", clock(*s), clock(*e)))
        .collect();
    if ranges.len() > SHOWN {
        text.push(format!("… {} more", ranges.len() - SHOWN));
    }
    text.join(", ")
}

fn clock(seconds: f64) -> String {
    let whole = seconds.max(0.0);
    let minutes = (whole / 60.0).floor();
    format!("{}:{:04.1}", minutes as u64, whole - minutes * 60.0)
}

fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}
