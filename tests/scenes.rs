//! Scenes and ad breaks through the whole local pipeline (`mediasift run`: ingest, video,
//! audio, scene, adbreak) on a generated programme with planted structure
//! (scripts/make_scene_fixture.py): six scenes of two or three shots each, black transitions
//! after three of them, speech with pauses under four, music under three, and a sentence
//! across a shot cut in three (the mid-sentence cuts).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod support;
use support::mediasift;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn python() -> PathBuf {
    let python = Path::new(ROOT).join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup.sh",
        python.display()
    );
    python
}

/// The programme and its truth, generated into `dir`.
fn fixture(dir: &Path) -> (PathBuf, Value) {
    let out = Command::new("python3")
        .arg(Path::new(ROOT).join("scripts/make_scene_fixture.py"))
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the fixture generator failed (it needs ffmpeg and flite: run scripts/setup.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth = std::fs::read_to_string(dir.join("truth.json")).unwrap();
    (
        dir.join("programme.mp4"),
        serde_json::from_str(&truth).unwrap(),
    )
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn planted_scenes_are_found_and_good_breaks_outrank_mid_sentence_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let (programme, truth) = fixture(&dir.path().join("fixture"));
    let data = dir.path().join("data");
    let (status, stdout, stderr) =
        mediasift(&data, &["run", "--json", programme.to_str().unwrap()]);
    let line: Value = serde_json::from_str(stdout.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    assert_eq!(status, 0, "{line:#}\n{stderr}");
    let results: Vec<&str> = line["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for name in ["scene/scenes.json", "adbreak/adbreaks.json"] {
        assert_eq!(
            results.iter().filter(|r| r.ends_with(name)).count(),
            1,
            "{results:?}"
        );
    }
    let outputs = Path::new(line["outputs"].as_str().unwrap());

    // Scenes: one per planted scene, each starting within 1 s of its planted start.
    let report: Value = serde_json::from_str(&read(&outputs.join("scene/scenes.json"))).unwrap();
    let scenes = report["scenes"].as_array().unwrap();
    let planted = numbers(&truth["sceneStarts"]);
    let found: Vec<f64> = scenes
        .iter()
        .map(|s| s["startSeconds"].as_f64().unwrap())
        .collect();
    assert_eq!(
        found.len(),
        planted.len(),
        "found {found:?}, planted {planted:?}"
    );
    for (f, p) in found.iter().zip(&planted) {
        assert!((f - p).abs() <= 1.0, "found {found:?}, planted {planted:?}");
    }
    let ends: Vec<&str> = scenes
        .iter()
        .map(|s| s["endsWith"].as_str().unwrap())
        .collect();
    let planted_ends: Vec<&str> = truth["scenes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| match s["endsWith"].as_str().unwrap() {
            "black" => "fadeToBlack",
            other => other,
        })
        .collect();
    assert_eq!(ends, planted_ends);
    // A scene never starts inside speech.
    for boundary in report["boundaries"].as_array().unwrap() {
        if boundary["inDialogue"] == true {
            assert_eq!(boundary["sceneBoundary"], false, "{boundary}");
        }
    }
    // Words and topics: the news scene speaks of the harbour, the match is sport and the
    // recipe is food.
    let transcript = |n: usize| scenes[n]["transcript"].as_str().unwrap().to_lowercase();
    assert!(
        transcript(0).contains("harbour") || transcript(0).contains("harbor"),
        "{}",
        transcript(0)
    );
    let top = |n: usize| {
        scenes[n]["taxonomy"][0]["name"]
            .as_str()
            .unwrap_or("none")
            .to_owned()
    };
    assert_eq!(top(4), "Sports", "{:#}", scenes[4]);
    assert_eq!(top(2), "Food & Drink", "{:#}", scenes[2]);
    let vtt = read(&outputs.join("scene/chapters.vtt"));
    assert!(vtt.starts_with("WEBVTT\n"), "{vtt}");
    assert_eq!(vtt.matches(" --> ").count(), planted.len());

    // Ad breaks: every black transition scores above every mid-sentence cut.
    let adbreaks: Value =
        serde_json::from_str(&read(&outputs.join("adbreak/adbreaks.json"))).unwrap();
    let candidates = adbreaks["candidates"].as_array().unwrap();
    let score_at = |t: f64| {
        candidates
            .iter()
            .filter(|c| (c["seconds"].as_f64().unwrap() - t).abs() <= 1.0)
            .map(|c| c["score"].as_f64().unwrap())
            .fold(f64::NAN, f64::max)
    };
    let good: Vec<f64> = numbers(&truth["goodBreaks"])
        .into_iter()
        .map(score_at)
        .collect();
    let bad: Vec<f64> = numbers(&truth["midSentenceCuts"])
        .into_iter()
        .map(score_at)
        .collect();
    assert!(
        good.iter().chain(&bad).all(|s| s.is_finite()),
        "good {good:?} bad {bad:?}"
    );
    let worst_good = good.iter().copied().fold(f64::INFINITY, f64::min);
    let best_bad = bad.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(worst_good > best_bad, "good {good:?} bad {bad:?}");
    // The break placed (2 ± 1 min for a programme under 10 minutes) is a black transition.
    let breaks = adbreaks["breaks"].as_array().unwrap();
    assert!(!breaks.is_empty(), "{adbreaks:#}");
    for b in breaks {
        let t = b["seconds"].as_f64().unwrap();
        assert!(
            numbers(&truth["goodBreaks"])
                .iter()
                .any(|g| (g - t).abs() <= 1.0),
            "break at {t}: {adbreaks:#}"
        );
    }

    // The VMAP validates against the VMAP 1.0 schema; the EDL reads in pycmx.
    let vmap = outputs.join("adbreak/vmap.xml");
    let xsd = Path::new(ROOT).join("services/adbreak/tests/data/vmap.xsd");
    let check = Command::new(python())
        .args([
            "-c",
            "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])",
        ])
        .arg(&xsd)
        .arg(&vmap)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let edl = outputs.join("adbreak/breaks.edl");
    let events = Command::new(python())
        .args([
            "-c",
            "import sys, pycmx\n\
             with open(sys.argv[1]) as f:\n    edl = pycmx.parse_cmx3600(f)\n\
             print(len(list(edl.events)))",
        ])
        .arg(&edl)
        .output()
        .unwrap();
    assert!(
        events.status.success(),
        "{}",
        String::from_utf8_lossy(&events.stderr)
    );
    let count: usize = String::from_utf8_lossy(&events.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(count, breaks.len() + 1, "{}", read(&edl));
}
