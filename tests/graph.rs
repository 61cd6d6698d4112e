//! The graph service through the whole local pipeline: a small library whose assets share
//! content (one photo uploaded twice, two clips showing the same caption, one of them also
//! saying it), then `search`, `graph related`, `show`, `graph export`; and `Asset Analysis
//! Completed` once per asset however the events arrive.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use mediasift_graph::sqlite::SqliteGraph;
use mediasift_graph::{Graph, GraphConfig};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::SystemClock;
use mediasift_kit::{Handler, Ports};
use mediasift_schemas::RawEvent;
use serde_json::Value;

mod support;
use support::run_tool;

fn mediasift(data_dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(args)
        .env("MEDIASIFT_DATA_DIR", data_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A clip of `seconds` showing `caption` from `from` to `to` seconds (a shot of its own),
/// with `speech` (by flite) as its sound when given, else no audio track.
fn clip(
    dir: &Path,
    name: &str,
    seconds: u32,
    caption: &str,
    from: u32,
    to: u32,
    speech: Option<&str>,
) -> PathBuf {
    let path = dir.join(name);
    // The caption comes with its own shot (a new background): dynamic frame selection
    // analyses one capture per look within a shot, and a caption alone over a still
    // background does not change the look enough to be analysed again.
    let video = format!(
        "color=c=0x203040:size=640x360:rate=25:duration={seconds},\
         drawbox=x=0:y=0:w=iw:h=ih:color=0x806020:t=fill:enable='between(t,{from},{to})',\
         drawtext=text='{caption}':fontsize=56:fontcolor=white:x=(w-tw)/2:y=(h-th)/2:\
         enable='between(t,{from},{to})'"
    );
    let mut args: Vec<String> = vec![
        "-v".into(),
        "error".into(),
        "-y".into(),
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        video,
    ];
    if let Some(speech) = speech {
        let wav = dir.join(format!("{name}.wav"));
        run_tool("flite", &["-t", speech, "-o", wav.to_str().unwrap()]);
        args.extend([
            "-i".into(),
            wav.display().to_string(),
            "-c:a".into(),
            "aac".into(),
        ]);
    }
    args.extend([
        "-c:v".into(),
        "libx264".into(),
        "-pix_fmt".into(),
        "yuv420p".into(),
        "-t".into(),
        seconds.to_string(),
        path.display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_tool("ffmpeg", &args);
    if speech.is_some() {
        std::fs::remove_file(dir.join(format!("{name}.wav"))).unwrap();
    }
    path
}

fn sample(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".cache/samples")
        .join(name);
    assert!(
        path.is_file(),
        "sample {} is missing: run scripts/setup.sh",
        path.display()
    );
    path
}

struct Library {
    _dir: tempfile::TempDir,
    data: PathBuf,
    /// Asset id by input file name.
    assets: BTreeMap<String, String>,
}

fn library() -> Library {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::copy(sample("photo.jpg"), inputs.join("photo.jpg")).unwrap();
    std::fs::copy(sample("photo.jpg"), inputs.join("photo again.jpg")).unwrap();
    clip(
        &inputs,
        "harbour-news.mp4",
        8,
        "HARBOUR BRIDGE",
        2,
        5,
        Some("The new bridge opens today."),
    );
    clip(
        &inputs,
        "harbour-promo.mp4",
        10,
        "HARBOUR BRIDGE",
        4,
        8,
        None,
    );
    let data = dir.path().join("data");
    let (code, stdout, stderr) = mediasift(&data, &["run", "--json", inputs.to_str().unwrap()]);
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 4, "{stdout}\n{stderr}");
    let mut assets = BTreeMap::new();
    for line in &lines {
        assert_eq!(line["status"], "completed", "{line}\n{stderr}");
        let file = Path::new(line["input"].as_str().unwrap_or_default())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assets.insert(file, line["assetId"].as_str().unwrap().to_owned());
    }
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    Library {
        _dir: dir,
        data,
        assets,
    }
}

fn events(data: &Path) -> Vec<RawEvent> {
    let (code, stdout, stderr) = mediasift(data, &["events", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn completions_per_asset(events: &[RawEvent]) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.detail_type == "Asset Analysis Completed")
    {
        *count
            .entry(e.detail["assetId"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    count
}

#[test]
fn a_library_that_shares_content_is_searchable_and_related_and_completes_once() {
    let lib = library();
    let news = &lib.assets["harbour-news.mp4"];
    let promo = &lib.assets["harbour-promo.mp4"];
    let photo = &lib.assets["photo.jpg"];
    let again = &lib.assets["photo again.jpg"];

    // Search: both clips, with when the caption is on screen and when the bridge is said.
    let (code, stdout, stderr) = mediasift(&lib.data, &["search", "harbour bridge", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let found: BTreeMap<String, Value> = json_lines(&stdout)
        .into_iter()
        .map(|l| (l["assetId"].as_str().unwrap().to_owned(), l))
        .collect();
    assert_eq!(
        found.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([news.clone(), promo.clone()]),
        "{stdout}"
    );
    let text_range = |asset: &str| -> (f64, f64) {
        let hit = found[asset]["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["field"] == "text")
            .unwrap_or_else(|| panic!("no on-screen text match: {}", found[asset]));
        let ranges = hit["ranges"].as_array().unwrap();
        let first = &ranges[0];
        (
            first[0].as_f64().unwrap(),
            ranges.last().unwrap()[1].as_f64().unwrap(),
        )
    };
    // 1-second captures: the caption is first seen on the capture at (or just after) it
    // appears and last seen up to a capture interval after it goes.
    let (start, end) = text_range(news);
    assert!(
        (2.0..=3.0).contains(&start) && (4.0..=6.0).contains(&end),
        "{start}-{end}"
    );
    let (start, end) = text_range(promo);
    assert!(
        (4.0..=5.0).contains(&start) && (7.0..=9.0).contains(&end),
        "{start}-{end}"
    );

    let (code, stdout, stderr) = mediasift(&lib.data, &["search", "bridge opens", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let said = json_lines(&stdout);
    assert_eq!(said.len(), 1, "{stdout}");
    assert_eq!(said[0]["assetId"], news.as_str());
    let transcript = said[0]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["field"] == "transcript")
        .unwrap_or_else(|| panic!("{}", said[0]));
    let (start, end) = (
        transcript["ranges"][0][0].as_f64().unwrap(),
        transcript["ranges"][0][1].as_f64().unwrap(),
    );
    assert!(start < 1.0 && (1.0..=8.0).contains(&end), "{start}-{end}");

    // By file name, and a query full of search syntax is just words.
    let (code, stdout, _) = mediasift(&lib.data, &["search", "again", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(json_lines(&stdout)[0]["assetId"], again.as_str());
    let (code, _, stderr) = mediasift(&lib.data, &["search", "NEAR(\"x\" OR col:*", "--json"]);
    assert_eq!(code, 1, "no match, and no error: {stderr}");
    assert!(!stderr.contains("error"), "{stderr}");

    // Related: the other clip through the shared caption; the byte-identical photo first.
    let (code, stdout, stderr) = mediasift(&lib.data, &["graph", "related", news, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let related = json_lines(&stdout);
    assert_eq!(related[0]["assetId"], promo.as_str(), "{stdout}");
    assert!(
        related[0]["shared"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "Keyword" && s["name"] == "HARBOUR BRIDGE"),
        "{stdout}"
    );
    let (code, stdout, stderr) = mediasift(&lib.data, &["graph", "related", "photo.jpg", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let related = json_lines(&stdout);
    assert_eq!(related[0]["assetId"], again.as_str(), "{stdout}");
    let kinds: BTreeSet<&str> = related[0]["shared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains("Checksum") && kinds.contains("Location"),
        "{stdout}"
    );

    // Show: the facts, every analysis done, the duplicate.
    let (code, stdout, stderr) = mediasift(&lib.data, &["show", again, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["complete"], true, "{stdout}");
    assert_eq!(
        shown["asset"]["properties"]["md5"],
        md5_of(&sample("photo.jpg"))
    );
    assert!(
        shown["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["edge"]["kind"] == "SameChecksum"
                && [n["edge"]["from"].as_str(), n["edge"]["to"].as_str()]
                    .contains(&Some(format!("asset:{photo}").as_str()))),
        "{stdout}"
    );
    let (code, stdout, _) = mediasift(&lib.data, &["show", "harbour-news.mp4"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("HARBOUR BRIDGE") && stdout.contains("scenes:"),
        "{stdout}"
    );

    // Export: Neptune's bulk-load files.
    let export = lib.data.join("neptune");
    let (code, _, stderr) = mediasift(&lib.data, &["graph", "export", export.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let vertices = std::fs::read_to_string(export.join("vertices.csv")).unwrap();
    let edges = std::fs::read_to_string(export.join("edges.csv")).unwrap();
    assert!(vertices.starts_with("~id,~label,name:String"), "{vertices}");
    assert!(
        edges.starts_with("~id,~from,~to,~label,analysis:String"),
        "{edges}"
    );
    assert!(
        vertices.contains(&format!("asset:{news},Asset,")),
        "{vertices}"
    );

    // Once per asset, also when the graph gets every event again, twice.
    let before = events(&lib.data);
    let once: BTreeMap<String, usize> = lib.assets.values().map(|a| (a.clone(), 1)).collect();
    assert_eq!(completions_per_asset(&before), once);
    for _ in 0..2 {
        let (code, _, stderr) = mediasift(&lib.data, &["replay", "--service", "graph"]);
        assert_eq!(code, 0, "{stderr}");
    }
    assert_eq!(completions_per_asset(&events(&lib.data)), once);

    out_of_order_and_twice_gives_one_completion_and_the_same_graph(&lib, &before);
}

/// The library's own events, delivered to a fresh graph service shuffled (5 orders) and each
/// twice: one `Asset Analysis Completed` id per asset, the same status as in order, and the same
/// graph as in order.
fn out_of_order_and_twice_gives_one_completion_and_the_same_graph(
    lib: &Library,
    archive: &[RawEvent],
) {
    let graph_service = Graph::new(
        GraphConfig::default(),
        Some(Arc::new(SqliteGraph::in_memory().unwrap())),
        None,
    );
    let inputs: Vec<&RawEvent> = archive
        .iter()
        .filter(|e| {
            graph_service.subscriptions().rules.iter().any(|r| {
                r.compile()
                    .unwrap()
                    .matches(&serde_json::to_value(e).unwrap())
            })
        })
        .collect();
    let in_order_status: BTreeMap<String, Value> = archive
        .iter()
        .filter(|e| e.detail_type == "Asset Analysis Completed")
        .map(|e| {
            (
                e.detail["assetId"].as_str().unwrap().to_owned(),
                e.detail["status"].clone(),
            )
        })
        .collect();
    let in_order = SqliteGraph::open(&lib.data.join("graph.db")).unwrap();
    let objects = Arc::new(LocalObjectStore::open(lib.data.join("objects")).unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut seed: u64 = 0x5eed;
    for round in 0..5 {
        let graph = Arc::new(SqliteGraph::in_memory().unwrap());
        let service = Graph::new(
            GraphConfig::default(),
            Some(graph.clone()),
            Some(graph.clone()),
        );
        let ports = Ports {
            objects: objects.clone(),
            state: Arc::new(SqliteStateStore::open_in_memory().unwrap()),
            clock: Arc::new(SystemClock),
            derived_bucket: "derived".into(),
            ingest_bucket: "ingest".into(),
        };
        let mut deliveries: Vec<&RawEvent> = inputs.iter().chain(inputs.iter()).copied().collect();
        for i in (1..deliveries.len()).rev() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            deliveries.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let mut emitted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for event in deliveries {
            for out in runtime.block_on(service.handle(event, &ports)).unwrap() {
                assert_ne!(
                    out.detail_type, "Processing Failed",
                    "round {round}: {:?}",
                    out.detail
                );
                if out.detail_type == "Asset Analysis Completed" {
                    let asset = out.detail["assetId"].as_str().unwrap().to_owned();
                    assert_eq!(
                        out.detail["status"], in_order_status[&asset],
                        "round {round}"
                    );
                    emitted.entry(asset).or_default().insert(out.id);
                }
            }
        }
        let ids_per_asset: BTreeMap<String, usize> = emitted
            .iter()
            .map(|(a, ids)| (a.clone(), ids.len()))
            .collect();
        let once: BTreeMap<String, usize> = lib.assets.values().map(|a| (a.clone(), 1)).collect();
        assert_eq!(ids_per_asset, once, "round {round}");
        assert_eq!(
            graph.all_vertices().unwrap(),
            in_order.all_vertices().unwrap(),
            "round {round}"
        );
        assert_eq!(
            graph.all_edges().unwrap(),
            in_order.all_edges().unwrap(),
            "round {round}"
        );
    }
}

fn md5_of(path: &Path) -> String {
    let out = Command::new("md5sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
