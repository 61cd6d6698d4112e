//! The Amazon Transcribe speech backend on a client answered by aws-smithy-mocks: the request
//! it sends, how it reads Transcribe's refusals and throttling, and how it finishes a job from
//! the transcript in a real (local, filesystem) object store. Answers are the JSON Transcribe
//! sends, so the SDK's own deserialisation, error parsing and retry classification run as they
//! do against AWS. Against moto (the AWS emulator): `e2e/tests/transcribe_aws.rs`.
//!
//! The transcript fixtures are written by hand from AWS's documented output
//! (https://docs.aws.amazon.com/transcribe/latest/dg/how-input.html#how-it-works-output):
//! `transcribe-output-basic.json` is the documented example as it stands;
//! `transcribe-output.json` extends it the way a job with `IdentifyLanguage` writes it
//! (`language_code`, `language_identification`, item ids and `audio_segments`).
#![cfg(feature = "aws")]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_transcribe::Client;
use aws_sdk_transcribe::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_transcribe::operation::get_transcription_job::GetTranscriptionJobInput;
use aws_sdk_transcribe::operation::start_transcription_job::StartTranscriptionJobInput;
use aws_sdk_transcribe::types::{LanguageCode, MediaFormat, SubtitleFormat};
use aws_smithy_mocks::{MockResponse, MockResponseInterceptor, Rule, RuleMode, mock};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use mediasift_audio::speech::transcribe::{
    ENGINE, TranscribeConfig, TranscribeSpeech, parse_transcript, subtitle_key, transcript_key,
};
use mediasift_audio::speech::{FinishedJob, SpeechBackend, SpeechError, SpeechRequest, Started};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::ports::{Body, ObjectStore, PutOptions};
use serde_json::json;
use uuid::Uuid;

const ASSET: Uuid = Uuid::from_u128(0x0b9d_3d4e_8c51_5f6a_9a43_2f1f_3c7e_5d10);
const JOB: &str = "mediasift-0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10-5c1e4a7b";
const DERIVED: &str = "mediasift-derived";
const PREFIX: &str = "0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10/audio/transcribe/";
const AUDIO: &str = "s3://mediasift-derived/0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10/proxy/speech.wav";
const ATTEMPTS: u32 = 4;

// --- the client -----------------------------------------------------------------------------

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Transcribe's answer: `status` and a JSON body.
fn answer(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    )
}

/// Transcribe's error answer: `{"__type": code, "Message": message}`.
fn refusal(status: u16, code: &str, message: &str) -> HttpResponse {
    answer(
        status,
        &json!({"__type": code, "Message": message}).to_string(),
    )
}

fn config(language_options: &[&str]) -> TranscribeConfig {
    TranscribeConfig {
        max_attempts: ATTEMPTS,
        initial_backoff: Duration::from_millis(1),
        language_options: language_options.iter().map(|s| s.to_string()).collect(),
    }
}

/// The backend on a client answered by `rules`, with the production retry policy except for
/// a 1 ms first backoff.
fn speech_with(rules: &[&Rule], config: TranscribeConfig) -> TranscribeSpeech {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let builder = aws_sdk_transcribe::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor);
    TranscribeSpeech::with_client_config(builder, config)
}

fn speech(rules: &[&Rule]) -> TranscribeSpeech {
    speech_with(rules, config(&[]))
}

fn request() -> SpeechRequest {
    SpeechRequest {
        asset_id: ASSET,
        job_name: JOB.into(),
        audio_uri: AUDIO.into(),
        audio_path: None,
        duration_seconds: 4.5,
        language_hint: Some("eng".into()),
        output_bucket: DERIVED.into(),
        output_prefix: PREFIX.into(),
    }
}

/// StartTranscriptionJob's answer for `JOB` (the job as Transcribe describes it, queued).
fn started_answer() -> HttpResponse {
    answer(
        200,
        &json!({
            "TranscriptionJob": {
                "TranscriptionJobName": JOB,
                "TranscriptionJobStatus": "IN_PROGRESS",
                "MediaFormat": "wav",
                "Media": {"MediaFileUri": AUDIO},
                "StartTime": 1.7e9,
                "CreationTime": 1.7e9,
                "IdentifyLanguage": true,
                "Subtitles": {"Formats": ["vtt", "srt"], "OutputStartIndex": 1},
            }
        })
        .to_string(),
    )
}

/// GetTranscriptionJob's answer for a job that completed with `language` at `score`, its
/// transcript at `transcript_uri`.
fn completed_answer(transcript_uri: &str, language: &str, score: f64) -> HttpResponse {
    answer(
        200,
        &json!({
            "TranscriptionJob": {
                "TranscriptionJobName": JOB,
                "TranscriptionJobStatus": "COMPLETED",
                "LanguageCode": language,
                "MediaSampleRateHertz": 16000,
                "MediaFormat": "wav",
                "Media": {"MediaFileUri": AUDIO},
                "Transcript": {"TranscriptFileUri": transcript_uri},
                "StartTime": 1.7e9,
                "CreationTime": 1.7e9,
                "CompletionTime": 1.7e9 + 40.0,
                "Settings": {"ChannelIdentification": false, "ShowAlternatives": false},
                "IdentifyLanguage": true,
                "IdentifiedLanguageScore": score,
                "Subtitles": {
                    "Formats": ["vtt", "srt"],
                    "SubtitleFileUris": [
                        transcript_uri.replace(".json", ".vtt"),
                        transcript_uri.replace(".json", ".srt"),
                    ],
                    "OutputStartIndex": 1,
                },
            }
        })
        .to_string(),
    )
}

fn failed_answer(reason: &str) -> HttpResponse {
    answer(
        200,
        &json!({
            "TranscriptionJob": {
                "TranscriptionJobName": JOB,
                "TranscriptionJobStatus": "FAILED",
                "Media": {"MediaFileUri": AUDIO},
                "FailureReason": reason,
                "IdentifyLanguage": true,
            }
        })
        .to_string(),
    )
}

fn https_uri(key: &str) -> String {
    format!("https://s3.eu-west-1.amazonaws.com/{DERIVED}/{key}")
}

/// A local object store in `dir` with the derived bucket, holding `objects`.
async fn store(dir: &Path, objects: &[(&str, Vec<u8>)]) -> LocalObjectStore {
    let store = LocalObjectStore::open(dir).unwrap();
    store.create_bucket(DERIVED).await.unwrap();
    for (key, body) in objects {
        store
            .put(
                DERIVED,
                key,
                Body::Bytes(Bytes::from(body.clone())),
                PutOptions {
                    content_type: Some("application/json".into()),
                    ..PutOptions::default()
                },
            )
            .await
            .unwrap();
    }
    store
}

fn finished(status: &str, failure_reason: Option<&str>) -> FinishedJob {
    FinishedJob {
        job_name: JOB.into(),
        status: status.into(),
        failure_reason: failure_reason.map(str::to_owned),
        output_bucket: DERIVED.into(),
        output_prefix: PREFIX.into(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// --- starting a job -------------------------------------------------------------------------

mod transcribe_start {
    use super::*;

    #[tokio::test]
    async fn sends_the_job_with_identification_subtitles_and_the_output_key() {
        let asked = Arc::new(Mutex::new(Vec::<StartTranscriptionJobInput>::new()));
        let recorded = Arc::clone(&asked);
        let rule = mock!(Client::start_transcription_job).then_compute_response(move |input| {
            recorded.lock().unwrap().push(input.clone());
            MockResponse::Http(started_answer())
        });
        let backend = speech(&[&rule]);
        assert_eq!(backend.engine(), ENGINE);
        assert_eq!(backend.engine(), "amazon-transcribe");
        assert!(!backend.needs_local_audio());

        let started = backend.start(&request()).await.unwrap();
        assert_eq!(
            started,
            Started::Pending {
                job_name: JOB.into()
            }
        );
        let asked = asked.lock().unwrap();
        assert_eq!(asked.len(), 1);
        let input = &asked[0];
        assert_eq!(input.transcription_job_name(), Some(JOB));
        assert_eq!(
            input.media().and_then(|m| m.media_file_uri()),
            Some(AUDIO),
            "the speech WAV in the derived bucket"
        );
        assert_eq!(input.media_format(), Some(&MediaFormat::Wav));
        assert_eq!(input.media_sample_rate_hertz(), None, "Transcribe reads it");
        assert_eq!(input.identify_language(), Some(true));
        assert_eq!(
            input.language_code(),
            None,
            "identification, not a fixed language"
        );
        assert_eq!(
            input.language_options(),
            &[] as &[LanguageCode],
            "the container's language hint is not sent"
        );
        let subtitles = input.subtitles().expect("subtitles are asked for");
        assert_eq!(
            subtitles.formats(),
            &[SubtitleFormat::Vtt, SubtitleFormat::Srt]
        );
        assert_eq!(subtitles.output_start_index(), Some(1));
        assert_eq!(input.output_bucket_name(), Some(DERIVED));
        assert_eq!(
            input.output_key(),
            Some(format!("{PREFIX}{JOB}.json").as_str()),
            "a key ending in .json names the transcript file itself"
        );
        assert_eq!(
            input.settings().and_then(|s| s.show_alternatives()),
            Some(false)
        );
        assert_eq!(input.settings().and_then(|s| s.max_alternatives()), None);
        assert_eq!(transcript_key(PREFIX, JOB), format!("{PREFIX}{JOB}.json"));
        assert_eq!(
            subtitle_key(PREFIX, JOB, "vtt"),
            format!("{PREFIX}{JOB}.vtt")
        );
    }

    #[tokio::test]
    async fn configured_languages_restrict_identification_or_fix_the_language() {
        let asked = Arc::new(Mutex::new(Vec::<StartTranscriptionJobInput>::new()));
        let recorded = Arc::clone(&asked);
        let rule = mock!(Client::start_transcription_job).then_compute_response(move |input| {
            recorded.lock().unwrap().push(input.clone());
            MockResponse::Http(started_answer())
        });
        speech_with(&[&rule], config(&["en-US", "fr-fr", "de-DE"]))
            .start(&request())
            .await
            .unwrap();
        speech_with(&[&rule], config(&["fr-FR"]))
            .start(&request())
            .await
            .unwrap();
        {
            let asked = asked.lock().unwrap();
            assert_eq!(asked[0].identify_language(), Some(true));
            assert_eq!(
                asked[0].language_options(),
                &[LanguageCode::EnUs, LanguageCode::FrFr, LanguageCode::DeDe]
            );
            assert_eq!(asked[1].identify_language(), None);
            assert_eq!(asked[1].language_code(), Some(&LanguageCode::FrFr));
            assert_eq!(asked[1].language_options(), &[] as &[LanguageCode]);
        }

        // A code Transcribe does not know never reaches it.
        let err = speech_with(&[&rule], config(&["en-US", "klingon"]))
            .start(&request())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SpeechError::Failed(m)
                if m.contains("\"klingon\"") && m.contains("MEDIASIFT_TRANSCRIBE_LANGUAGES")),
            "{err:?}"
        );
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_job_that_exists_already_is_pending() {
        let rule = mock!(Client::start_transcription_job).then_http_response(|| {
            refusal(
                400,
                "ConflictException",
                "The requested job name already exists. Use a different job name.",
            )
        });
        let started = speech(&[&rule]).start(&request()).await.unwrap();
        assert_eq!(
            started,
            Started::Pending {
                job_name: JOB.into()
            }
        );
        assert_eq!(rule.num_calls(), 1, "a conflict is not retried");
    }

    #[tokio::test]
    async fn throttling_is_retried_with_backoff_until_it_passes() {
        let rule = mock!(Client::start_transcription_job)
            .sequence()
            .http_response(|| refusal(400, "ThrottlingException", "Rate exceeded"))
            .times(2)
            .http_response(started_answer)
            .build();
        let started = speech(&[&rule]).start(&request()).await.unwrap();
        assert!(matches!(started, Started::Pending { .. }));
        assert_eq!(
            rule.num_calls(),
            3,
            "two throttled attempts, then the answer"
        );
    }

    #[tokio::test]
    async fn throttling_that_never_stops_is_unavailable_after_every_attempt() {
        let rule = mock!(Client::start_transcription_job)
            .sequence()
            .http_response(|| {
                refusal(
                    400,
                    "LimitExceededException",
                    "You have exceeded the maximum number of concurrent transcription jobs.",
                )
            })
            .repeatedly()
            .build();
        let err = speech(&[&rule]).start(&request()).await.unwrap_err();
        let SpeechError::Unavailable(message) = &err else {
            panic!("{err:?}");
        };
        assert!(message.contains("LimitExceededException"), "{message}");
        assert!(message.contains(JOB), "{message}");
        assert!(err.to_string().starts_with("speech engine unavailable"));
        assert_eq!(rule.num_calls(), ATTEMPTS as usize);

        let server = mock!(Client::start_transcription_job)
            .sequence()
            .http_response(|| refusal(500, "InternalFailureException", "Internal failure"))
            .repeatedly()
            .build();
        let err = speech(&[&server]).start(&request()).await.unwrap_err();
        assert!(matches!(err, SpeechError::Unavailable(_)), "{err:?}");
        assert_eq!(server.num_calls(), ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn access_denied_names_the_iam_action_and_the_s3_locations() {
        let rule = mock!(Client::start_transcription_job).then_http_response(|| {
            refusal(
                400,
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:assumed-role/mediasift-audio/mediasift-audio is \
                 not authorized to perform: transcribe:StartTranscriptionJob",
            )
        });
        let err = speech(&[&rule]).start(&request()).await.unwrap_err();
        let SpeechError::Failed(message) = &err else {
            panic!("{err:?}");
        };
        assert!(
            message.contains("Allow the audio function's role transcribe:StartTranscriptionJob"),
            "{message}"
        );
        assert!(
            message.contains(&format!("s3:GetObject on {AUDIO}")),
            "{message}"
        );
        assert!(
            message.contains(&format!("s3:PutObject on s3://{DERIVED}/{PREFIX}*")),
            "{message}"
        );
        assert_eq!(rule.num_calls(), 1, "a refusal is not retried");
    }

    #[tokio::test]
    async fn a_refused_request_names_the_audio_the_output_and_the_region() {
        let rule = mock!(Client::start_transcription_job).then_http_response(|| {
            refusal(
                400,
                "BadRequestException",
                "The S3 URI that you provided can't be accessed. Make sure that you have read \
                 permission and try your request again.",
            )
        });
        let err = speech(&[&rule]).start(&request()).await.unwrap_err();
        let SpeechError::Failed(message) = &err else {
            panic!("{err:?}");
        };
        assert!(message.contains("can't be accessed"), "{message}");
        assert!(message.contains(AUDIO), "{message}");
        assert!(
            message.contains(&format!("s3://{DERIVED}/{PREFIX}")),
            "{message}"
        );
        assert!(message.contains("eu-west-1"), "{message}");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn audio_transcribe_cannot_take_is_refused_before_any_call() {
        let rule = mock!(Client::start_transcription_job).then_http_response(started_answer);
        let backend = speech(&[&rule]);

        let mut local = request();
        local.audio_uri = "file:///var/lib/mediasift/derived/speech.wav".into();
        let err = backend.start(&local).await.unwrap_err();
        assert!(
            matches!(&err, SpeechError::Failed(m) if m.contains("not an s3:// URI")),
            "{err:?}"
        );

        let mut long = request();
        long.duration_seconds = 5.0 * 3600.0;
        let err = backend.start(&long).await.unwrap_err();
        assert!(
            matches!(&err, SpeechError::Failed(m) if m.contains("4 hours")),
            "{err:?}"
        );

        let mut bad_name = request();
        bad_name.job_name = "mediasift job/1".into();
        let err = backend.start(&bad_name).await.unwrap_err();
        assert!(
            matches!(&err, SpeechError::Failed(m) if m.contains("not a valid Amazon Transcribe job name")),
            "{err:?}"
        );
        assert_eq!(rule.num_calls(), 0);
    }
}

// --- finishing a job ------------------------------------------------------------------------

mod transcribe_finish {
    use super::*;

    #[tokio::test]
    async fn a_completed_job_is_read_where_transcribe_says_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let key = transcript_key(PREFIX, JOB);
        let objects = store(dir.path(), &[(&key, fixture("transcribe-output.json"))]).await;
        let asked = Arc::new(Mutex::new(Vec::<GetTranscriptionJobInput>::new()));
        let recorded = Arc::clone(&asked);
        let uri = https_uri(&key);
        let rule = mock!(Client::get_transcription_job).then_compute_response(move |input| {
            recorded.lock().unwrap().push(input.clone());
            MockResponse::Http(completed_answer(&uri, "en-US", 0.9958))
        });
        let transcript = speech(&[&rule])
            .finish(&finished("COMPLETED", None), &objects)
            .await
            .unwrap();
        assert_eq!(asked.lock().unwrap()[0].transcription_job_name(), Some(JOB));
        assert_eq!(transcript.engine, "amazon-transcribe");
        assert_eq!(transcript.language.as_deref(), Some("en-US"));
        assert_eq!(transcript.language_confidence, Some(0.9958));
        assert_eq!(
            transcript.text,
            "Welcome to Amazon Transcribe. Hello, this is a test."
        );
        assert_eq!(transcript.words.len(), 9);
        assert_eq!(transcript.segments.len(), 2);
        assert!(transcript.warnings.is_empty(), "{:?}", transcript.warnings);
    }

    #[tokio::test]
    async fn the_transcript_is_read_at_the_uri_transcribe_reports() {
        // Should Transcribe ever write elsewhere than asked, its own word wins.
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = format!("{PREFIX}moved/{JOB}.json");
        let objects = store(
            dir.path(),
            &[(&elsewhere, fixture("transcribe-output.json"))],
        )
        .await;
        let uri = https_uri(&elsewhere);
        let rule = mock!(Client::get_transcription_job)
            .then_http_response(move || completed_answer(&uri, "en-US", 0.9958));
        let transcript = speech(&[&rule])
            .finish(&finished("COMPLETED", None), &objects)
            .await
            .unwrap();
        assert_eq!(transcript.words[0].text, "Welcome");
    }

    #[tokio::test]
    async fn without_get_transcription_job_the_deterministic_key_is_read() {
        // The documented example has no language: without the job's description, the
        // transcript says so.
        let dir = tempfile::tempdir().unwrap();
        let key = transcript_key(PREFIX, JOB);
        let objects = store(
            dir.path(),
            &[(&key, fixture("transcribe-output-basic.json"))],
        )
        .await;
        let rule = mock!(Client::get_transcription_job).then_http_response(|| {
            refusal(
                400,
                "AccessDeniedException",
                "not authorized to perform: transcribe:GetTranscriptionJob",
            )
        });
        let transcript = speech(&[&rule])
            .finish(&finished("COMPLETED", None), &objects)
            .await
            .unwrap();
        assert_eq!(transcript.text, "Welcome to Amazon Transcribe.");
        assert_eq!(transcript.language, None);
        assert_eq!(
            transcript.warnings,
            vec!["Amazon Transcribe did not report the language of the speech"]
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn the_jobs_language_and_score_fill_in_what_the_transcript_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let key = transcript_key(PREFIX, JOB);
        let objects = store(
            dir.path(),
            &[(&key, fixture("transcribe-output-basic.json"))],
        )
        .await;
        let uri = https_uri(&key);
        let rule = mock!(Client::get_transcription_job)
            .then_http_response(move || completed_answer(&uri, "en-GB", 0.8125));
        let transcript = speech(&[&rule])
            .finish(&finished("COMPLETED", None), &objects)
            .await
            .unwrap();
        assert_eq!(transcript.language.as_deref(), Some("en-GB"));
        assert_eq!(transcript.language_confidence, Some(0.8125));
        assert!(transcript.warnings.is_empty(), "{:?}", transcript.warnings);
    }

    #[tokio::test]
    async fn a_missing_transcript_names_where_it_was_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        let objects = store(dir.path(), &[]).await;
        let key = transcript_key(PREFIX, JOB);
        let uri = https_uri(&key);
        let rule = mock!(Client::get_transcription_job)
            .then_http_response(move || completed_answer(&uri, "en-US", 0.99));
        let err = speech(&[&rule])
            .finish(&finished("COMPLETED", None), &objects)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SpeechError::Failed(m)
                if m.contains(&format!("s3://{DERIVED}/{key}")) && m.contains("completed")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_transcript_that_is_not_transcribes_json_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let key = transcript_key(PREFIX, JOB);
        let objects = store(dir.path(), &[(&key, b"<html>503</html>".to_vec())]).await;
        let rule = mock!(Client::get_transcription_job)
            .then_http_response(|| refusal(400, "NotFoundException", "no such job"));
        let err = speech(&[&rule])
            .finish(&finished("COMPLETED", None), &objects)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SpeechError::Failed(m)
                if m.contains(&format!("s3://{DERIVED}/{key}")) && m.contains("not Amazon Transcribe's JSON")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_job_reports_transcribes_reason() {
        let dir = tempfile::tempdir().unwrap();
        let objects = store(dir.path(), &[]).await;
        // The reason rides in the event: no call is made.
        let backend = speech(&[]);
        let err = backend
            .finish(
                &finished("FAILED", Some("Unsupported media format")),
                &objects,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SpeechError::Failed(m)
                if m.contains(JOB) && m.contains("Unsupported media format") && m.contains("16-bit PCM")),
            "{err:?}"
        );
        assert!(!mediasift_kit::ports::Retryable::is_retryable(&err));

        let err = backend
            .finish(
                &finished("FAILED", Some("Invalid file size: file size too large")),
                &objects,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SpeechError::Failed(m) if m.contains("4 hours and 2 GB")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_job_without_speech_or_an_identifiable_language_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let objects = store(dir.path(), &[]).await;
        let err = speech(&[])
            .finish(
                &finished(
                    "FAILED",
                    Some(
                        "Language identification failed: there isn't enough speech in the media \
                         file to identify a language.",
                    ),
                ),
                &objects,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SpeechError::UnsupportedLanguage(m) if m.contains("enough speech")),
            "{err:?}"
        );

        // No reason in the event: GetTranscriptionJob's.
        let rule = mock!(Client::get_transcription_job)
            .then_http_response(|| failed_answer("The media file contains no speech."));
        let err = speech(&[&rule])
            .finish(&finished("FAILED", None), &objects)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SpeechError::UnsupportedLanguage(m) if m.contains("contains no speech")),
            "{err:?}"
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_failed_job_whose_reason_cannot_be_read_says_how_to_find_it() {
        let dir = tempfile::tempdir().unwrap();
        let objects = store(dir.path(), &[]).await;
        let rule = mock!(Client::get_transcription_job)
            .sequence()
            .http_response(|| refusal(400, "ThrottlingException", "Rate exceeded"))
            .repeatedly()
            .build();
        let err = speech(&[&rule])
            .finish(&finished("FAILED", None), &objects)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SpeechError::Failed(m)
                if m.contains(&format!("get-transcription-job --transcription-job-name {JOB}"))),
            "{err:?}"
        );
    }
}

// --- the transcript format ------------------------------------------------------------------

mod transcribe_output {
    use super::*;

    #[test]
    fn the_documented_example_becomes_words_and_one_sentence() {
        let transcript =
            parse_transcript(&fixture("transcribe-output-basic.json"), "engine x").unwrap();
        assert_eq!(transcript.engine, "engine x");
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
        assert!(transcript.words.iter().all(|w| w.confidence == Some(1.0)));
        assert_eq!(transcript.segments.len(), 1);
        assert_eq!(transcript.segments[0].text, "Welcome to Amazon Transcribe.");
        assert!(close(transcript.segments[0].start, 0.64));
        assert!(close(transcript.segments[0].end, 2.56));
        assert!(close(transcript.duration_seconds, 2.56));
        assert_eq!(transcript.language, None);
    }

    #[test]
    fn an_identified_language_job_gives_language_score_and_audio_segments() {
        let transcript = parse_transcript(&fixture("transcribe-output.json"), ENGINE).unwrap();
        assert_eq!(transcript.language.as_deref(), Some("en-US"));
        assert_eq!(transcript.language_confidence, Some(0.9958));
        let texts: Vec<&str> = transcript.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Welcome",
                "to",
                "Amazon",
                "Transcribe.",
                "Hello,",
                "this",
                "is",
                "a",
                "test."
            ]
        );
        let hello = &transcript.words[4];
        assert!(close(hello.start, 3.1) && close(hello.end, 3.45));
        assert_eq!(hello.confidence, Some(0.9853));
        assert_eq!(transcript.words[8].confidence, Some(0.9412));
        let segments: Vec<(&str, f64, f64)> = transcript
            .segments
            .iter()
            .map(|s| (s.text.as_str(), s.start, s.end))
            .collect();
        assert_eq!(
            segments,
            vec![
                ("Welcome to Amazon Transcribe.", 0.64, 2.56),
                ("Hello, this is a test.", 3.1, 4.38),
            ]
        );
        assert!(close(transcript.duration_seconds, 4.38));
        let timed = transcript.timed_words();
        assert_eq!(timed.len(), 9);
        assert_eq!(timed[3].text, "Transcribe.");
    }

    #[test]
    fn without_audio_segments_sentences_split_at_their_punctuation() {
        let mut document: serde_json::Value =
            serde_json::from_slice(&fixture("transcribe-output.json")).unwrap();
        document["results"]
            .as_object_mut()
            .unwrap()
            .remove("audio_segments");
        let transcript = parse_transcript(document.to_string().as_bytes(), ENGINE).unwrap();
        let segments: Vec<(&str, f64, f64)> = transcript
            .segments
            .iter()
            .map(|s| (s.text.as_str(), s.start, s.end))
            .collect();
        assert_eq!(
            segments,
            vec![
                ("Welcome to Amazon Transcribe.", 0.64, 2.56),
                ("Hello, this is a test.", 3.1, 4.38),
            ],
            "a comma does not end a sentence"
        );
    }

    #[test]
    fn silence_gives_an_empty_transcript_with_a_warning() {
        let json = json!({
            "jobName": JOB,
            "accountId": "111122223333",
            "status": "COMPLETED",
            "results": {
                "language_code": "en-US",
                "transcripts": [{"transcript": ""}],
                "items": [],
                "audio_segments": [],
            },
        });
        let transcript = parse_transcript(json.to_string().as_bytes(), ENGINE).unwrap();
        assert_eq!(transcript.text, "");
        assert!(transcript.words.is_empty() && transcript.segments.is_empty());
        assert_eq!(transcript.duration_seconds, 0.0);
        assert_eq!(
            transcript.warnings,
            vec!["Amazon Transcribe recognised no words in this audio"]
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [&b"not json"[..], br#"{"jobName": "x"}"#, b"[]"] {
            let err = parse_transcript(bad, ENGINE).unwrap_err();
            assert!(matches!(err, SpeechError::Failed(_)), "{err:?}");
        }
    }
}
