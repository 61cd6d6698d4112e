//! The scene service's join, on the local ports (filesystem objects, SQLite state): the video
//! and audio completions of one asset in either order, each delivered twice, give scenes once
//! (one event id), from whichever arrival completes the set, with identical outputs.

use std::io::Cursor;
use std::sync::Arc;

use bytes::Bytes;
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{Body, ObjectStore, PutOptions, SystemClock};
use mediasift_kit::{Handler, Ports};
use mediasift_scene::{Backends, SceneConfig, Scenes};
use mediasift_schemas::{
    AnalysisKind, AnalysisOptions, AnalysisPlan, AudioAnalysisCompleted, AudioAnalysisSummary,
    Envelope, EventDetail, EventMetadata, MediaType, ProcessingFailed, RawEvent, ResultRef,
    ScenesDetected, VideoAnalysisCompleted, VideoAnalysisSummary, sources,
};
use serde_json::{Value, json};
use uuid::Uuid;

const DERIVED: &str = "derived";
const CORRELATION: &str = "0b5c1f3e-8d2a-4c6b-9e7f-1a2b3c4d5e6f";

struct Harness {
    _dir: tempfile::TempDir,
    objects: Arc<LocalObjectStore>,
    ports: Ports,
    scenes: Scenes,
    asset: Uuid,
}

impl Harness {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let objects = Arc::new(LocalObjectStore::open(dir.path().join("objects")).unwrap());
        objects.create_bucket(DERIVED).await.unwrap();
        let state = Arc::new(SqliteStateStore::open(&dir.path().join("state.db")).unwrap());
        let ports = Ports {
            objects: objects.clone(),
            state,
            clock: Arc::new(SystemClock),
            derived_bucket: DERIVED.into(),
            ingest_bucket: "ingest".into(),
        };
        let backends = Backends {
            language: Some(Arc::new(mediasift_kit::language::LocalLanguage::new())),
            ..Backends::default()
        };
        let harness = Self {
            _dir: dir,
            objects,
            ports,
            scenes: Scenes::new(SceneConfig::default(), backends),
            asset: Uuid::parse_str("7d3c0b1e-2f4a-4e5b-8c6d-9e0f1a2b3c4d").unwrap(),
        };
        harness.write_inputs().await;
        harness
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> String {
        self.objects
            .put(
                DERIVED,
                key,
                Body::Bytes(Bytes::from(body)),
                PutOptions::default(),
            )
            .await
            .unwrap();
        format!("s3://{DERIVED}/{key}")
    }

    async fn get(&self, uri: &str) -> Vec<u8> {
        let key = uri.strip_prefix(&format!("s3://{DERIVED}/")).unwrap();
        self.objects.get_bytes(DERIVED, key).await.unwrap().to_vec()
    }

    /// 20 one-second captures: red for 10 s, then blue. Four shots of 5 s; speech runs
    /// across the cut at 15 s only.
    async fn write_inputs(&self) {
        let a = self.asset;
        let mut frames = Vec::new();
        for second in 0..20u32 {
            let colour = if second < 10 {
                [200, 30, 30]
            } else {
                [30, 30, 200]
            };
            let picture = image::RgbImage::from_pixel(64, 36, image::Rgb(colour));
            let mut jpeg = Vec::new();
            picture
                .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
                .unwrap();
            let key = format!("{a}/ingest/frames/{second:06}.jpg");
            self.put(&key, jpeg).await;
            frames.push(
                json!({"frameNumber": second * 25, "timestampSeconds": second as f64, "key": key}),
            );
        }
        let manifest = json!({"rate": 1.0, "width": 64, "height": 36, "frames": frames});
        self.put(
            &format!("{a}/ingest/frames/manifest.json"),
            manifest.to_string().into_bytes(),
        )
        .await;
        let shots: Vec<Value> = (0..4u64)
            .map(|n| {
                json!({
                    "index": n + 1, "startFrame": n * 125, "endFrame": n * 125 + 124,
                    "startSeconds": n as f64 * 5.0, "endSeconds": (n + 1) as f64 * 5.0,
                    "startTimecode": format!("00:00:{:02}:00", n * 5),
                    "endTimecode": format!("00:00:{:02}:00", (n + 1) * 5),
                })
            })
            .collect();
        let shots = json!({"frameRate": 25.0, "frameRateRational": "25/1", "frameCount": 500,
                           "shots": shots, "cues": [], "cuts": []});
        self.put(
            &format!("{a}/video/shots.json"),
            shots.to_string().into_bytes(),
        )
        .await;
        let words = [
            ("What", 1.0, 1.3),
            ("a", 1.35, 1.4),
            ("lovely", 1.45, 1.9),
            ("day.", 1.95, 2.3),
            ("This", 14.5, 14.8),
            ("goes", 14.85, 15.2),
            ("on", 15.25, 15.5),
        ];
        let words: Vec<Value> = words
            .iter()
            .map(|(t, s, e)| json!({"text": t, "start": s, "end": e}))
            .collect();
        let transcript = json!({"engine": "test", "language": "en", "durationSeconds": 20.0,
                                "text": "", "segments": [], "words": words});
        self.put(
            &format!("{a}/audio/transcript.json"),
            transcript.to_string().into_bytes(),
        )
        .await;
    }

    fn plan(&self, audio: bool) -> AnalysisPlan {
        let mut analyses = vec![AnalysisKind::Video];
        if audio {
            analyses.push(AnalysisKind::Audio);
        }
        analyses.extend([AnalysisKind::Scenes, AnalysisKind::AdBreaks]);
        AnalysisPlan {
            analyses,
            options: AnalysisOptions::default(),
        }
    }

    fn metadata(&self, producer: &str) -> EventMetadata {
        EventMetadata {
            correlation_id: CORRELATION.into(),
            causation_id: CORRELATION.into(),
            producer: format!("mediasift-{producer}"),
            producer_version: "test".into(),
        }
    }

    fn video_completed(&self, audio: bool) -> RawEvent {
        let a = self.asset;
        let detail = VideoAnalysisCompleted {
            asset_id: a,
            schema_version: VideoAnalysisCompleted::SCHEMA_VERSION.into(),
            metadata: self.metadata("video"),
            plan: self.plan(audio),
            summary: VideoAnalysisSummary {
                duration_seconds: 20.0,
                shots: 4,
                technical_cues: 0,
                frames_captured: 20,
                frames_analysed: 2,
            },
            results: vec![
                ResultRef::new(
                    "shots",
                    format!("s3://{DERIVED}/{a}/video/shots.json"),
                    "test",
                ),
                ResultRef::new(
                    "frameCaptures",
                    format!("s3://{DERIVED}/{a}/ingest/frames/manifest.json"),
                    "test",
                ),
            ],
            skipped: Vec::new(),
        };
        let mut event = Envelope::new(sources::VIDEO, detail);
        event.id = "11111111-1111-4111-8111-111111111111".into();
        event.to_raw().unwrap()
    }

    fn audio_completed(&self) -> RawEvent {
        let a = self.asset;
        let detail = AudioAnalysisCompleted {
            asset_id: a,
            schema_version: AudioAnalysisCompleted::SCHEMA_VERSION.into(),
            metadata: self.metadata("audio"),
            media_type: MediaType::Video,
            plan: self.plan(true),
            summary: AudioAnalysisSummary {
                duration_seconds: 20.0,
                integrated_loudness: vec![Some(-23.0)],
                loudness_map: vec![1],
                language: Some("en".into()),
                words: 7,
                speech_engine: Some("test".into()),
            },
            results: vec![ResultRef::new(
                "transcript",
                format!("s3://{DERIVED}/{a}/audio/transcript.json"),
                "test",
            )],
            skipped: Vec::new(),
        };
        let mut event = Envelope::new(sources::AUDIO, detail);
        event.id = "22222222-2222-4222-8222-222222222222".into();
        event.to_raw().unwrap()
    }

    fn audio_failed(&self) -> RawEvent {
        let detail = ProcessingFailed {
            asset_id: self.asset,
            schema_version: ProcessingFailed::SCHEMA_VERSION.into(),
            metadata: self.metadata("audio"),
            service: "audio".into(),
            analysis: Some(AnalysisKind::Audio),
            error_code: "CorruptMedia".into(),
            cause: "the audio track cannot be decoded".into(),
            action: "Re-upload.".into(),
            retryable: false,
            failed_event_id: "x".into(),
            failed_detail_type: "Audio Ingested".into(),
            source: None,
        };
        let mut event = Envelope::new(sources::AUDIO, detail);
        event.id = "33333333-3333-4333-8333-333333333333".into();
        event.to_raw().unwrap()
    }

    async fn deliver(&self, event: &RawEvent) -> Vec<RawEvent> {
        self.scenes.handle(event, &self.ports).await.unwrap()
    }
}

fn detected(events: &[RawEvent]) -> ScenesDetected {
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, ScenesDetected::DETAIL_TYPE);
    serde_json::from_value(events[0].detail.clone()).unwrap()
}

/// Delivers `order` (true: video), returns every event emitted, and the outputs' bytes.
async fn run(order: &[bool]) -> (Vec<RawEvent>, Vec<u8>, Vec<u8>) {
    let h = Harness::new().await;
    let (video, audio) = (h.video_completed(true), h.audio_completed());
    let mut emitted = Vec::new();
    for &is_video in order {
        emitted.extend(h.deliver(if is_video { &video } else { &audio }).await);
    }
    let d = detected(&emitted[..1]);
    let uri = |name: &str| {
        d.results
            .iter()
            .find(|r| r.name == name)
            .unwrap()
            .uri
            .clone()
    };
    (
        emitted,
        h.get(&uri("scenes")).await,
        h.get(&uri("chapters.vtt")).await,
    )
}

#[tokio::test]
async fn either_order_twice_each_gives_one_scenes_event_and_identical_outputs() {
    let (video_first, scenes_a, vtt_a) = run(&[true, false, true, false]).await;
    let (audio_first, scenes_b, vtt_b) = run(&[false, true, false, true]).await;
    // The set completes at the second delivery; the claimer's own re-delivery rebuilds the
    // same event (same id, deduplicated by the bus); the other's duplicate stands down.
    for emitted in [&video_first, &audio_first] {
        assert_eq!(emitted.len(), 2, "{emitted:#?}");
        assert_eq!(emitted[0].id, emitted[1].id);
        assert_eq!(emitted[0].detail, emitted[1].detail);
    }
    assert_eq!(
        video_first[0].id, audio_first[0].id,
        "one id per run, whoever claims"
    );
    assert_eq!(scenes_a, scenes_b);
    assert_eq!(vtt_a, vtt_b);

    let report: Value = serde_json::from_slice(&scenes_a).unwrap();
    let scenes = report["scenes"].as_array().unwrap();
    // Red shots 1–2, blue shots 3–4: the speech across the cut at 15 s does not matter
    // (both sides are blue), the cut at 10 s is a change of look in a pause.
    assert_eq!(scenes.len(), 2, "{report:#}");
    assert_eq!(scenes[0]["shots"], json!([1, 2]));
    assert_eq!(scenes[1]["shots"], json!([3, 4]));
    assert_eq!(scenes[0]["endSeconds"], 10.0);
    assert_eq!(scenes[0]["transcript"], "What a lovely day.");
    assert_eq!(scenes[1]["transcript"], "This goes on");
    assert_eq!(scenes[0]["sentiment"]["label"], "POSITIVE");
    assert_eq!(scenes[0]["thumbnails"].as_array().unwrap().len(), 4);
    let boundaries = report["boundaries"].as_array().unwrap();
    let decisions: Vec<&str> = boundaries
        .iter()
        .map(|b| b["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["similar", "visualChange", "dialogue"]);
    assert_eq!(boundaries[1]["visualDistance"], 1.0);
    assert_eq!(boundaries[0]["visualDistance"], 0.0);
    let vtt = String::from_utf8(vtt_a).unwrap();
    assert!(
        vtt.starts_with("WEBVTT\n\n1\n00:00:00.000 --> 00:00:10.000\nScene 1\n"),
        "{vtt}"
    );
    let d = detected(&video_first[..1]);
    assert_eq!(d.summary.scenes, 2);
    assert_eq!(d.summary.shots, 4);
    let inputs: Vec<&str> = d.inputs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(inputs, ["shots", "frameCaptures", "transcript"]);
}

#[tokio::test]
async fn a_plan_without_audio_builds_scenes_from_the_video_alone() {
    let h = Harness::new().await;
    let d = detected(&h.deliver(&h.video_completed(false)).await);
    assert_eq!(d.summary.scenes, 2);
    let sentiment = d.skipped.iter().find(|s| s.feature == "sentiment").unwrap();
    assert_eq!(sentiment.reason, "the asset has no audio");
}

#[tokio::test]
async fn a_failed_audio_analysis_completes_the_set() {
    let h = Harness::new().await;
    assert!(h.deliver(&h.audio_failed()).await.is_empty());
    let d = detected(&h.deliver(&h.video_completed(true)).await);
    assert_eq!(d.summary.scenes, 2);
    let sentiment = d.skipped.iter().find(|s| s.feature == "sentiment").unwrap();
    assert!(
        sentiment
            .reason
            .starts_with("the audio analysis failed (CorruptMedia"),
        "{sentiment:?}"
    );
}

#[tokio::test]
async fn concurrent_arrivals_claim_once() {
    for _ in 0..5 {
        let h = Harness::new().await;
        let (video, audio) = (h.video_completed(true), h.audio_completed());
        let (a, b, c, d) = tokio::join!(
            h.deliver(&video),
            h.deliver(&audio),
            h.deliver(&audio),
            h.deliver(&video)
        );
        let emitted: Vec<RawEvent> = [a, b, c, d].into_iter().flatten().collect();
        assert!(!emitted.is_empty());
        assert!(emitted.iter().all(|e| e.id == emitted[0].id));
        // Only the claimer's deliveries build.
        let causes: std::collections::BTreeSet<String> = emitted
            .iter()
            .map(|e| {
                e.detail["metadata"]["causationId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(causes.len(), 1, "{causes:?}");
    }
}
