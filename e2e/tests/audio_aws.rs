//! The real audio handler on the AWS path, against moto, through the event-driven
//! continuation of a Transcribe job: `Audio Ingested` published on the bus and routed by the
//! audio service's rule to its queue; loudness measured on the source read from moto's S3;
//! the Transcribe job started with the real SDK client on moto and the work so far recorded
//! in DynamoDB; then `Transcribe Job State Change`, routed by the service's second rule, brings
//! the handler back to finish from the record, and `Audio Analysis Completed` is read back from
//! the catch-all queue.
//!
//! moto's Transcribe writes no transcript and sends no event (see `transcribe_aws.rs`): the
//! test puts a Transcribe output document where the job was told to write it, and publishes
//! the event AWS would send. moto does not implement Comprehend's batch APIs, so language
//! runs on the local backend here; Comprehend is tested on mocks and moto in its own files.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mediasift_audio::handler::{SPEECH_JOBS_TABLE, speech_job_name};
use mediasift_audio::speech::transcribe::transcript_key;
use mediasift_audio::speech::{TranscribeConfig, TranscribeSpeech};
use mediasift_audio::{Audio, AudioConfig, Backends};
use mediasift_e2e::aws_path::{AwsPath, Outcome};
use mediasift_e2e::moto::{MotoServer, workspace_root};
use mediasift_kit::language::LocalLanguage;
use mediasift_kit::ports::{Body, EventPublisher, PutOptions};
use mediasift_schemas::{
    AudioAnalysisCompleted, AudioIngested, AudioTrack, Envelope, EventDetail, RawEvent,
    TranscribeJobStateChange, sources,
};
use uuid::Uuid;

/// No test may take longer than this, whatever moto does.
const TEST_TIMEOUT: Duration = Duration::from_secs(240);
const FLOW_TIMEOUT: Duration = Duration::from_secs(60);

fn tool(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/setup.sh installs it): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A spoken sentence as the source, and its 16 kHz mono speech WAV as ingest makes it.
fn speech(work: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let source = work.join("interview.wav");
    tool(
        "flite",
        &[
            "-t",
            "Welcome to the programme. Tonight we talk about the bridge in London.",
            "-o",
            source.to_str().unwrap(),
        ],
    );
    let wav = work.join("speech.wav");
    tool(
        "ffmpeg",
        &[
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            source.to_str().unwrap(),
            "-ac",
            "1",
            "-ar",
            "16000",
            "-c:a",
            "pcm_s16le",
            wav.to_str().unwrap(),
        ],
    );
    (source, wav)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_on_the_aws_path_continues_on_the_transcribe_event() {
    tokio::time::timeout(TEST_TIMEOUT, audio_on_the_aws_path())
        .await
        .expect("the test finishes in time");
}

async fn audio_on_the_aws_path() {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let path = AwsPath::provision(&sdk, "audio-aws", &[mediasift_audio::subscriptions()])
        .await
        .expect("provision the AWS path");
    let ports = path.ports();
    let work = tempfile::tempdir().unwrap();
    let asset_id = Uuid::from_u128(0xa0d1_0a75);
    let (source, wav) = speech(work.path());
    let source_key = format!("uploads/{asset_id}/interview.wav");
    let speech_key = format!("{asset_id}/proxy/speech.wav");
    for (bucket, key, file) in [
        (&path.ingest_bucket, &source_key, source),
        (&path.derived_bucket, &speech_key, wav),
    ] {
        ports
            .objects
            .put(bucket, key, Body::File(file), PutOptions::default())
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e}"));
    }
    let mut detail = AudioIngested::example();
    detail.asset_id = asset_id;
    detail.source.bucket = path.ingest_bucket.clone();
    detail.source.key = source_key.clone();
    detail.source.uri = format!("s3://{}/{source_key}", path.ingest_bucket);
    detail.technical.duration_seconds = 0.0;
    detail.technical.audio_tracks = vec![AudioTrack {
        index: 0,
        codec: "pcm_s16le".into(),
        channels: 1,
        sample_rate: 8000,
        language: None,
    }];
    detail.outputs.speech_audio = format!("s3://{}/{speech_key}", path.derived_bucket);
    let ingested: RawEvent = Envelope::new(sources::INGEST, detail).to_raw().unwrap();

    // The Lambda function's wiring, with local language (moto lacks Comprehend's batch APIs).
    let transcribe = TranscribeSpeech::new(
        &sdk,
        TranscribeConfig {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(10),
            ..TranscribeConfig::default()
        },
    );
    let audio = Audio::new(
        AudioConfig {
            scratch_dir: work.path().join("scratch"),
            chapters_skip_reason: "turned off in the function's settings".into(),
            ..AudioConfig::default()
        },
        Backends {
            speech: Some(Arc::new(transcribe)),
            language: Some(Arc::new(LocalLanguage::new())),
            chapters: None,
        },
    );
    let poller = path.poller(Arc::new(audio)).unwrap().spawn();
    path.publisher()
        .publish(std::slice::from_ref(&ingested))
        .await
        .expect("publish Audio Ingested");

    // The ingested event records its work under the job's name and starts the job. The job
    // is named after the event as delivered: EventBridge gives every event its own id.
    let delivered = path
        .watch_catch_all(FLOW_TIMEOUT, |events| {
            events
                .iter()
                .any(|e| e.detail_type == AudioIngested::DETAIL_TYPE)
        })
        .await
        .expect("Audio Ingested reaches the catch-all queue")
        .into_iter()
        .find(|e| e.detail_type == AudioIngested::DETAIL_TYPE)
        .unwrap();
    let job_name = speech_job_name(asset_id, &delivered.id);
    let deadline = tokio::time::Instant::now() + FLOW_TIMEOUT;
    let record = loop {
        if let Some(item) = ports.state.get(SPEECH_JOBS_TABLE, &job_name).await.unwrap() {
            break item;
        }
        if tokio::time::Instant::now() >= deadline {
            let seen = path.receive_catch_all(Duration::from_secs(1)).await;
            panic!(
                "no record of {job_name}: the handler did {:?}; events {seen:?}",
                poller.stop().await
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(record.value["loudnessMap"], serde_json::json!([1]));
    let client = aws_sdk_transcribe::Client::new(&sdk);
    let mut job = None;
    for _ in 0..50 {
        if let Ok(found) = client
            .get_transcription_job()
            .transcription_job_name(&job_name)
            .send()
            .await
        {
            job = found.transcription_job().cloned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let job = job.expect("the handler started the Transcribe job");
    assert_eq!(
        job.media().and_then(|m| m.media_file_uri()),
        Some(format!("s3://{}/{speech_key}", path.derived_bucket).as_str())
    );
    assert_eq!(job.identify_language(), Some(true));

    // Transcribe finishes: its output where the job was told to write, then its event.
    let prefix = format!("{asset_id}/audio/transcribe/");
    let output = std::fs::read(
        workspace_root().join("services/audio/tests/fixtures/transcribe-output.json"),
    )
    .expect("the Transcribe output fixture");
    ports
        .objects
        .put(
            &path.derived_bucket,
            &transcript_key(&prefix, &job_name),
            Body::Bytes(Bytes::from(output)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let mut finished = Envelope::new(
        sources::TRANSCRIBE,
        TranscribeJobStateChange {
            transcription_job_name: job_name.clone(),
            transcription_job_status: "COMPLETED".into(),
            failure_reason: None,
        },
    );
    finished.id = Uuid::new_v4().to_string();
    path.publisher()
        .publish(&[finished.to_raw().unwrap()])
        .await
        .expect("publish Transcribe Job State Change");

    let seen = path
        .watch_catch_all(FLOW_TIMEOUT, |events| {
            events
                .iter()
                .any(|e| e.detail_type == AudioAnalysisCompleted::DETAIL_TYPE)
        })
        .await
        .expect("Audio Analysis Completed reaches the catch-all queue");
    let outcomes = poller.stop().await.unwrap();
    assert!(
        outcomes.contains(&Outcome::Handled { published: 0 })
            && outcomes.contains(&Outcome::Handled { published: 1 }),
        "{outcomes:?}"
    );
    assert!(
        !seen.iter().any(|e| e.detail_type.contains("Failed")),
        "{seen:?}"
    );
    let done = seen
        .iter()
        .find(|e| e.detail_type == AudioAnalysisCompleted::DETAIL_TYPE)
        .unwrap();
    assert_eq!(done.source, sources::AUDIO);
    let done = done.decode::<AudioAnalysisCompleted>().unwrap().detail;
    assert_eq!(done.asset_id, asset_id);
    assert_eq!(done.metadata.causation_id, delivered.id);
    assert_eq!(done.summary.loudness_map, vec![1]);
    assert_eq!(done.summary.words, 9, "the fixture's nine words");
    assert_eq!(done.summary.language.as_deref(), Some("en-US"));
    assert_eq!(
        done.summary.speech_engine.as_deref(),
        Some("amazon-transcribe")
    );
    for name in [
        "loudness",
        "silences",
        "transcript",
        "captions.vtt",
        "captions.srt",
        "keyphrases",
    ] {
        assert!(
            done.results.iter().any(|r| r.name == name),
            "{name}: {:?}",
            done.results
        );
    }
    let vtt_uri = &done
        .results
        .iter()
        .find(|r| r.name == "captions.vtt")
        .unwrap()
        .uri;
    let vtt_key = vtt_uri
        .strip_prefix(&format!("s3://{}/", path.derived_bucket))
        .unwrap();
    let vtt = ports
        .objects
        .get_bytes(&path.derived_bucket, vtt_key)
        .await
        .unwrap();
    let vtt = String::from_utf8(vtt.to_vec()).unwrap();
    assert!(vtt.contains("Welcome to Amazon Transcribe."), "{vtt}");
    assert!(
        done.skipped
            .iter()
            .any(|s| s.feature == "chapters" && s.reason.contains("turned off")),
        "{:?}",
        done.skipped
    );
}
