//! Speech to text by Amazon Transcribe batch jobs (feature `aws`).
//!
//! [`TranscribeSpeech::start`] starts one `StartTranscriptionJob` per speech WAV and returns
//! [`Started::Pending`]: the job's `Transcribe Job State Change` event (the audio service's
//! `transcribe-job-finished` rule) continues the work with [`TranscribeSpeech::finish`], which
//! reads the transcript JSON Transcribe wrote and parses it ([`parse_transcript`]). Nothing
//! polls and nothing sleeps in the function.
//!
//! # The job
//!
//! | field | value |
//! |---|---|
//! | `TranscriptionJobName` | [`SpeechRequest::job_name`] (deterministic, so a re-delivered event finds its job) |
//! | `Media.MediaFileUri` | [`SpeechRequest::audio_uri`], the 16 kHz mono WAV ingest made |
//! | `MediaFormat` | `wav` (the sample rate is left for Transcribe to read from the file) |
//! | `IdentifyLanguage` | `true`, restricted to [`TranscribeConfig::language_options`] when two or more are configured |
//! | `LanguageCode` | instead of identification, when exactly one language is configured |
//! | `Subtitles` | WebVTT and SubRip, numbered from 1 ([`SUBTITLE_START_INDEX`]) |
//! | `OutputBucketName` | [`SpeechRequest::output_bucket`] (the derived bucket) |
//! | `OutputKey` | `<output_prefix><job_name>.json` ([`transcript_key`]) |
//! | `Settings.ShowAlternatives` | `false` (one alternative per word) |
//!
//! ## Where the outputs land
//!
//! An `OutputKey` that ends in `.json` names the transcript file itself; one that does not is
//! a folder, under which Transcribe writes `<job name>.json`. The full key is given, so the
//! transcript is at exactly [`transcript_key`], and Transcribe writes the subtitles next to it
//! under the same name with their own extension ([`subtitle_key`]):
//!
//! ```text
//! s3://<derived>/<assetId>/audio/transcribe/<job name>.json
//! s3://<derived>/<assetId>/audio/transcribe/<job name>.vtt
//! s3://<derived>/<assetId>/audio/transcribe/<job name>.srt
//! ```
//!
//! Transcribe reads the audio and writes these with the permissions of the caller: the audio
//! function's role needs `transcribe:StartTranscriptionJob`, `transcribe:GetTranscriptionJob`,
//! `s3:GetObject` on the speech WAV, `s3:PutObject` on the prefix (and, on buckets encrypted
//! with a customer-managed KMS key, `kms:Decrypt` and `kms:GenerateDataKey` on it).
//!
//! ## The language hint
//!
//! [`SpeechRequest::language_hint`] is not sent. It comes from the container's metadata, whose
//! language tags are often a muxer's default (`eng`, `und`) rather than a statement about the
//! speech; Transcribe accepts `LanguageOptions` only with two or more languages, so a hint
//! cannot narrow identification on its own, and sending it as `LanguageCode` would turn
//! identification off and transcribe, say, French speech as English words. Transcribe
//! identifies the language itself and the transcript reports it with its score
//! ([`Transcript::language`], [`Transcript::language_confidence`]). An operator who knows the
//! languages of the collection restricts identification with
//! [`TranscribeConfig::language_options`].
//!
//! # Finishing
//!
//! A `COMPLETED` job: `GetTranscriptionJob` tells where the transcript is (`TranscriptFileUri`),
//! the identified language and its score; when that call fails (or the job is not described
//! as complete yet) the transcript is read at its deterministic key, since the request named
//! it. The transcript is read through the [`ObjectStore`] port and parsed by
//! [`parse_transcript`]; the job's language score fills in what the transcript lacks.
//!
//! A `FAILED` job: its `FailureReason` (from the event, or `GetTranscriptionJob` when the event
//! carries none) decides ([`job_failure`]): a reason that says the audio holds no speech, or
//! no language Transcribe could identify, is [`SpeechError::UnsupportedLanguage`] (speech is
//! reported skipped with that reason; the asset is not failed); any other reason is
//! [`SpeechError::Failed`] with what the reason means and what to check.
//!
//! # Throttling and errors
//!
//! The client retries throttling (including Transcribe's `LimitExceededException`, which is
//! also how it says that too many jobs run at once), 5xx and connection failures itself:
//! standard retry mode, [`TranscribeConfig::max_attempts`] attempts with exponential backoff
//! and full jitter. What is left is classified by the kit's [`Fault`]: transient →
//! [`SpeechError::Unavailable`] (the event is retried later); a job that already exists under
//! the name (`ConflictException`) → [`Started::Pending`]; the rest (a refused request, access
//! denied, no credentials) → [`SpeechError::Failed`] naming the bucket, key or IAM action to
//! fix.

use std::error::Error as StdError;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_transcribe::Client;
use aws_sdk_transcribe::config::retry::RetryConfig;
use aws_sdk_transcribe::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_transcribe::types::{
    LanguageCode, Media, MediaFormat, Settings, SubtitleFormat, Subtitles, TranscriptionJobStatus,
};
use mediasift_kit::aws::Fault;
use mediasift_kit::ports::{ObjectStore, Retryable, StoreError, split_s3_uri};
use serde_json::Value;

use super::{
    FinishedJob, Segment, SpeechBackend, SpeechError, SpeechRequest, Started, Transcript, Word,
};

/// The engine's name in transcripts and results.
pub const ENGINE: &str = "amazon-transcribe";
/// Attempts per call, by default, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// The first retry's backoff ceiling; each further retry doubles it (up to [`MAX_BACKOFF`]),
/// and the wait is drawn at random below it (full jitter).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// The longest audio a Transcribe batch job takes (4 hours); longer audio is refused before a
/// job is started.
pub const MAX_AUDIO_SECONDS: f64 = 4.0 * 60.0 * 60.0;
/// The number of the first cue in the subtitle files (SubRip's convention; Transcribe's own
/// default is 0).
pub const SUBTITLE_START_INDEX: i32 = 1;
/// The longest job name Transcribe accepts.
const MAX_JOB_NAME_CHARS: usize = 200;
/// Where Transcribe's failure reasons are listed.
const FAILURE_REASONS_DOC: &str =
    "https://docs.aws.amazon.com/transcribe/latest/APIReference/API_TranscriptionJob.html";

/// How the Transcribe backend works. On Lambda the fields come from the environment (names
/// suggested in each field's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscribeConfig {
    /// Attempts per call (throttling, 5xx, connection failures), the first included
    /// (`MEDIASIFT_TRANSCRIBE_MAX_ATTEMPTS`; default [`DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: u32,
    /// The first retry's backoff ceiling (tests shorten it; default
    /// [`DEFAULT_INITIAL_BACKOFF`]).
    pub initial_backoff: Duration,
    /// Transcribe language codes (`en-US`, `fr-FR`, …) the speech may be in
    /// (`MEDIASIFT_TRANSCRIBE_LANGUAGES`, comma-separated). Empty (the default): Transcribe
    /// identifies any language it supports. Two or more: identification chooses among them
    /// (`LanguageOptions`; AWS advises at most five). Exactly one: no identification, every
    /// job is transcribed in that language (`LanguageCode`). A code Transcribe does not know
    /// fails every job with a message naming it.
    pub language_options: Vec<String>,
}

impl Default for TranscribeConfig {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            language_options: Vec::new(),
        }
    }
}

impl TranscribeConfig {
    /// The client's retry policy: standard mode, exponential backoff with full jitter.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(MAX_BACKOFF.max(self.initial_backoff))
    }

    /// [`Self::language_options`] as Transcribe's codes; an error naming the first one it does
    /// not know.
    pub fn languages(&self) -> Result<Vec<LanguageCode>, String> {
        let mut codes: Vec<LanguageCode> = Vec::new();
        for option in self
            .language_options
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
        {
            let code = LanguageCode::values()
                .iter()
                .find(|known| known.eq_ignore_ascii_case(option))
                .map(|known| LanguageCode::from(*known))
                .ok_or_else(|| {
                    format!(
                        "{option:?} is not a language code Amazon Transcribe knows (codes look \
                         like en-US, fr-FR, es-ES); fix MEDIASIFT_TRANSCRIBE_LANGUAGES"
                    )
                })?;
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        Ok(codes)
    }
}

/// The key of the transcript a job named `job_name` writes under `output_prefix`.
pub fn transcript_key(output_prefix: &str, job_name: &str) -> String {
    format!("{output_prefix}{job_name}.json")
}

/// The key of a subtitle file (`extension` `vtt` or `srt`) the job writes next to its
/// transcript.
pub fn subtitle_key(output_prefix: &str, job_name: &str, extension: &str) -> String {
    format!("{output_prefix}{job_name}.{extension}")
}

/// Amazon Transcribe batch jobs as a [`SpeechBackend`].
pub struct TranscribeSpeech {
    client: Client,
    config: TranscribeConfig,
}

impl std::fmt::Debug for TranscribeSpeech {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranscribeSpeech")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What `GetTranscriptionJob` told of a job.
#[derive(Debug, Default)]
struct Described {
    status: Option<TranscriptionJobStatus>,
    failure_reason: Option<String>,
    language: Option<String>,
    language_score: Option<f64>,
    transcript_uri: Option<String>,
}

impl TranscribeSpeech {
    /// A backend on a client built from `sdk` (region and credentials as loaded once per
    /// process), with `config`'s retry policy.
    pub fn new(sdk: &aws_config::SdkConfig, config: TranscribeConfig) -> Self {
        Self::with_client_config(aws_sdk_transcribe::config::Builder::from(sdk), config)
    }

    /// A backend on a client built from `builder` (tests add an HTTP client or interceptors),
    /// with `config`'s retry policy.
    pub fn with_client_config(
        builder: aws_sdk_transcribe::config::Builder,
        config: TranscribeConfig,
    ) -> Self {
        let client = Client::from_conf(builder.retry_config(config.retry_config()).build());
        Self::from_client(client, config)
    }

    /// A backend on a client as it is (its own retry policy).
    pub fn from_client(client: Client, config: TranscribeConfig) -> Self {
        Self { client, config }
    }

    pub fn config(&self) -> &TranscribeConfig {
        &self.config
    }

    /// The client's region, for messages.
    fn region(&self) -> String {
        self.client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(no region)".to_owned())
    }

    fn error<E>(&self, operation: &str, err: &SdkError<E>, job: &JobContext<'_>) -> SpeechError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let fault = Fault::of(operation, err);
        classify(
            &fault,
            operation,
            job,
            &self.region(),
            self.config.max_attempts,
        )
    }

    /// `GetTranscriptionJob`.
    async fn describe(&self, job_name: &str) -> Result<Described, SpeechError> {
        let output = self
            .client
            .get_transcription_job()
            .transcription_job_name(job_name)
            .send()
            .await
            .map_err(|e| {
                self.error(
                    "GetTranscriptionJob",
                    &e,
                    &JobContext {
                        name: job_name,
                        audio_uri: None,
                        output: None,
                    },
                )
            })?;
        let Some(job) = output.transcription_job() else {
            return Ok(Described::default());
        };
        Ok(Described {
            status: job.transcription_job_status().cloned(),
            failure_reason: job
                .failure_reason()
                .filter(|r| !r.trim().is_empty())
                .map(str::to_owned),
            language: job.language_code().map(|c| c.as_str().to_owned()),
            language_score: job
                .identified_language_score()
                .map(|s| round6(f64::from(s))),
            transcript_uri: job
                .transcript()
                .and_then(|t| t.transcript_file_uri())
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
        })
    }

    /// The transcript of a completed job.
    async fn completed(
        &self,
        job: &FinishedJob,
        objects: &dyn ObjectStore,
    ) -> Result<Transcript, SpeechError> {
        let described = match self.describe(&job.job_name).await {
            Ok(described) => Some(described),
            Err(error) => {
                tracing::warn!(
                    job_name = %job.job_name,
                    %error,
                    "cannot describe the Transcribe job; reading its transcript at the key it \
                     was given"
                );
                None
            }
        };
        let described =
            described.filter(|d| d.status.as_ref() == Some(&TranscriptionJobStatus::Completed));
        let expected = (
            job.output_bucket.clone(),
            transcript_key(&job.output_prefix, &job.job_name),
        );
        let mut locations = Vec::new();
        if let Some(uri) = described.as_ref().and_then(|d| d.transcript_uri.as_deref()) {
            match s3_location(uri) {
                Some(location) => locations.push(location),
                None => tracing::warn!(
                    job_name = %job.job_name,
                    uri,
                    "Transcribe's TranscriptFileUri is not an S3 location of this account"
                ),
            }
        }
        if !locations.contains(&expected) {
            locations.push(expected);
        }
        let mut missing = Vec::new();
        let mut json = None;
        for (bucket, key) in &locations {
            match objects.get_bytes(bucket, key).await {
                Ok(bytes) => {
                    json = Some((bytes, format!("s3://{bucket}/{key}")));
                    break;
                }
                Err(StoreError::NotFound { .. } | StoreError::NoSuchBucket(_)) => {
                    missing.push(format!("s3://{bucket}/{key}"));
                }
                Err(error) => return Err(read_error(&job.job_name, bucket, key, &error)),
            }
        }
        let Some((json, location)) = json else {
            return Err(SpeechError::Failed(format!(
                "Amazon Transcribe reported job {} completed, but its transcript is not at {}. \
                 Check that nothing deletes objects under s3://{}/{} and that the job wrote \
                 there (aws transcribe get-transcription-job --transcription-job-name {}).",
                job.job_name,
                missing.join(" nor at "),
                job.output_bucket,
                job.output_prefix,
                job.job_name
            )));
        };
        let mut transcript = parse_transcript(&json, ENGINE).map_err(|e| match e {
            SpeechError::Failed(message) => SpeechError::Failed(format!("{location}: {message}")),
            other => other,
        })?;
        if let Some(described) = described {
            if transcript.language.is_none() && described.language.is_some() {
                transcript.language = described.language.clone();
                transcript
                    .warnings
                    .retain(|w| !w.starts_with(NO_LANGUAGE_WARNING));
            }
            if transcript.language_confidence.is_none() && transcript.language == described.language
            {
                transcript.language_confidence = described.language_score;
            }
        }
        Ok(transcript)
    }
}

#[async_trait]
impl SpeechBackend for TranscribeSpeech {
    fn engine(&self) -> String {
        ENGINE.to_owned()
    }

    fn needs_local_audio(&self) -> bool {
        false
    }

    async fn start(&self, request: &SpeechRequest) -> Result<Started, SpeechError> {
        let name = &request.job_name;
        if name.is_empty()
            || name.chars().count() > MAX_JOB_NAME_CHARS
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(SpeechError::Failed(format!(
                "{name:?} is not a valid Amazon Transcribe job name (1 to {MAX_JOB_NAME_CHARS} \
                 letters, digits, '.', '_' and '-'): a mediasift bug, report it with this message"
            )));
        }
        if split_s3_uri(&request.audio_uri).is_none() {
            return Err(SpeechError::Failed(format!(
                "Amazon Transcribe reads audio from S3, and the speech audio of asset {} is at \
                 {:?}, not an s3:// URI: run the audio service with the S3 object store when it \
                 uses Transcribe",
                request.asset_id, request.audio_uri
            )));
        }
        if request.duration_seconds > MAX_AUDIO_SECONDS {
            return Err(SpeechError::Failed(format!(
                "the audio of asset {} lasts {:.0} s, longer than the {:.0} s (4 hours) an Amazon \
                 Transcribe batch job takes",
                request.asset_id, request.duration_seconds, MAX_AUDIO_SECONDS
            )));
        }
        let languages = self.config.languages().map_err(SpeechError::Failed)?;
        let key = transcript_key(&request.output_prefix, name);
        let mut call = self
            .client
            .start_transcription_job()
            .transcription_job_name(name)
            .media(Media::builder().media_file_uri(&request.audio_uri).build())
            .media_format(MediaFormat::Wav)
            .output_bucket_name(&request.output_bucket)
            .output_key(&key)
            .subtitles(
                Subtitles::builder()
                    .formats(SubtitleFormat::Vtt)
                    .formats(SubtitleFormat::Srt)
                    .output_start_index(SUBTITLE_START_INDEX)
                    .build(),
            )
            .settings(Settings::builder().show_alternatives(false).build());
        call = match languages.as_slice() {
            [only] => call.language_code(only.clone()),
            [] => call.identify_language(true),
            several => call
                .identify_language(true)
                .set_language_options(Some(several.to_vec())),
        };
        match call.send().await {
            Ok(_) => {
                tracing::info!(
                    asset_id = %request.asset_id,
                    job_name = %name,
                    audio = %request.audio_uri,
                    output = %format!("s3://{}/{key}", request.output_bucket),
                    "started the Transcribe job"
                );
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conflict_exception()) =>
            {
                // The name is deterministic: this event (or an earlier delivery of it) already
                // started the job, whose completion event is on its way.
                tracing::info!(
                    asset_id = %request.asset_id,
                    job_name = %name,
                    "the Transcribe job exists already (a re-delivered event)"
                );
            }
            Err(err) => {
                let output = format!("s3://{}/{}", request.output_bucket, request.output_prefix);
                return Err(self.error(
                    "StartTranscriptionJob",
                    &err,
                    &JobContext {
                        name,
                        audio_uri: Some(&request.audio_uri),
                        output: Some(&output),
                    },
                ));
            }
        }
        Ok(Started::Pending {
            job_name: name.clone(),
        })
    }

    async fn finish(
        &self,
        job: &FinishedJob,
        objects: &dyn ObjectStore,
    ) -> Result<Transcript, SpeechError> {
        match job.status.as_str() {
            "COMPLETED" => self.completed(job, objects).await,
            "FAILED" => {
                let mut reason = job.failure_reason.clone().filter(|r| !r.trim().is_empty());
                if reason.is_none() {
                    match self.describe(&job.job_name).await {
                        Ok(described) => reason = described.failure_reason,
                        Err(error) => tracing::warn!(
                            job_name = %job.job_name,
                            %error,
                            "cannot read the failed Transcribe job's reason"
                        ),
                    }
                }
                Err(job_failure(&job.job_name, reason.as_deref()))
            }
            other => Err(SpeechError::Failed(format!(
                "the Transcribe job {} is {other:?}, neither COMPLETED nor FAILED: the audio \
                 service's rule should only pass finished jobs",
                job.job_name
            ))),
        }
    }
}

/// The job a call was about, for messages.
struct JobContext<'a> {
    name: &'a str,
    audio_uri: Option<&'a str>,
    /// `s3://bucket/prefix` the job writes under.
    output: Option<&'a str>,
}

/// What a failed call means for the handler (see the module's documentation).
fn classify(
    fault: &Fault,
    operation: &str,
    job: &JobContext<'_>,
    region: &str,
    attempts: u32,
) -> SpeechError {
    let message = &fault.message;
    let name = job.name;
    if fault.transient {
        return SpeechError::Unavailable(format!(
            "Amazon Transcribe {operation} for job {name} is throttled or unavailable after \
             {attempts} attempts with backoff ({message}); the event will be retried. If this \
             lasts, check the account's Transcribe quotas in {region} (concurrent batch \
             transcription jobs, StartTranscriptionJob requests per second) in Service Quotas."
        ));
    }
    let s3_access = match (job.audio_uri, job.output) {
        (Some(audio), Some(output)) => format!(
            " Transcribe reads and writes S3 with the caller's permissions: the role also \
             needs s3:GetObject on {audio} and s3:PutObject on {output}* (and kms:Decrypt and \
             kms:GenerateDataKey when the buckets use a customer-managed KMS key)."
        ),
        _ => String::new(),
    };
    match fault.code.as_deref() {
        Some("AccessDeniedException" | "AccessDenied") => SpeechError::Failed(format!(
            "Amazon Transcribe refused {operation} for job {name} ({message}). Allow the audio \
             function's role transcribe:{operation}.{s3_access}"
        )),
        Some("BadRequestException") => match (job.audio_uri, job.output) {
            (Some(audio), Some(output)) => SpeechError::Failed(format!(
                "Amazon Transcribe refused to start job {name} ({message}). Check that {audio} \
                 exists and is a WAV file, that it and {output} are in buckets of {region} (the \
                 region Transcribe runs in), and that the function's role may read the one and \
                 write the other (s3:GetObject, s3:PutObject)."
            )),
            _ => SpeechError::Failed(format!(
                "Amazon Transcribe refused {operation} for job {name}: {message}"
            )),
        },
        Some("NotFoundException") => SpeechError::Failed(format!(
            "Amazon Transcribe has no job {name} in {region} ({message}): it was deleted, or the \
             function runs in another region than the one that started it"
        )),
        Some(
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "MissingAuthenticationTokenException"
            | "InvalidClientTokenId",
        ) => SpeechError::Failed(format!(
            "Amazon Transcribe did not accept the function's credentials for {operation} \
             ({message}). Check the function's role and region ({region})."
        )),
        Some(_) => SpeechError::Failed(format!(
            "Amazon Transcribe {operation} failed for job {name}: {message}"
        )),
        None => SpeechError::Failed(format!(
            "could not make the Amazon Transcribe {operation} request for job {name} \
             ({message}). Check the function's AWS region and credentials."
        )),
    }
}

/// What a `FAILED` job's `FailureReason` means: [`SpeechError::UnsupportedLanguage`] when
/// the audio holds no speech, or none Transcribe could identify the language of (speech is
/// reported skipped); [`SpeechError::Failed`] with the reason and what to check otherwise.
///
/// Transcribe documents the media reasons (`Unsupported media format`, `The media format
/// provided does not match the detected media format`, `Invalid sample rate for audio file`,
/// `The sample rate provided does not match the detected sample rate`, `Invalid file size:
/// file size too large`, `Invalid number of channels: number of channels too large`) but not
/// the wording of language-identification failures, so those are recognised by what they
/// talk about: speech that is absent or insufficient, or a language that could not be
/// identified, detected or supported.
pub fn job_failure(job_name: &str, reason: Option<&str>) -> SpeechError {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return SpeechError::Failed(format!(
            "the Amazon Transcribe job {job_name} failed without a reason; see aws transcribe \
             get-transcription-job --transcription-job-name {job_name}"
        ));
    };
    let lower = reason.to_lowercase();
    let mentions = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let no_speech = mentions(&[
        "no speech",
        "not enough speech",
        "insufficient speech",
        "speech was not detected",
        "speech not detected",
        "no spoken",
        "does not contain speech",
        "doesn't contain speech",
        "does not contain any speech",
        "doesn't contain any speech",
        "contains no speech",
    ]);
    let language = lower.contains("language")
        && mentions(&[
            "identif",
            "detect",
            "determin",
            "unsupported",
            "not supported",
            "couldn't",
            "could not",
            "unable",
        ]);
    if no_speech || language {
        return SpeechError::UnsupportedLanguage(format!(
            "Amazon Transcribe found no speech it could identify the language of (job \
             {job_name}: {reason})"
        ));
    }
    let advice = if mentions(&["media format", "sample rate", "number of channels"]) {
        " The speech WAV ingest made is not what Transcribe expects (16-bit PCM, mono, 8 to 48 \
         kHz): check ingest's speech output for this asset."
    } else if mentions(&["file size", "too large", "too long", "duration"]) {
        " Transcribe batch jobs take at most 4 hours and 2 GB of audio."
    } else if mentions(&[
        "parse",
        "corrupt",
        "invalid",
        "unable to read",
        "cannot read",
    ]) {
        " Transcribe could not read the speech WAV: check ingest's speech output for this \
         asset."
    } else {
        ""
    };
    SpeechError::Failed(format!(
        "the Amazon Transcribe job {job_name} failed: {reason}.{advice} (Failure reasons: \
         {FAILURE_REASONS_DOC})"
    ))
}

/// Reading the transcript failed for another reason than its absence.
fn read_error(job_name: &str, bucket: &str, key: &str, error: &StoreError) -> SpeechError {
    if error.is_retryable() {
        return SpeechError::Unavailable(format!(
            "cannot read the transcript of Transcribe job {job_name} at s3://{bucket}/{key} \
             now: {error}"
        ));
    }
    match error {
        StoreError::Denied(_) => SpeechError::Failed(format!(
            "cannot read the transcript of Transcribe job {job_name} at s3://{bucket}/{key} \
             ({error}). Allow the audio function's role s3:GetObject on \
             arn:aws:s3:::{bucket}/{key}."
        )),
        _ => SpeechError::Failed(format!(
            "cannot read the transcript of Transcribe job {job_name} at s3://{bucket}/{key}: \
             {error}"
        )),
    }
}

/// The bucket and key of an object URI Transcribe reports: `s3://bucket/key`, or an HTTPS URL
/// in path style (`https://s3.<region>.amazonaws.com/<bucket>/<key>`) or virtual-hosted style
/// (`https://<bucket>.s3.<region>.amazonaws.com/<key>`); `None` for anything else.
pub fn s3_location(uri: &str) -> Option<(String, String)> {
    if let Some((bucket, key)) = split_s3_uri(uri) {
        return Some((bucket.to_owned(), key.to_owned()));
    }
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let rest = rest.split(['?', '#']).next()?;
    let (host, path) = rest.split_once('/')?;
    let host = host.split(':').next()?.to_ascii_lowercase();
    if !host.ends_with(".amazonaws.com") && !host.ends_with(".amazonaws.com.cn") {
        return None;
    }
    let path_style =
        host.starts_with("s3.") || host.starts_with("s3-") || host.starts_with("s3.dualstack.");
    let (bucket, key) = if path_style {
        let (bucket, key) = path.split_once('/')?;
        (percent_decode(bucket)?, percent_decode(key)?)
    } else {
        let at = host.find(".s3.").or_else(|| host.find(".s3-"))?;
        (host[..at].to_owned(), percent_decode(path)?)
    };
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The start of the warning a transcript without a language carries.
const NO_LANGUAGE_WARNING: &str = "Amazon Transcribe did not report the language";

/// Parses Amazon Transcribe's transcript JSON (`results.transcripts`, `results.items`, and
/// `results.audio_segments`, `results.language_code`, `results.language_identification` when
/// present) into a [`Transcript`] by `engine`.
///
/// - Words are the `pronunciation` items: the first alternative's content and confidence,
///   `start_time` and `end_time` (Transcribe writes numbers as strings; plain numbers are
///   read too). A `punctuation` item is appended to the word before it.
/// - Segments are `audio_segments` when Transcribe wrote them, otherwise the words split after
///   sentence-ending punctuation (`.`, `?`, `!` and their CJK forms).
/// - The text is `transcripts[0].transcript` (the words joined when it is missing).
/// - The language is `language_code` (or, for multi-language output, the language spoken
///   longest), its confidence that language's score in `language_identification`.
/// - `duration_seconds` is the end of the last word or segment: the transcript does not
///   carry the audio's length.
pub fn parse_transcript(json: &[u8], engine: &str) -> Result<Transcript, SpeechError> {
    let document: Value = serde_json::from_slice(json).map_err(|e| {
        SpeechError::Failed(format!(
            "the transcript is not Amazon Transcribe's JSON: {e}"
        ))
    })?;
    let results = document
        .get("results")
        .filter(|r| r.is_object())
        .ok_or_else(|| {
            SpeechError::Failed(
                "the transcript has no \"results\" object: it is not Amazon Transcribe's output"
                    .to_owned(),
            )
        })?;

    let mut words: Vec<Word> = Vec::new();
    // Indexes of the words a sentence ends with.
    let mut sentence_ends: Vec<usize> = Vec::new();
    for item in array(results, "items") {
        let alternative = item.get("alternatives").and_then(|a| a.get(0));
        let Some(content) = alternative
            .and_then(|a| a.get("content"))
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
        else {
            continue;
        };
        match item.get("type").and_then(Value::as_str) {
            Some("pronunciation") => {
                let (Some(start), Some(end)) = (
                    item.get("start_time").and_then(number),
                    item.get("end_time").and_then(number),
                ) else {
                    continue;
                };
                words.push(Word {
                    text: content.to_owned(),
                    start,
                    end: end.max(start),
                    confidence: alternative
                        .and_then(|a| a.get("confidence"))
                        .and_then(number)
                        .map(|c| c.clamp(0.0, 1.0)),
                });
            }
            Some("punctuation") => {
                if let Some(last) = words.last_mut() {
                    last.text.push_str(content);
                    if ends_sentence(content) && sentence_ends.last() != Some(&(words.len() - 1)) {
                        sentence_ends.push(words.len() - 1);
                    }
                }
            }
            _ => {}
        }
    }

    let transcripts: Vec<&str> = array(results, "transcripts")
        .filter_map(|t| t.get("transcript").and_then(Value::as_str))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let text = if transcripts.is_empty() {
        join(&words)
    } else {
        transcripts.join(" ")
    };

    let mut segments: Vec<Segment> = array(results, "audio_segments")
        .filter_map(|segment| {
            let start = segment.get("start_time").and_then(number)?;
            let end = segment.get("end_time").and_then(number)?;
            let text = segment.get("transcript").and_then(Value::as_str)?.trim();
            (!text.is_empty()).then(|| Segment {
                start,
                end: end.max(start),
                text: text.to_owned(),
            })
        })
        .collect();
    if segments.is_empty() {
        segments = sentences(&words, &sentence_ends);
    }

    let language = results
        .get("language_code")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            array(results, "language_codes")
                .filter_map(|l| {
                    Some((
                        l.get("language_code")?.as_str()?,
                        l.get("duration_in_seconds").and_then(number).unwrap_or(0.0),
                    ))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(code, _)| code.to_owned())
        });
    let language_confidence = language.as_deref().and_then(|code| {
        array(results, "language_identification")
            .find(|l| l.get("code").and_then(Value::as_str) == Some(code))
            .and_then(|l| l.get("score"))
            .and_then(number)
            .map(|s| s.clamp(0.0, 1.0))
    });

    let duration_seconds = words
        .iter()
        .map(|w| w.end)
        .chain(segments.iter().map(|s| s.end))
        .fold(0.0, f64::max);
    let mut warnings = Vec::new();
    if words.is_empty() {
        warnings.push("Amazon Transcribe recognised no words in this audio".to_owned());
    }
    if language.is_none() {
        warnings.push(format!("{NO_LANGUAGE_WARNING} of the speech"));
    }
    Ok(Transcript {
        engine: engine.to_owned(),
        language,
        language_confidence,
        duration_seconds,
        text,
        segments,
        words,
        warnings,
    })
}

/// The elements of the array `field` of `value` (none when absent).
fn array<'a>(value: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> + 'a {
    value
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A number Transcribe wrote as a string (`"1.09"`) or as a number.
fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn ends_sentence(punctuation: &str) -> bool {
    punctuation
        .chars()
        .last()
        .is_some_and(|c| matches!(c, '.' | '?' | '!' | '…' | '。' | '？' | '！'))
}

fn join(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words as sentences, each ending after one of `ends` (and the rest as a last one).
fn sentences(words: &[Word], ends: &[usize]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut first = 0;
    let tail = words.len().saturating_sub(1);
    for &last in ends.iter().chain(std::iter::once(&tail)) {
        if last < first || last >= words.len() {
            continue;
        }
        let sentence = &words[first..=last];
        segments.push(Segment {
            start: sentence[0].start,
            end: sentence[sentence.len() - 1].end,
            text: join(sentence),
        });
        first = last + 1;
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: Option<&str>, transient: bool) -> Fault {
        Fault {
            code: code.map(str::to_owned),
            status: Some(400),
            transient,
            message: format!(
                "StartTranscriptionJob: service error: {}",
                code.unwrap_or("?")
            ),
        }
    }

    const JOB: JobContext<'static> = JobContext {
        name: "mediasift-job",
        audio_uri: Some("s3://derived/a/proxy/speech.wav"),
        output: Some("s3://derived/a/audio/transcribe/"),
    };

    #[test]
    fn faults_map_to_retry_or_a_cause_to_act_on() {
        let throttled = classify(
            &fault(Some("LimitExceededException"), true),
            "StartTranscriptionJob",
            &JOB,
            "eu-west-1",
            5,
        );
        assert!(
            matches!(&throttled, SpeechError::Unavailable(m) if m.contains("5 attempts")),
            "{throttled:?}"
        );
        let denied = classify(
            &fault(Some("AccessDeniedException"), false),
            "StartTranscriptionJob",
            &JOB,
            "eu-west-1",
            5,
        );
        assert!(
            matches!(&denied, SpeechError::Failed(m)
                if m.contains("transcribe:StartTranscriptionJob")
                    && m.contains("s3:PutObject on s3://derived/a/audio/transcribe/*")),
            "{denied:?}"
        );
        let refused = classify(
            &fault(Some("BadRequestException"), false),
            "StartTranscriptionJob",
            &JOB,
            "eu-west-1",
            5,
        );
        assert!(
            matches!(&refused, SpeechError::Failed(m)
                if m.contains("s3://derived/a/proxy/speech.wav") && m.contains("eu-west-1")),
            "{refused:?}"
        );
        let unbuilt = classify(&fault(None, false), "GetTranscriptionJob", &JOB, "x", 5);
        assert!(
            matches!(&unbuilt, SpeechError::Failed(m) if m.contains("credentials")),
            "{unbuilt:?}"
        );
    }

    #[test]
    fn failure_reasons_about_speech_or_language_are_skips() {
        for reason in [
            "Language identification failed. Ensure the media contains speech in a supported \
             language.",
            "Amazon Transcribe could not identify the language spoken in the media file.",
            "The media file contains no speech.",
            "Insufficient speech detected for language identification.",
        ] {
            let err = job_failure("j", Some(reason));
            assert!(
                matches!(&err, SpeechError::UnsupportedLanguage(m) if m.contains(reason)),
                "{reason}: {err:?}"
            );
        }
        for (reason, advice) in [
            ("Unsupported media format", "16-bit PCM"),
            ("Invalid sample rate for audio file", "16-bit PCM"),
            ("Invalid file size: file size too large", "4 hours"),
            ("Failed to parse audio file.", "could not read"),
            ("Something new", "Failure reasons"),
        ] {
            let err = job_failure("j", Some(reason));
            assert!(
                matches!(&err, SpeechError::Failed(m) if m.contains(reason) && m.contains(advice)),
                "{reason}: {err:?}"
            );
        }
        assert!(matches!(
            job_failure("j", None),
            SpeechError::Failed(m) if m.contains("get-transcription-job --transcription-job-name j")
        ));
    }

    #[test]
    fn transcript_uris_become_bucket_and_key() {
        let expected = Some(("derived".to_owned(), "a b/x.json".to_owned()));
        for uri in [
            "s3://derived/a b/x.json",
            "https://s3.us-east-1.amazonaws.com/derived/a%20b/x.json",
            "https://s3-eu-west-1.amazonaws.com/derived/a%20b/x.json?X-Amz-Date=1",
            "https://derived.s3.eu-west-1.amazonaws.com/a%20b/x.json",
        ] {
            assert_eq!(s3_location(uri), expected, "{uri}");
        }
        for bad in [
            "https://example.com/derived/x.json",
            "https://s3.us-east-1.amazonaws.com/derived",
            "file:///tmp/x.json",
        ] {
            assert_eq!(s3_location(bad), None, "{bad}");
        }
    }

    #[test]
    fn language_options_are_checked_against_transcribe() {
        let config = TranscribeConfig {
            language_options: vec!["en-us".into(), " fr-FR ".into(), "en-US".into()],
            ..TranscribeConfig::default()
        };
        assert_eq!(
            config.languages().unwrap(),
            vec![LanguageCode::EnUs, LanguageCode::FrFr]
        );
        let bad = TranscribeConfig {
            language_options: vec!["english".into()],
            ..TranscribeConfig::default()
        };
        assert!(bad.languages().unwrap_err().contains("\"english\""));
    }

    #[test]
    fn output_keys_follow_the_job_name() {
        let prefix = "0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10/audio/transcribe/";
        assert_eq!(
            transcript_key(prefix, "mediasift-x"),
            format!("{prefix}mediasift-x.json")
        );
        assert_eq!(
            subtitle_key(prefix, "mediasift-x", "srt"),
            format!("{prefix}mediasift-x.srt")
        );
    }
}
