//! The real scene and adbreak handlers on the AWS path, against moto: the video and audio
//! services' results in the derived bucket (S3), `Video Analysis Completed` and `Audio
//! Analysis Completed` published on the bus, each twice, routed by the scene service's own
//! rules to its queue; the join in the DynamoDB state table; `Scenes Detected` routed by the
//! adbreak service's rule to its queue; `Ad Breaks Detected` read back from the catch-all
//! queue. EventBridge gives each publication its own id, so the duplicates are new events to
//! the scene service: only the arrival that completes the set builds the scenes.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mediasift_adbreak::{AdBreakConfig, AdBreaks};
use mediasift_e2e::aws_path::{AwsPath, Outcome};
use mediasift_e2e::moto::MotoServer;
use mediasift_kit::language::LocalLanguage;
use mediasift_kit::ports::{Body, EventPublisher, PutOptions};
use mediasift_scene::{Backends, SceneConfig, Scenes};
use mediasift_schemas::{
    AdBreaksDetected, AnalysisKind, AnalysisOptions, AnalysisPlan, AudioAnalysisCompleted,
    AudioAnalysisSummary, Envelope, EventDetail, EventMetadata, MediaType, RawEvent, ResultRef,
    ScenesDetected, VideoAnalysisCompleted, VideoAnalysisSummary, sources,
};
use serde_json::{Value, json};
use uuid::Uuid;

const TEST_TIMEOUT: Duration = Duration::from_secs(240);
const FLOW_TIMEOUT: Duration = Duration::from_secs(120);
const CORRELATION: &str = "5a0c7e2d-1b3f-4a6c-8d9e-0f1a2b3c4d5e";

/// 40 one-second captures: red, then black for a second, then blue; shots of 10 s, the black
/// its own shot at 19–20 s. Words before the black and after it.
async fn results(path: &AwsPath, asset: Uuid) -> (Vec<ResultRef>, Vec<ResultRef>) {
    let objects = path.ports().objects;
    let bucket = &path.derived_bucket;
    let put = |key: String, body: Vec<u8>| {
        let objects = objects.clone();
        async move {
            objects
                .put(
                    bucket,
                    &key,
                    Body::Bytes(Bytes::from(body)),
                    PutOptions::default(),
                )
                .await
                .expect("put into moto S3");
            format!("s3://{bucket}/{key}")
        }
    };
    let mut frames = Vec::new();
    for second in 0..40u32 {
        let colour = match second {
            19 => [0, 0, 0],
            s if s < 19 => [200, 30, 30],
            _ => [30, 30, 200],
        };
        let picture = image::RgbImage::from_pixel(64, 36, image::Rgb(colour));
        let mut jpeg = Vec::new();
        picture
            .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .unwrap();
        let key = format!("{asset}/frames/{second:06}.jpg");
        put(key.clone(), jpeg).await;
        frames.push(json!({"frameNumber": second * 25, "timestampSeconds": second, "key": key}));
    }
    let manifest = put(
        format!("{asset}/frames/manifest.json"),
        json!({"rate": 1.0, "frames": frames})
            .to_string()
            .into_bytes(),
    )
    .await;
    let bounds = [0.0, 10.0, 19.0, 20.0, 30.0, 40.0];
    let shots: Vec<Value> = bounds
        .windows(2)
        .enumerate()
        .map(|(n, w)| {
            json!({"index": n + 1, "startFrame": (w[0] * 25.0) as u64,
                   "endFrame": (w[1] * 25.0) as u64 - 1, "startSeconds": w[0],
                   "endSeconds": w[1], "startTimecode": "", "endTimecode": ""})
        })
        .collect();
    let cues = json!([{"kind": "Black", "startFrame": 475, "endFrame": 499,
                       "startSeconds": 19.0, "endSeconds": 20.0}]);
    let shots = put(
        format!("{asset}/video/shots.json"),
        json!({"frameRate": 25.0, "frameRateRational": "25/1", "frameCount": 1000,
               "shots": shots, "cues": cues, "cuts": []})
        .to_string()
        .into_bytes(),
    )
    .await;
    let words: Vec<Value> = [
        ("Good", 2.0, 2.4),
        ("evening.", 2.5, 3.0),
        ("Goodbye.", 25.0, 25.6),
    ]
    .iter()
    .map(|(t, s, e)| json!({"text": t, "start": s, "end": e}))
    .collect();
    let transcript = put(
        format!("{asset}/audio/transcript.json"),
        json!({"engine": "test", "language": "en", "durationSeconds": 40.0, "text": "",
               "segments": [], "words": words})
        .to_string()
        .into_bytes(),
    )
    .await;
    (
        vec![
            ResultRef::new("shots", shots, "test"),
            ResultRef::new("frameCaptures", manifest, "test"),
        ],
        vec![ResultRef::new("transcript", transcript, "test")],
    )
}

fn metadata(producer: &str) -> EventMetadata {
    EventMetadata {
        correlation_id: CORRELATION.into(),
        causation_id: CORRELATION.into(),
        producer: format!("mediasift-{producer}"),
        producer_version: "test".into(),
    }
}

fn completions(asset: Uuid, video: Vec<ResultRef>, audio: Vec<ResultRef>) -> [RawEvent; 2] {
    let plan = AnalysisPlan {
        analyses: vec![
            AnalysisKind::Video,
            AnalysisKind::Audio,
            AnalysisKind::Scenes,
            AnalysisKind::AdBreaks,
        ],
        options: AnalysisOptions {
            ad_break_interval_seconds: Some(20.0),
            ..AnalysisOptions::default()
        },
    };
    let video = VideoAnalysisCompleted {
        asset_id: asset,
        schema_version: VideoAnalysisCompleted::SCHEMA_VERSION.into(),
        metadata: metadata("video"),
        plan: plan.clone(),
        summary: VideoAnalysisSummary {
            duration_seconds: 40.0,
            shots: 5,
            technical_cues: 1,
            frames_captured: 40,
            frames_analysed: 3,
        },
        results: video,
        skipped: Vec::new(),
    };
    let audio = AudioAnalysisCompleted {
        asset_id: asset,
        schema_version: AudioAnalysisCompleted::SCHEMA_VERSION.into(),
        metadata: metadata("audio"),
        media_type: MediaType::Video,
        plan,
        summary: AudioAnalysisSummary {
            duration_seconds: 40.0,
            integrated_loudness: vec![Some(-23.0)],
            loudness_map: vec![1],
            language: Some("en".into()),
            words: 3,
            speech_engine: Some("test".into()),
        },
        results: audio,
        skipped: Vec::new(),
    };
    [
        Envelope::new(sources::VIDEO, video).to_raw().unwrap(),
        Envelope::new(sources::AUDIO, audio).to_raw().unwrap(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenes_join_once_in_dynamodb_and_ad_breaks_follow_on_the_aws_path() {
    tokio::time::timeout(TEST_TIMEOUT, scenes_on_the_aws_path())
        .await
        .expect("the test finishes in time");
}

async fn scenes_on_the_aws_path() {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let path = AwsPath::provision(
        &sdk,
        "scenes-aws",
        &[
            mediasift_scene::subscriptions(),
            mediasift_adbreak::subscriptions(),
        ],
    )
    .await
    .expect("provision the AWS path");
    let asset = Uuid::from_u128(0x005c_e7e5);
    let (video_results, audio_results) = results(&path, asset).await;
    let [video, audio] = completions(asset, video_results, audio_results);

    let scenes = Scenes::new(
        SceneConfig::default(),
        Backends {
            language: Some(Arc::new(LocalLanguage::new())),
            taxonomy: None,
            describer: None,
        },
    );
    let scene_poller = path.poller(Arc::new(scenes)).unwrap().spawn();
    let adbreak_poller = path
        .poller(Arc::new(AdBreaks::new(AdBreakConfig::default())))
        .unwrap()
        .spawn();
    // Video, audio, video, audio: each publication a new event to EventBridge.
    for event in [&video, &audio, &video, &audio] {
        path.publisher()
            .publish(std::slice::from_ref(event))
            .await
            .expect("publish");
    }
    let seen = path
        .watch_catch_all(FLOW_TIMEOUT, |events| {
            events.iter().any(|e| {
                e.detail_type == AdBreaksDetected::DETAIL_TYPE || e.detail_type.contains("Failed")
            })
        })
        .await
        .expect("Ad Breaks Detected reaches the catch-all queue");
    path.wait_until_drained(&["scene", "adbreak"], FLOW_TIMEOUT)
        .await
        .expect("the queues drain");
    let mut seen = seen;
    seen.extend(
        path.receive_catch_all(Duration::from_secs(2))
            .await
            .unwrap(),
    );
    let scene_outcomes = scene_poller.stop().await.unwrap();
    adbreak_poller.stop().await.unwrap();
    assert!(
        !seen.iter().any(|e| e.detail_type.contains("Failed")),
        "{seen:?}"
    );

    // Four arrivals: two recorded the half-set or stood down, one built the scenes. (The
    // second video arrival may land before or after the first audio one.)
    let published: usize = scene_outcomes
        .iter()
        .map(|o| match o {
            Outcome::Handled { published } => *published,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(published, 1, "{scene_outcomes:?}");
    let detected: Vec<&RawEvent> = seen
        .iter()
        .filter(|e| e.detail_type == ScenesDetected::DETAIL_TYPE)
        .collect();
    assert_eq!(detected.len(), 1, "{seen:?}");
    let scenes = detected[0].decode::<ScenesDetected>().unwrap().detail;
    assert_eq!(scenes.summary.scenes, 2, "{scenes:?}");
    assert_eq!(scenes.summary.shots, 5);

    let breaks = seen
        .iter()
        .find(|e| e.detail_type == AdBreaksDetected::DETAIL_TYPE)
        .unwrap()
        .decode::<AdBreaksDetected>()
        .unwrap()
        .detail;
    // The one black, silent scene boundary (the end of the black at 20 s) gets the break.
    assert_eq!(breaks.breaks.len(), 1, "{breaks:?}");
    assert_eq!(breaks.breaks[0].seconds, 20.0);
    assert_eq!(breaks.breaks[0].timecode, "00:00:20:00");
    let names: Vec<&str> = breaks.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["adbreaks", "vmap.xml", "edl"]);
}
