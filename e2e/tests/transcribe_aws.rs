//! The Amazon Transcribe speech backend with the real SDK client against moto, and the
//! transcript read through the kit's S3 adapter from moto's S3.
//!
//! What moto (5.x) does for Transcribe, and so what is tested here:
//!
//! - `StartTranscriptionJob` records the job with every field it is sent (media URI, format,
//!   `IdentifyLanguage`, `LanguageOptions`, subtitles, settings) and answers
//!   `ConflictException` when the name exists: both are real here.
//! - It never reads the media and never checks the buckets: a missing WAV or bucket is not
//!   refused (AWS would answer `BadRequestException`; that path runs on mocks in
//!   `services/audio/tests/transcribe.rs`).
//! - `GetTranscriptionJob` advances the job one state per call: the first answers QUEUED, the
//!   second IN_PROGRESS, the third and later COMPLETED. The call that makes it IN_PROGRESS
//!   "identifies" the language: the first of `LanguageOptions`, else `en-US`, with score
//!   0.999645948. The call that completes it
//!   reports `TranscriptFileUri` `https://s3.<region>.amazonaws.com/<bucket>/<OutputKey>` (the
//!   `.json` key given, as AWS does) and the subtitle URIs next to it (`.vtt`, `.srt`).
//! - It writes nothing to S3: no transcript, no subtitles. So the test puts AWS's documented
//!   example output (`services/audio/tests/fixtures/transcribe-output-basic.json`) into moto's
//!   S3 at the key the job was given, as Transcribe would, and finishes from there.
//! - Jobs never fail and `GetTranscriptionJob` never returns a `FailureReason`; the failure
//!   reasons are tested on mocks, and here only where the event carries the reason.
//! - No `Transcribe Job State Change` event is emitted: the test advances the job with
//!   `GetTranscriptionJob`, as the event would tell of its completion.

use std::time::Duration;

use aws_sdk_transcribe::types::{
    LanguageCode, MediaFormat, SubtitleFormat, TranscriptionJob, TranscriptionJobStatus,
};
use bytes::Bytes;
use mediasift_audio::speech::transcribe::{subtitle_key, transcript_key};
use mediasift_audio::speech::{
    FinishedJob, SpeechBackend, SpeechError, SpeechRequest, Started, TranscribeConfig,
    TranscribeSpeech,
};
use mediasift_e2e::moto::{MotoServer, REGION, workspace_root};
use mediasift_kit::aws::S3ObjectStore;
use mediasift_kit::ports::{Body, ObjectStore, PutOptions};
use uuid::Uuid;

/// No test may take longer than this, whatever moto does.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
const DERIVED: &str = "mediasift-derived";

fn fixture(name: &str) -> Vec<u8> {
    let path = workspace_root()
        .join("services/audio/tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One second of 16 kHz mono 16-bit silence: the speech WAV as ingest makes it.
fn speech_wav() -> Vec<u8> {
    let samples = 16_000u32;
    let data = samples * 2;
    let mut wav = Vec::with_capacity(44 + data as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&16_000u32.to_le_bytes());
    wav.extend_from_slice(&32_000u32.to_le_bytes()); // bytes per second
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    wav.resize(44 + data as usize, 0);
    wav
}

struct Setup {
    _moto: MotoServer,
    sdk: aws_config::SdkConfig,
    objects: S3ObjectStore,
    asset_id: Uuid,
}

impl Setup {
    /// moto, the derived bucket, and the speech WAV of a new asset in it.
    async fn new() -> Self {
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;
        let objects = S3ObjectStore::new(&sdk);
        objects
            .client()
            .create_bucket()
            .bucket(DERIVED)
            .send()
            .await
            .expect("create the derived bucket");
        let asset_id = Uuid::new_v4();
        objects
            .put(
                DERIVED,
                &format!("{asset_id}/proxy/speech.wav"),
                Body::Bytes(Bytes::from(speech_wav())),
                PutOptions {
                    content_type: Some("audio/wav".into()),
                    ..PutOptions::default()
                },
            )
            .await
            .expect("put the speech WAV");
        Self {
            _moto: moto,
            sdk,
            objects,
            asset_id,
        }
    }

    fn request(&self) -> SpeechRequest {
        SpeechRequest {
            asset_id: self.asset_id,
            job_name: format!("mediasift-{}-5c1e4a7b", self.asset_id),
            audio_uri: format!("s3://{DERIVED}/{}/proxy/speech.wav", self.asset_id),
            audio_path: None,
            duration_seconds: 1.0,
            language_hint: Some("eng".into()),
            output_bucket: DERIVED.into(),
            output_prefix: format!("{}/audio/transcribe/", self.asset_id),
        }
    }

    fn backend(&self, language_options: &[&str]) -> TranscribeSpeech {
        TranscribeSpeech::new(
            &self.sdk,
            TranscribeConfig {
                max_attempts: 2,
                initial_backoff: Duration::from_millis(10),
                language_options: language_options.iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    /// `GetTranscriptionJob` with the plain SDK client (each call advances moto's job).
    async fn get_job(&self, name: &str) -> TranscriptionJob {
        aws_sdk_transcribe::Client::new(&self.sdk)
            .get_transcription_job()
            .transcription_job_name(name)
            .send()
            .await
            .expect("GetTranscriptionJob")
            .transcription_job()
            .cloned()
            .expect("a job")
    }

    fn finished(&self, status: &str, failure_reason: Option<&str>) -> FinishedJob {
        let request = self.request();
        FinishedJob {
            job_name: request.job_name,
            status: status.into(),
            failure_reason: failure_reason.map(str::to_owned),
            output_bucket: request.output_bucket,
            output_prefix: request.output_prefix,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcribe_job_on_moto_starts_once_and_finishes_from_s3() {
    tokio::time::timeout(TEST_TIMEOUT, start_and_finish())
        .await
        .expect("the test finishes within its timeout");
}

async fn start_and_finish() {
    let setup = Setup::new().await;
    let request = setup.request();
    let backend = setup.backend(&[]);
    let key = transcript_key(&request.output_prefix, &request.job_name);

    // Start: moto records the job as it was asked.
    let started = backend.start(&request).await.expect("start");
    assert_eq!(
        started,
        Started::Pending {
            job_name: request.job_name.clone()
        }
    );
    let job = setup.get_job(&request.job_name).await;
    assert_eq!(
        job.transcription_job_status(),
        Some(&TranscriptionJobStatus::Queued)
    );
    assert_eq!(
        job.media().and_then(|m| m.media_file_uri()),
        Some(request.audio_uri.as_str())
    );
    assert_eq!(job.media_format(), Some(&MediaFormat::Wav));
    assert_eq!(job.identify_language(), Some(true));
    assert_eq!(job.language_options(), &[] as &[LanguageCode]);
    assert_eq!(
        job.subtitles().map(|s| s.formats()),
        Some(&[SubtitleFormat::Vtt, SubtitleFormat::Srt][..])
    );
    assert_eq!(
        job.settings().and_then(|s| s.show_alternatives()),
        Some(false)
    );

    // A re-delivered event starts it again: moto's ConflictException, read as pending.
    let again = backend.start(&request).await.expect("start again");
    assert_eq!(
        again,
        Started::Pending {
            job_name: request.job_name.clone()
        }
    );

    // The job runs (moto identifies the language now) and completes; the outputs are named
    // as the request's OutputKey says.
    let job = setup.get_job(&request.job_name).await;
    assert_eq!(
        job.transcription_job_status(),
        Some(&TranscriptionJobStatus::InProgress)
    );
    assert_eq!(job.language_code(), Some(&LanguageCode::EnUs));
    let job = setup.get_job(&request.job_name).await;
    assert_eq!(
        job.transcription_job_status(),
        Some(&TranscriptionJobStatus::Completed)
    );
    assert_eq!(
        job.transcript().and_then(|t| t.transcript_file_uri()),
        Some(format!("https://s3.{REGION}.amazonaws.com/{DERIVED}/{key}").as_str())
    );
    let subtitle_uris: Vec<&str> = job
        .subtitles()
        .map(|s| s.subtitle_file_uris().iter().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        subtitle_uris,
        ["vtt", "srt"]
            .iter()
            .map(|ext| format!(
                "https://s3.{REGION}.amazonaws.com/{DERIVED}/{}",
                subtitle_key(&request.output_prefix, &request.job_name, ext)
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(job.language_code(), Some(&LanguageCode::EnUs));

    // moto writes no transcript: finishing now finds nothing, and says where it looked.
    let listed = setup
        .objects
        .list(DERIVED, &request.output_prefix)
        .await
        .expect("list the outputs");
    assert!(listed.is_empty(), "moto wrote {listed:?}");
    let err = backend
        .finish(&setup.finished("COMPLETED", None), &setup.objects)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SpeechError::Failed(m) if m.contains(&format!("s3://{DERIVED}/{key}"))),
        "{err:?}"
    );

    // Transcribe would have written its output there: AWS's documented example stands in.
    setup
        .objects
        .put(
            DERIVED,
            &key,
            Body::Bytes(Bytes::from(fixture("transcribe-output-basic.json"))),
            PutOptions {
                content_type: Some("application/json".into()),
                ..PutOptions::default()
            },
        )
        .await
        .expect("put the transcript");
    let transcript = backend
        .finish(&setup.finished("COMPLETED", None), &setup.objects)
        .await
        .expect("finish");
    assert_eq!(transcript.engine, "amazon-transcribe");
    assert_eq!(transcript.text, "Welcome to Amazon Transcribe.");
    let words: Vec<(&str, f64, f64)> = transcript
        .words
        .iter()
        .map(|w| (w.text.as_str(), w.start, w.end))
        .collect();
    assert_eq!(
        words,
        vec![
            ("Welcome", 0.64, 1.09),
            ("to", 1.09, 1.21),
            ("Amazon", 1.21, 1.74),
            ("Transcribe.", 1.74, 2.56),
        ]
    );
    assert_eq!(transcript.segments.len(), 1);
    // The documented example carries no language: moto's GetTranscriptionJob supplies it.
    assert_eq!(transcript.language.as_deref(), Some("en-US"));
    assert_eq!(transcript.language_confidence, Some(0.999646));
    assert!(transcript.warnings.is_empty(), "{:?}", transcript.warnings);

    // A failure the event explains needs no call; one it does not, moto cannot explain.
    let err = backend
        .finish(
            &setup.finished(
                "FAILED",
                Some("Language identification failed: no speech detected."),
            ),
            &setup.objects,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SpeechError::UnsupportedLanguage(_)),
        "{err:?}"
    );
    let err = backend
        .finish(&setup.finished("FAILED", None), &setup.objects)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SpeechError::Failed(m) if m.contains("failed without a reason")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcribe_language_options_reach_moto() {
    tokio::time::timeout(TEST_TIMEOUT, language_options())
        .await
        .expect("the test finishes within its timeout");
}

async fn language_options() {
    let setup = Setup::new().await;
    let request = setup.request();
    let started = setup
        .backend(&["fr-FR", "en-US"])
        .start(&request)
        .await
        .expect("start");
    assert!(matches!(started, Started::Pending { .. }));
    setup.get_job(&request.job_name).await; // QUEUED
    let job = setup.get_job(&request.job_name).await; // IN_PROGRESS
    assert_eq!(job.identify_language(), Some(true));
    assert_eq!(
        job.language_options(),
        &[LanguageCode::FrFr, LanguageCode::EnUs]
    );
    // moto "identifies" the first option.
    assert_eq!(job.language_code(), Some(&LanguageCode::FrFr));
}
