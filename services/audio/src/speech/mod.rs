//! The speech port: audio in, words with timings out.
//!
//! A backend either transcribes at once (the local engines) or starts a job whose completion
//! arrives later as an event (Amazon Transcribe's `Transcribe Job State Change`); the handler
//! continues from that event with [`SpeechBackend::finish`].

use std::path::PathBuf;

use async_trait::async_trait;
use mediasift_kit::ports::{ObjectStore, Retryable};
use mediasift_media::captions::TimedWord;
use mediasift_media::process::ToolError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "aws")]
pub mod transcribe;
#[cfg(feature = "aws")]
pub use transcribe::{TranscribeConfig, TranscribeSpeech};
pub mod local;
pub use local::{Engine, LocalSpeech};

/// One recognised word (punctuation attached to the word it follows, as spoken text reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Word {
    pub text: String,
    /// Seconds from the start of the audio.
    pub start: f64,
    pub end: f64,
    /// 0–1, when the engine gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// A stretch of speech the engine decoded as one unit (a sentence or a phrase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// What a speech engine heard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transcript {
    /// The engine that produced it, e.g. `whisper tiny.en`, `pocketsphinx 5`,
    /// `amazon-transcribe`.
    pub engine: String,
    /// The language of the speech (BCP-47), identified or assumed; `None` when the engine
    /// could not tell (see `warnings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// How sure the engine is of `language`, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_confidence: Option<f64>,
    /// Seconds of audio transcribed.
    pub duration_seconds: f64,
    /// The whole text, as the engine punctuated it.
    pub text: String,
    pub segments: Vec<Segment>,
    pub words: Vec<Word>,
    /// Things a person reading the transcript should know (e.g. "the speech does not look
    /// like English; whisper tiny.en transcribes English only").
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl Transcript {
    /// The words as the caption builder takes them.
    pub fn timed_words(&self) -> Vec<TimedWord> {
        self.words
            .iter()
            .map(|w| TimedWord {
                text: w.text.clone(),
                start: w.start,
                end: w.end,
            })
            .collect()
    }
}

/// The audio to transcribe.
#[derive(Debug, Clone)]
pub struct SpeechRequest {
    pub asset_id: Uuid,
    /// Deterministic job name, `mediasift-<assetId>-<track>` (at most 200 characters): a
    /// re-delivered event finds the job it already started.
    pub job_name: String,
    /// `s3://` URI of the 16 kHz mono WAV ingest made for speech.
    pub audio_uri: String,
    /// A local copy of the same WAV, when [`SpeechBackend::needs_local_audio`] says so.
    pub audio_path: Option<PathBuf>,
    /// Seconds of audio (from ingest's probe), to bound the engine's run time.
    pub duration_seconds: f64,
    /// The language the source's metadata declares (BCP-47 or ISO 639-2), if any; engines
    /// that identify the language themselves may ignore it.
    pub language_hint: Option<String>,
    /// Where a job-based backend writes its outputs: the derived bucket, and a key prefix
    /// under the asset (`<assetId>/audio/transcribe/`).
    pub output_bucket: String,
    pub output_prefix: String,
}

/// What [`SpeechBackend::start`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// Transcribed already.
    Done(Transcript),
    /// A job is running (or was already running: a re-delivery); its completion event
    /// continues the work.
    Pending { job_name: String },
}

/// A job's completion, from the `Transcribe Job State Change` event.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedJob {
    pub job_name: String,
    /// `COMPLETED` or `FAILED`.
    pub status: String,
    pub failure_reason: Option<String>,
    /// Where the job was told to write (the same as its request's).
    pub output_bucket: String,
    pub output_prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// No engine can run here (not installed, or the model is missing): the feature is
    /// reported skipped with this reason, the asset is not failed.
    #[error("{0}")]
    NoEngine(String),
    /// The engine cannot handle this language: skipped with this reason.
    #[error("{0}")]
    UnsupportedLanguage(String),
    /// Throttling, a timeout, a service hiccup: retry the event.
    #[error("speech engine unavailable: {0}")]
    Unavailable(String),
    /// The engine's process failed (a crash, a timeout, unreadable output).
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// The job failed, or the audio cannot be transcribed; the cause says why.
    #[error("{0}")]
    Failed(String),
}

impl Retryable for SpeechError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

#[async_trait]
pub trait SpeechBackend: Send + Sync {
    /// The engine's name as results report it (e.g. `whisper tiny.en`).
    fn engine(&self) -> String;
    /// Whether [`SpeechRequest::audio_path`] must be filled (local engines read a file; a
    /// cloud job reads the S3 URI).
    fn needs_local_audio(&self) -> bool;
    /// Transcribes, or starts a job. Starting a job that already exists under the same name
    /// is not an error: it returns [`Started::Pending`].
    async fn start(&self, request: &SpeechRequest) -> Result<Started, SpeechError>;
    /// The transcript of a finished job (job-based backends; local engines never start one).
    async fn finish(
        &self,
        job: &FinishedJob,
        objects: &dyn ObjectStore,
    ) -> Result<Transcript, SpeechError>;
}
