//! The adbreak handler on the real local adapters (filesystem object store, SQLite state),
//! fed what the video, audio and scene services would have written for a synthetic
//! 30-minute programme: speech all along except four moments of black and silence, a shot
//! cut every 10 s (in the middle of a word), scene boundaries at the black moments and at a
//! few cuts in the middle of sentences.
//!
//! The VMAP it writes is validated against the VMAP 1.0 XSD (tests/data/vmap.xsd) by Python's
//! `xmlschema`, and the EDL read back by `pycmx`, a CMX 3600 parser we did not write; both
//! live in the project's `.venv` (scripts/setup.sh installs them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use mediasift_adbreak::{AdBreakConfig, AdBreaks};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{Body, FixedClock, ObjectStore, PutOptions};
use mediasift_kit::{Handler, HandlerError, Ports};
use mediasift_schemas::{
    AdBreaksDetected, AnalysisKind, Envelope, EventDetail, RawEvent, ResultRef, ScenesDetected,
    sources,
};
use serde_json::{Value, json};
use uuid::Uuid;

const INGEST: &str = "ingest";
const DERIVED: &str = "derived";
const ASSET: Uuid = Uuid::from_u128(0x3f2a1b0c_9d8e_4f7a_8b6c_5d4e3f2a1b0c);
/// The programme: 30 minutes.
const DURATION: f64 = 1800.0;
/// Black and silence, a scene boundary, no speech within 2.5 s.
const GOOD: [f64; 4] = [400.0, 790.0, 1150.0, 1500.0];
/// The one of them that fades out (shots.json's FadeOut cue) instead of cutting to black.
const FADE: f64 = 1150.0;
/// Scene boundaries in the middle of a sentence.
const TALKING_SCENES: [f64; 3] = [420.2, 1200.2, 1600.2];

struct Harness {
    _dir: tempfile::TempDir,
    objects: Arc<LocalObjectStore>,
    ports: Ports,
}

impl Harness {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let objects = Arc::new(LocalObjectStore::open(dir.path().join("objects")).unwrap());
        objects.create_bucket(INGEST).await.unwrap();
        objects.create_bucket(DERIVED).await.unwrap();
        let state = Arc::new(SqliteStateStore::open(&dir.path().join("state.db")).unwrap());
        let ports = Ports {
            objects: objects.clone(),
            state,
            clock: Arc::new(FixedClock::new(
                Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap(),
            )),
            derived_bucket: DERIVED.into(),
            ingest_bucket: INGEST.into(),
        };
        Self {
            _dir: dir,
            objects,
            ports,
        }
    }

    /// Writes `value` at `<asset>/<path>` in the derived bucket; returns its URI.
    async fn put(&self, path: &str, body: Vec<u8>) -> String {
        let key = format!("{ASSET}/{path}");
        self.objects
            .put(
                DERIVED,
                &key,
                Body::Bytes(body.into()),
                PutOptions::default(),
            )
            .await
            .unwrap();
        format!("s3://{DERIVED}/{key}")
    }

    async fn put_json(&self, path: &str, value: &Value) -> String {
        self.put(path, serde_json::to_vec_pretty(value).unwrap())
            .await
    }

    async fn get(&self, name: &str) -> Vec<u8> {
        self.objects
            .get_bytes(DERIVED, &format!("{ASSET}/adbreak/{name}"))
            .await
            .unwrap()
            .to_vec()
    }

    /// Every result of the adbreak service, by name.
    async fn outputs(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for name in ["adbreaks.json", "vmap.xml", "breaks.edl"] {
            out.push((name.to_owned(), self.get(name).await));
        }
        out
    }
}

// --- the programme ----------------------------------------------------------------------------

fn quiet(t: f64, margin: f64) -> bool {
    GOOD.iter().any(|g| (t - g).abs() <= margin)
}

fn timecode(seconds: f64) -> String {
    let frame = (seconds * 25.0).round() as u64;
    let s = frame / 25;
    format!(
        "{:02}:{:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        frame % 25
    )
}

fn boundary(seconds: f64, fps: f64, shot: u32, scene: bool, black: bool, decision: &str) -> Value {
    json!({
        "seconds": seconds,
        "frame": (seconds * fps).round() as u64,
        "timecode": timecode(seconds),
        "shotBefore": shot,
        "shotAfter": shot + 1,
        "sceneBoundary": scene,
        "visualDistance": if scene { 0.8 } else { 0.6 },
        "black": black,
        "fade": false,
        "inDialogue": !black,
        "decision": decision,
    })
}

/// `scenes.json` as the scene service writes it (with more than adbreak reads).
fn scenes_json(rate: &str, fps: f64) -> Value {
    let mut times: Vec<(f64, bool, bool)> = (1..180)
        .map(|k| k as f64 * 10.0 + 0.2)
        .filter(|t| !quiet(*t, 3.0) && !TALKING_SCENES.contains(t))
        .map(|t| (t, false, false))
        .collect();
    times.extend(GOOD.iter().map(|&g| (g, true, g != FADE)));
    times.extend(TALKING_SCENES.iter().map(|&t| (t, true, false)));
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let boundaries: Vec<Value> = times
        .iter()
        .enumerate()
        .map(|(k, &(t, scene, black))| {
            let decision = match (scene, black) {
                (true, true) => "fadeToBlack",
                (true, false) => "visualChange",
                _ => "dialogue",
            };
            boundary(t, fps, k as u32 + 1, scene, black, decision)
        })
        .collect();
    json!({
        "assetId": ASSET,
        "durationSeconds": DURATION,
        "frameRate": fps,
        "frameRateRational": rate,
        "settings": {
            "maxLinkSeconds": 180.0,
            "similarityThreshold": 0.35,
            "dialogueJoinSeconds": 0.4,
            "minSceneSeconds": 2.0,
        },
        "scenes": [],
        "boundaries": boundaries,
    })
}

fn shots_json() -> Value {
    let cues: Vec<Value> = GOOD
        .iter()
        .map(|&g| {
            if g == FADE {
                return json!({
                    "kind": "FadeOut",
                    "startFrame": ((g - 1.0) * 25.0) as u64,
                    "endFrame": (g * 25.0) as u64 - 1,
                    "startSeconds": g - 1.0,
                    "endSeconds": g,
                    "startTimecode": timecode(g - 1.0),
                    "endTimecode": timecode(g),
                });
            }
            json!({
                "kind": "Black",
                "startFrame": ((g - 0.5) * 25.0) as u64,
                "endFrame": ((g + 0.5) * 25.0) as u64,
                "startSeconds": g - 0.5,
                "endSeconds": g + 0.5,
                "startTimecode": timecode(g - 0.5),
                "endTimecode": timecode(g + 0.5),
            })
        })
        .collect();
    json!({
        "frameRate": 25.0,
        "frameRateRational": "25/1",
        "frameCount": 45_000,
        "shots": [],
        "cues": cues,
        "cuts": [],
    })
}

fn silences_json() -> Value {
    let programme: Vec<Value> = GOOD
        .iter()
        .map(|g| json!({"startSeconds": g - 1.5, "endSeconds": g + 1.5, "levelLufs": null}))
        .collect();
    json!({
        "thresholdLufs": -50.0,
        "minSilenceSeconds": 0.5,
        "programme": programme,
        "tracks": [{"track": 1, "silent": false, "silences": programme}],
    })
}

fn loudness_json() -> Value {
    let momentary: Vec<Value> = (1..=1800)
        .map(|t| {
            let t = t as f64;
            if GOOD.iter().any(|g| t >= g - 1.0 && t <= g + 2.0) {
                Value::Null
            } else {
                json!(-23.0)
            }
        })
        .collect();
    let short_term: Vec<Value> = (1..=1800)
        .map(|t| json!(if quiet(t as f64, 0.0) { -30.0 } else { -23.0 }))
        .collect();
    let track = |index: u32, silent: bool| {
        json!({
            "track": index,
            "streamIndex": index,
            "codec": "aac",
            "channelLayout": "stereo",
            "language": null,
            "sourceSampleRate": 48000,
            "channels": 2,
            "sampleRate": 48000,
            "durationSeconds": DURATION,
            "integratedLufs": if silent { Value::Null } else { json!(-23.0) },
            "loudnessRangeLu": 3.0,
            "truePeakDbtp": -3.0,
            "samplePeakDbfs": -3.2,
            "maxMomentaryLufs": -20.0,
            "maxShortTermLufs": -21.0,
            "silent": silent,
            "seriesIntervalSeconds": 1.0,
            "momentarySeries": if silent { json!(vec![Value::Null; 1800]) } else { json!(momentary) },
            "shortTermSeries": if silent { json!(vec![Value::Null; 1800]) } else { json!(short_term) },
            "silences": [],
        })
    };
    json!({
        "tracks": [track(1, false), track(2, true)],
        "map": [1, 0],
        "description": "stereo in track 1; track 2 silent",
        "sampleRate": 48000,
        "silentTrackThresholdLufs": -50.0,
        "silenceThresholdLufs": -50.0,
        "minSilenceSeconds": 0.5,
        "warnings": [],
    })
}

fn transcript_json() -> Value {
    let mut words = Vec::new();
    let mut k = 0u32;
    loop {
        let start = k as f64 * 0.5;
        if start >= DURATION {
            break;
        }
        if !quiet(start, 2.5) {
            words.push(json!({"text": format!("w{k}"), "start": start, "end": start + 0.4}));
        }
        k += 1;
    }
    json!({
        "engine": "whisper tiny.en",
        "language": "en",
        "durationSeconds": DURATION,
        "text": "",
        "segments": [],
        "words": words,
        "warnings": [],
    })
}

/// Writes the inputs; returns the `Scenes Detected` event announcing them. `audio` false:
/// a video without audio (no silences, loudness or transcript among the inputs).
async fn scenes_detected(
    h: &Harness,
    audio: bool,
    rate: &str,
    fps: f64,
    options: Value,
) -> RawEvent {
    let scenes = h
        .put_json("scene/scenes.json", &scenes_json(rate, fps))
        .await;
    let mut inputs = vec![ResultRef::new(
        "shots",
        h.put_json("video/shots.json", &shots_json()).await,
        "mediasift shot detector",
    )];
    if audio {
        inputs.push(ResultRef::new(
            "silences",
            h.put_json("audio/silences.json", &silences_json()).await,
            "ebur128",
        ));
        inputs.push(ResultRef::new(
            "loudness",
            h.put_json("audio/loudness.json", &loudness_json()).await,
            "ebur128",
        ));
        inputs.push(ResultRef::new(
            "transcript",
            h.put_json("audio/transcript.json", &transcript_json())
                .await,
            "whisper tiny.en",
        ));
    }
    let mut detail = ScenesDetected::example();
    detail.asset_id = ASSET;
    detail.results = vec![ResultRef::new("scenes", scenes, "mediasift scenes")];
    detail.inputs = inputs;
    detail.plan.options = serde_json::from_value(options).unwrap();
    let mut event = Envelope::new(sources::SCENE, detail);
    event.id = "6d1f0b4e-2a3c-4e5f-9a8b-7c6d5e4f3a2b".into();
    event.time = Utc.with_ymd_and_hms(2025, 3, 14, 9, 0, 0).unwrap();
    event.to_raw().unwrap()
}

fn adbreaks() -> AdBreaks {
    AdBreaks::local(AdBreakConfig::default())
}

fn completion(events: &[RawEvent]) -> AdBreaksDetected {
    assert_eq!(events.len(), 1, "one completion per delivery: {events:?}");
    assert_eq!(events[0].source, sources::ADBREAK);
    assert_eq!(events[0].detail_type, AdBreaksDetected::DETAIL_TYPE);
    events[0].decode::<AdBreaksDetected>().unwrap().detail
}

fn candidate(report: &Value, seconds: f64) -> &Value {
    report["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["seconds"].as_f64() == Some(seconds))
        .unwrap_or_else(|| panic!("no candidate at {seconds}"))
}

// --- the handler --------------------------------------------------------------------------------

#[tokio::test]
async fn breaks_go_to_black_silent_scene_boundaries_and_redelivery_changes_nothing() {
    let h = Harness::new().await;
    let event = scenes_detected(&h, true, "25/1", 25.0, json!({})).await;
    let service = adbreaks();

    let first = service.handle(&event, &h.ports).await.unwrap();
    let outputs = h.outputs().await;
    let second = service.handle(&event, &h.ports).await.unwrap();
    assert_eq!(first, second, "the same events, ids and all");
    assert_eq!(h.outputs().await, outputs, "the same bytes");

    let detail = completion(&first);
    assert_eq!(detail.asset_id, ASSET);
    assert_eq!(detail.metadata.causation_id, event.id);
    assert!(detail.plan.includes(AnalysisKind::AdBreaks));
    let names: Vec<&str> = detail.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["adbreaks", "vmap.xml", "edl"]);
    assert_eq!(
        detail.results[2].uri,
        format!("s3://{DERIVED}/{ASSET}/adbreak/breaks.edl")
    );

    // 30 min: every 6 min ± 2, the first no earlier than 6 min.
    let seconds: Vec<f64> = detail.breaks.iter().map(|b| b.seconds).collect();
    assert_eq!(seconds, GOOD);
    assert_eq!(detail.breaks[0].timecode, "00:06:40:00");
    // The fade scores under the three cuts to black, which tie and rank in time order.
    let ranks: Vec<u32> = detail.breaks.iter().map(|b| b.rank).collect();
    assert_eq!(ranks, [1, 2, 4, 3]);
    assert!(
        detail.breaks.iter().all(|b| b.score >= 0.8),
        "{:?}",
        detail.breaks
    );

    let report: Value = serde_json::from_slice(&h.get("adbreaks.json").await).unwrap();
    assert_eq!(report["settings"]["spacing"]["intervalSeconds"], 360.0);
    assert_eq!(report["settings"]["spacing"]["toleranceSeconds"], 120.0);
    assert_eq!(report["settings"]["weights"]["silenceLevel"], 0.25);
    assert!(
        report["settings"]["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["available"] == true)
    );
    assert_eq!(
        report["candidates"].as_array().unwrap().len(),
        179,
        "every shot boundary"
    );
    let good = candidate(&report, 400.0);
    let bad = candidate(&report, 300.2);
    let good_score = good["score"].as_f64().unwrap();
    let bad_score = bad["score"].as_f64().unwrap();
    println!("black + silence + no speech at 400 s: {good_score}\n{good:#}");
    println!("mid-sentence shot cut at 300.2 s: {bad_score}\n{bad:#}");
    assert!(good_score >= 0.8 && bad_score <= 0.2);
    assert_eq!(good["features"]["silenceLevel"]["value"], 1.0);
    assert_eq!(good["features"]["blackOrFade"]["raw"]["black"], true);
    assert_eq!(
        good["features"]["speechDistance"]["raw"]["nearestWordSeconds"],
        2.6
    );
    assert_eq!(bad["features"]["speechDistance"]["raw"]["insideWord"], true);
    assert_eq!(
        bad["features"]["silenceLevel"]["raw"]["quietestMomentaryLufs"],
        -23.0
    );
    assert_eq!(good["features"]["silenceLevel"]["raw"]["gated"], true);
    let fade = candidate(&report, FADE);
    assert_eq!(fade["features"]["blackOrFade"]["value"], 0.7, "{fade:#}");
    assert_eq!(fade["features"]["blackOrFade"]["raw"]["fade"], true);
    let contributions: f64 = good["features"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| f["contribution"].as_f64().unwrap())
        .sum();
    assert!((contributions - good_score).abs() < 1e-3);
    // A talking scene boundary in the same window loses to the quiet one.
    let talking = candidate(&report, 1200.2);
    assert!(talking["score"].as_f64().unwrap() < 0.3, "{talking:#}");
    assert_eq!(report["slots"][2]["sceneBoundariesInWindow"], 2);
    assert_eq!(report["breaks"][1]["slot"]["targetSeconds"], 760.0);
    assert_eq!(
        candidate(&report, 1790.2)["ineligible"],
        "in the last 10 s of the content"
    );
}

#[tokio::test]
async fn without_audio_the_video_features_decide_and_the_users_spacing_applies() {
    let h = Harness::new().await;
    let event = scenes_detected(
        &h,
        false,
        "30000/1001",
        29.97,
        json!({"adBreakIntervalSeconds": 300, "adBreakOffsetSeconds": 380}),
    )
    .await;
    let detail = completion(&adbreaks().handle(&event, &h.ports).await.unwrap());
    let report: Value = serde_json::from_slice(&h.get("adbreaks.json").await).unwrap();
    let features = report["settings"]["features"].as_array().unwrap();
    let unavailable: Vec<&str> = features
        .iter()
        .filter(|f| f["available"] == false)
        .map(|f| f["feature"].as_str().unwrap())
        .collect();
    assert_eq!(
        unavailable,
        [
            "silenceLevel",
            "pauseLength",
            "speechDistance",
            "loudnessChange"
        ]
    );
    let effective: f64 = features
        .iter()
        .map(|f| f["effectiveWeight"].as_f64().unwrap())
        .sum();
    assert!((effective - 1.0).abs() < 1e-3, "renormalised: {effective}");
    let inputs: Vec<(&str, bool)> = report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["used"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        inputs,
        [
            ("scenes", true),
            ("shots", true),
            ("silences", false),
            ("loudness", false),
            ("transcript", false)
        ]
    );
    // Every 300 s ± 60 from 380 s: [380, 440] → 400 (black beats the talking 420.2), then
    // [640, 760]: no scene boundary, so the shot cut nearest the target among equals.
    let good = candidate(&report, 400.0)["score"].as_f64().unwrap();
    assert!(good >= 0.8, "{good}");
    assert_eq!(detail.breaks[0].seconds, 400.0);
    assert_eq!(report["slots"][0]["windowStartSeconds"], 380.0);
    assert_eq!(report["slots"][1]["choice"], "shotBoundary");
    assert_eq!(report["slots"][1]["chosenSeconds"], 700.2);
    assert_eq!(report["settings"]["spacing"]["source"], "options");
    assert_eq!(report["dropFrame"], true);
    // 400 s at 29.97 fps is frame 11988: 00:06:40;00 in drop-frame (12 frame numbers
    // dropped over 6 minutes).
    assert_eq!(detail.breaks[0].timecode, "00:06:40;00");
    let edl = String::from_utf8(h.get("breaks.edl").await).unwrap();
    assert!(edl.contains("FCM: DROP FRAME\n"), "{edl}");
    assert_eq!(parse_edl(&edl)["fcm_drop"], true);
}

#[tokio::test]
async fn an_unreadable_scenes_json_fails_the_asset_with_an_action() {
    let h = Harness::new().await;
    let event = scenes_detected(&h, true, "25/1", 25.0, json!({})).await;
    h.put("scene/scenes.json", b"{\"durationSeconds\": 12".to_vec())
        .await;
    match adbreaks().handle(&event, &h.ports).await {
        Err(HandlerError::Permanent(failure)) => {
            assert_eq!(failure.error_code, "UnreadableScenes");
            assert_eq!(failure.analysis, Some(AnalysisKind::AdBreaks));
            assert_eq!(failure.asset_id, Some(ASSET));
            assert!(failure.cause.contains("scenes.json"), "{}", failure.cause);
            assert!(failure.action.contains("Replay"), "{}", failure.action);
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }

    // A missing optional input only makes its features unavailable.
    let h = Harness::new().await;
    let event = scenes_detected(&h, true, "25/1", 25.0, json!({})).await;
    h.put("audio/transcript.json", b"not json".to_vec()).await;
    h.objects
        .delete(DERIVED, &format!("{ASSET}/audio/loudness.json"))
        .await
        .unwrap();
    let detail = completion(&adbreaks().handle(&event, &h.ports).await.unwrap());
    assert_eq!(detail.breaks.len(), 4);
    let report: Value = serde_json::from_slice(&h.get("adbreaks.json").await).unwrap();
    let transcript = &report["inputs"][4];
    assert_eq!(transcript["used"], false);
    assert!(
        transcript["reason"]
            .as_str()
            .unwrap()
            .starts_with("cannot be read"),
        "{transcript}"
    );
    assert_eq!(report["inputs"][3]["used"], false, "loudness is gone");
}

// --- the formats, read by tools we did not write ---------------------------------------------

fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup.sh (it creates the .venv with xmlschema and pycmx)",
        python.display()
    );
    python
}

/// Runs `script` with `.venv/bin/python`, `args` after it; returns stdout. Fails (does not
/// skip) when the interpreter or a module is missing.
fn run_python(script: &str, args: &[&str]) -> String {
    let output = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("the .venv python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "a Python module is missing from .venv: run scripts/setup.sh\n{stderr}"
    );
    assert!(output.status.success(), "python failed:\n{stderr}");
    String::from_utf8(output.stdout).unwrap()
}

const VALIDATE_VMAP: &str = r#"
import sys, xmlschema
schema = xmlschema.XMLSchema(sys.argv[1])
errors = [str(e) for e in schema.iter_errors(sys.argv[2])]
print("valid" if not errors else "\n---\n".join(errors))
"#;

const READ_EDL: &str = r#"
import json, sys, pycmx
from pycmx.statements import StmtFCM, StmtRemark
with open(sys.argv[1]) as f:
    edl = pycmx.parse_cmx3600(f)
events = []
fcm = None
for event in edl.events:
    remarks = [s.text for s in event.statements if type(s) is StmtRemark]
    for s in event.statements:
        if type(s) is StmtFCM:
            fcm = s.drop
    for edit in event.edits:
        events.append({
            "number": event.number,
            "source": edit.source,
            "video": edit.channels.video,
            "transition": edit.transition.kind,
            "source_in": edit.source_in,
            "source_out": edit.source_out,
            "record_in": edit.record_in,
            "record_out": edit.record_out,
            "clip_name": edit.clip_name,
            "remarks": remarks,
        })
print(json.dumps({
    "title": edl.title,
    "format": edl.format,
    "fcm_drop": fcm,
    # Blank lines between events read as empty unrecognised statements.
    "unrecognized": [str(s) for s in edl.unrecognized_statements if getattr(s, "content", "x").strip()],
    "events": events,
}))
"#;

fn parse_edl(edl: &str) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), edl).unwrap();
    serde_json::from_str(&run_python(READ_EDL, &[file.path().to_str().unwrap()])).unwrap()
}

fn validate_vmap(xml: &[u8]) -> String {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vmap.xsd");
    run_python(
        VALIDATE_VMAP,
        &[xsd.to_str().unwrap(), file.path().to_str().unwrap()],
    )
    .trim()
    .to_owned()
}

#[tokio::test]
async fn the_vmap_is_valid_vmap_1_0_with_and_without_an_ad_tag() {
    // The schema itself rejects what it should (so "valid" means something).
    assert_ne!(
        validate_vmap(
            br#"<vmap:VMAP xmlns:vmap="http://www.iab.net/videosuite/vmap" version="1.0"><vmap:AdBreak timeOffset="6:40" breakType="linear"/></vmap:VMAP>"#
        ),
        "valid"
    );
    assert_ne!(
        validate_vmap(
            br#"<vmap:VMAP xmlns:vmap="http://www.iab.net/videosuite/vmap" version="1.0"><vmap:AdBreak timeOffset="00:06:40.000" breakType="linear"><vmap:AdSource><vmap:AdTagURI>https://a.example/</vmap:AdTagURI></vmap:AdSource></vmap:AdBreak></vmap:VMAP>"#
        ),
        "valid",
        "AdTagURI needs its templateType"
    );

    let h = Harness::new().await;
    let event = scenes_detected(&h, true, "25/1", 25.0, json!({})).await;
    adbreaks().handle(&event, &h.ports).await.unwrap();
    let plain = h.get("vmap.xml").await;
    assert_eq!(validate_vmap(&plain), "valid");
    let text = String::from_utf8(plain).unwrap();
    assert_eq!(text.matches("<vmap:AdBreak ").count(), 4);
    assert!(text.contains(
        r#"<vmap:AdBreak timeOffset="00:06:40.000" breakType="linear" breakId="midroll-1"/>"#
    ));
    assert!(!text.contains("AdSource"));

    let tag = "https://ads.example.com/gampad/ads?iu=/1234/video&sz=640x480&output=vast&cust_params=a%3D1";
    let with_tag = AdBreaks::local(AdBreakConfig {
        ad_tag_uri: Some(tag.into()),
        ..AdBreakConfig::default()
    });
    with_tag.handle(&event, &h.ports).await.unwrap();
    let tagged = h.get("vmap.xml").await;
    assert_eq!(validate_vmap(&tagged), "valid");
    let text = String::from_utf8(tagged).unwrap();
    assert_eq!(
        text.matches(&format!(
            r#"<vmap:AdTagURI templateType="vast3"><![CDATA[{tag}]]></vmap:AdTagURI>"#
        ))
        .count(),
        4,
        "{text}"
    );
    let offsets: Vec<&str> = text
        .match_indices("timeOffset=\"")
        .map(|(i, m)| &text[i + m.len()..i + m.len() + 12])
        .collect();
    assert_eq!(
        offsets,
        [
            "00:06:40.000",
            "00:13:10.000",
            "00:19:10.000",
            "00:25:00.000"
        ]
    );
}

#[tokio::test]
async fn the_edl_reads_back_with_pycmx_as_the_segments_between_breaks() {
    let h = Harness::new().await;
    let event = scenes_detected(&h, true, "25/1", 25.0, json!({})).await;
    let detail = completion(&adbreaks().handle(&event, &h.ports).await.unwrap());
    let edl = String::from_utf8(h.get("breaks.edl").await).unwrap();
    println!("{edl}");
    let parsed = parse_edl(&edl);
    assert_eq!(parsed["title"], format!("{ASSET} AD BREAKS"));
    assert_eq!(parsed["format"], "3600");
    assert_eq!(parsed["fcm_drop"], false);
    assert_eq!(parsed["unrecognized"], json!([]));
    let events = parsed["events"].as_array().unwrap();
    assert_eq!(events.len(), detail.breaks.len() + 1);

    // Segment edges: the start, every break, the end.
    let mut edges = vec!["00:00:00:00".to_owned()];
    edges.extend(detail.breaks.iter().map(|b| b.timecode.clone()));
    edges.push("00:30:00:00".to_owned());
    for (k, event) in events.iter().enumerate() {
        assert_eq!(event["number"], k + 1);
        assert_eq!(event["source"], "AX");
        assert_eq!(event["transition"], "C");
        assert_eq!(event["video"], true);
        assert_eq!(event["record_in"], edges[k], "{event}");
        assert_eq!(event["record_out"], edges[k + 1], "{event}");
        assert_eq!(event["source_in"], edges[k]);
        assert_eq!(event["source_out"], edges[k + 1]);
        if k > 0 {
            let remarks = event["remarks"].as_array().unwrap();
            assert_eq!(
                remarks[0],
                format!("LOC: {} YELLOW AD BREAK {k}", edges[k]),
                "{event}"
            );
        } else {
            assert_eq!(event["clip_name"], "CONTENT");
        }
    }
}
