//! The audio handler: `Audio Ingested` / `Video Ingested` → per-track loudness and silences
//! on the source → speech to text on ingest's speech WAV → captions → language per 1-minute
//! window → `Audio Analysis Completed`.
//!
//! A speech backend that works in a job (Amazon Transcribe) splits the work in two: the
//! ingested event records what is done so far under the job's name in the state store and
//! starts the job; the job's `Transcribe Job State Change` event continues from that record.
//! Both paths end in the same completion step, and the completion event's id derives from
//! the ingested event's in both, so re-deliveries give the same event.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use mediasift_kit::AssetWork;
use mediasift_kit::handler::{caused_by, decode};
use mediasift_kit::ports::Condition;
use mediasift_kit::{Failure, Handler, HandlerError, Ports, Subscriptions};
use mediasift_media::captions::{self, CaptionRules};
use mediasift_media::loudness::{self, LoudnessError, LoudnessOptions};
use mediasift_schemas::{
    AnalysisKind, AnalysisPlan, AudioAnalysisCompleted, AudioAnalysisSummary, AudioIngested,
    EventDetail, MediaType, RawEvent, ResultRef, SkippedFeature, TranscribeJobStateChange,
    VideoIngested, sources,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::SERVICE;
use crate::chapters::{ChaptersBackend, ChaptersError};
use crate::language::{LanguageBackend, LanguageError};
use crate::speech::{FinishedJob, SpeechBackend, SpeechError, SpeechRequest, Started, Transcript};
use crate::windows::{self, LanguageResults};

const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");
const TURNED_OFF: &str = "turned off in options";
/// The state table holding the work done before a speech job, by job name.
pub const SPEECH_JOBS_TABLE: &str = "audio-speech-jobs";
/// How long a speech job's record is kept: Transcribe jobs finish within hours.
const SPEECH_JOB_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
/// Language analysis windows, in seconds of speech.
pub const LANGUAGE_WINDOW_SECONDS: f64 = 60.0;

#[derive(Debug, Clone)]
pub struct AudioConfig {
    /// Where the source and the speech WAV are copied for the tools.
    pub scratch_dir: PathBuf,
    pub loudness: LoudnessOptions,
    pub captions: CaptionRules,
    /// The reason chapters are skipped (no generative backend in this build).
    pub chapters_skip_reason: String,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            scratch_dir: std::env::temp_dir(),
            loudness: LoudnessOptions::default(),
            captions: CaptionRules::default(),
            chapters_skip_reason: "no local backend".into(),
        }
    }
}

/// The backends of the audio service's ports; a missing one is reported skipped, with
/// [`AudioConfig::chapters_skip_reason`] for chapters and "no local backend" for the others.
#[derive(Clone, Default)]
pub struct Backends {
    pub speech: Option<Arc<dyn SpeechBackend>>,
    pub language: Option<Arc<dyn LanguageBackend>>,
    pub chapters: Option<Arc<dyn ChaptersBackend>>,
}

/// The audio service.
pub struct Audio {
    config: AudioConfig,
    backends: Backends,
}

impl Audio {
    pub fn new(config: AudioConfig, backends: Backends) -> Self {
        Self { config, backends }
    }

    /// Audio with the offline backends: whisper tiny.en (or pocketsphinx) through the Python
    /// helper, and YAKE + VADER + capitalised-phrase entities; no chapters.
    pub fn local(config: AudioConfig) -> Self {
        Self::new(
            config,
            Backends {
                speech: Some(Arc::new(crate::speech::LocalSpeech::new(
                    crate::speech::Engine::Auto,
                ))),
                language: Some(Arc::new(crate::language::LocalLanguage::new())),
                chapters: None,
            },
        )
    }
}

/// `<assetId>/audio/<name>`: where the audio service writes `name` in the derived bucket.
pub fn result_key(asset_id: Uuid, name: &str) -> String {
    format!("{asset_id}/audio/{name}")
}

/// The speech job of one ingested event: `mediasift-<assetId>-<8 hex of the event id>`. A
/// re-delivered event names the same job; a new ingest of the same asset (a new event) a new
/// one, since Transcribe keeps finished jobs' names.
pub fn speech_job_name(asset_id: Uuid, ingested_event_id: &str) -> String {
    let tag = Uuid::new_v5(&Uuid::NAMESPACE_OID, ingested_event_id.as_bytes()).simple();
    format!("mediasift-{asset_id}-{}", &tag.to_string()[..8])
}

#[async_trait]
impl Handler for Audio {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn subscriptions(&self) -> Subscriptions {
        crate::subscriptions()
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        match (event.source.as_str(), event.detail_type.as_str()) {
            (sources::INGEST, AudioIngested::DETAIL_TYPE | VideoIngested::DETAIL_TYPE) => {
                self.ingested(event, ports).await
            }
            (sources::TRANSCRIBE, TranscribeJobStateChange::DETAIL_TYPE) => {
                self.job_finished(event, ports).await
            }
            (source, detail_type) => {
                tracing::debug!(source, detail_type, "not an event audio handles");
                Ok(Vec::new())
            }
        }
    }
}

/// What the handler needs of either ingested event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IngestedAudio {
    asset_id: Uuid,
    media_type: MediaType,
    plan: AnalysisPlan,
    duration_seconds: f64,
    /// `s3://` URI of the source (every track, for loudness).
    source_uri: String,
    /// `s3://` URI of ingest's 16 kHz mono speech WAV; absent without audio.
    speech_audio: Option<String>,
    audio_tracks: usize,
    /// The first language tag a track declares.
    language_hint: Option<String>,
}

impl IngestedAudio {
    fn read(event: &RawEvent) -> Result<Self, HandlerError> {
        if event.detail_type == VideoIngested::DETAIL_TYPE {
            let detail = decode::<VideoIngested>(event)?.detail;
            Ok(Self {
                asset_id: detail.asset_id,
                media_type: MediaType::Video,
                plan: detail.plan,
                duration_seconds: detail.technical.duration_seconds,
                source_uri: detail.source.uri,
                speech_audio: detail.outputs.speech_audio,
                audio_tracks: detail.technical.audio_tracks.len(),
                language_hint: detail
                    .technical
                    .audio_tracks
                    .iter()
                    .find_map(|t| t.language.clone()),
            })
        } else {
            let detail = decode::<AudioIngested>(event)?.detail;
            Ok(Self {
                asset_id: detail.asset_id,
                media_type: MediaType::Audio,
                plan: detail.plan,
                duration_seconds: detail.technical.duration_seconds,
                source_uri: detail.source.uri,
                speech_audio: Some(detail.outputs.speech_audio),
                audio_tracks: detail.technical.audio_tracks.len(),
                language_hint: detail
                    .technical
                    .audio_tracks
                    .iter()
                    .find_map(|t| t.language.clone()),
            })
        }
    }
}

/// The work done before speech: kept in the state store while a speech job runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Progress {
    /// The ingested event (the completion's cause and id source).
    ingested: RawEvent,
    asset: IngestedAudio,
    duration_seconds: f64,
    integrated_loudness: Vec<Option<f64>>,
    loudness_map: Vec<u8>,
    results: Vec<ResultRef>,
    skipped: Vec<SkippedFeature>,
}

/// One asset being analysed: its results go under `<assetId>/audio/`.
type Asset<'a> = AssetWork<'a>;

fn asset<'a>(ports: &'a Ports, cause: &'a RawEvent, id: Uuid) -> Asset<'a> {
    AssetWork::new(
        ports,
        cause,
        id,
        SERVICE,
        sources::AUDIO,
        AnalysisKind::Audio,
    )
}

impl Audio {
    async fn ingested(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let info = IngestedAudio::read(event)?;
        let asset = asset(ports, event, info.asset_id);
        tracing::info!(asset_id = %asset.id, source = info.source_uri, "analysing audio");
        let scratch = self.scratch()?;
        let mut results = Vec::new();
        let mut skipped = Vec::new();

        // 1. Loudness of every track of the source.
        let report = if info.audio_tracks == 0 && info.media_type == MediaType::Video {
            None
        } else {
            let source = scratch.path().join("source");
            asset.download("source", &info.source_uri, &source).await?;
            let measured = loudness::analyse_file(&source, &self.config.loudness).await;
            let _ = std::fs::remove_file(&source);
            match measured {
                Ok(report) => Some(report),
                Err(LoudnessError::NoAudio { .. }) if info.media_type == MediaType::Video => None,
                Err(error) => {
                    return Err(loudness_failure(&asset, &info.source_uri, &source, error));
                }
            }
        };
        let (integrated_loudness, loudness_map) = match &report {
            Some(report) => {
                results.push(ResultRef {
                    name: "loudness".into(),
                    uri: asset.put_json("loudness.json", report).await?,
                    engine: Some("ebur128".into()),
                });
                results.push(ResultRef {
                    name: "silences".into(),
                    uri: asset
                        .put_json("silences.json", &windows::silences(report))
                        .await?,
                    engine: Some("ebur128".into()),
                });
                (
                    report
                        .tracks
                        .iter()
                        .map(|t| t.loudness.integrated_lufs.filter(|_| !t.loudness.silent))
                        .collect(),
                    report.map.clone(),
                )
            }
            None => {
                skipped.push(SkippedFeature::new(
                    "loudness",
                    "the video has no audio track",
                ));
                (Vec::new(), Vec::new())
            }
        };
        let duration_seconds = if info.duration_seconds > 0.0 {
            info.duration_seconds
        } else {
            report
                .as_ref()
                .and_then(|r| r.tracks.first())
                .map(|t| t.loudness.duration_seconds)
                .unwrap_or(0.0)
        };
        let mut progress = Progress {
            ingested: event.clone(),
            asset: info.clone(),
            duration_seconds,
            integrated_loudness,
            loudness_map,
            results,
            skipped,
        };

        // 2. Speech, when there is any to hear.
        let no_speech = if !info.plan.options.transcribe {
            Some(TURNED_OFF.to_owned())
        } else if report.is_none() {
            Some("the asset has no audio track".to_owned())
        } else if info.speech_audio.is_none() {
            Some("ingest made no speech audio for this asset".to_owned())
        } else if !progress.loudness_map.contains(&1) {
            Some("every audio track is silent".to_owned())
        } else if self.backends.speech.is_none() {
            Some("no local backend".to_owned())
        } else {
            None
        };
        if let Some(reason) = no_speech {
            for feature in ["transcript", "captions"] {
                progress.skipped.push(SkippedFeature::new(feature, &reason));
            }
            return self.complete(progress, None, ports).await;
        }
        let speech = self.backends.speech.clone().expect("checked above");
        let speech_uri = info.speech_audio.clone().expect("checked above");
        let job_name = speech_job_name(asset.id, &event.id);
        let (output_bucket, output_prefix) = transcribe_output(ports, asset.id);
        let mut request = SpeechRequest {
            asset_id: asset.id,
            job_name: job_name.clone(),
            audio_uri: speech_uri.clone(),
            audio_path: None,
            duration_seconds,
            language_hint: info.plan.options.language.clone().or(info.language_hint),
            output_bucket,
            output_prefix,
        };
        if speech.needs_local_audio() {
            let wav = scratch.path().join("speech.wav");
            asset.download("speech audio", &speech_uri, &wav).await?;
            request.audio_path = Some(wav);
        } else {
            // Recorded before the job starts, so its completion always finds it.
            let value = match serde_json::to_value(&progress) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            };
            ports
                .state
                .put(
                    SPEECH_JOBS_TABLE,
                    &job_name,
                    value,
                    Condition::Always,
                    Some(SPEECH_JOB_TTL),
                )
                .await
                .map_err(|e| asset.state_error(e))?;
        }
        match speech.start(&request).await {
            Ok(Started::Done(transcript)) => self.complete(progress, Some(transcript), ports).await,
            Ok(Started::Pending { job_name }) => {
                tracing::info!(asset_id = %asset.id, job_name, "speech job running");
                Ok(Vec::new())
            }
            Err(SpeechError::NoEngine(reason) | SpeechError::UnsupportedLanguage(reason)) => {
                for feature in ["transcript", "captions"] {
                    progress.skipped.push(SkippedFeature::new(feature, &reason));
                }
                self.complete(progress, None, ports).await
            }
            Err(error) => Err(speech_failure(&asset, &speech.engine(), error)),
        }
    }

    /// A Transcribe job finished: continue from the work recorded when it started.
    async fn job_finished(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let change = decode::<TranscribeJobStateChange>(event)?.detail;
        let job_name = change.transcription_job_name;
        let record = ports
            .state
            .get(SPEECH_JOBS_TABLE, &job_name)
            .await
            .map_err(|e| HandlerError::retryable(e.to_string()))?;
        let Some(record) = record else {
            // Another deployment's job in the same account, or a record past its expiry.
            tracing::warn!(
                job_name,
                "no record of this speech job; ignoring its completion"
            );
            return Ok(Vec::new());
        };
        let mut progress: Progress =
            serde_json::from_value(Value::Object(record.value)).map_err(|e| {
                HandlerError::permanent(Failure::new(
                    "CorruptState",
                    format!("the record of speech job {job_name} cannot be read: {e}"),
                    "Upload the source again to analyse it afresh.",
                ))
            })?;
        let asset = asset(ports, event, progress.asset.asset_id);
        let Some(speech) = self.backends.speech.clone() else {
            return Err(asset.fail(
                "NoSpeechBackend",
                format!("speech job {job_name} finished, but this function has no speech backend"),
                "Deploy the audio function with its Transcribe backend.",
            ));
        };
        let (output_bucket, output_prefix) = transcribe_output(ports, asset.id);
        let job = FinishedJob {
            job_name: job_name.clone(),
            status: change.transcription_job_status,
            failure_reason: change.failure_reason,
            output_bucket,
            output_prefix,
        };
        let transcript = match speech.finish(&job, ports.objects.as_ref()).await {
            Ok(transcript) => Some(transcript),
            Err(SpeechError::NoEngine(reason) | SpeechError::UnsupportedLanguage(reason)) => {
                for feature in ["transcript", "captions"] {
                    progress.skipped.push(SkippedFeature::new(feature, &reason));
                }
                None
            }
            Err(error) => return Err(speech_failure(&asset, &speech.engine(), error)),
        };
        // The record stays until it expires: if publishing the completion fails, the
        // re-delivered job event needs it again.
        self.complete(progress, transcript, ports).await
    }

    /// Transcript, captions and language results, then the completion event.
    async fn complete(
        &self,
        mut progress: Progress,
        transcript: Option<Transcript>,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let info = &progress.asset;
        let asset = asset(ports, &progress.ingested, info.asset_id);
        let plan = &info.plan;
        let mut words = 0;
        let mut speech_engine = None;
        let mut language = plan.options.language.clone();
        if let Some(transcript) = &transcript {
            words = transcript.words.len() as u32;
            speech_engine = Some(transcript.engine.clone());
            language = transcript.language.clone().or(language);
            progress.results.push(ResultRef {
                name: "transcript".into(),
                uri: asset.put_json("transcript.json", transcript).await?,
                engine: Some(transcript.engine.clone()),
            });
            progress.results.push(ResultRef {
                name: "transcript.txt".into(),
                uri: asset
                    .put(
                        "transcript.txt",
                        format!("{}\n", transcript.text.trim()).into_bytes(),
                        "text/plain; charset=utf-8",
                    )
                    .await?,
                engine: Some(transcript.engine.clone()),
            });
            let cues = captions::build_cues(&transcript.timed_words(), &self.config.captions);
            progress.results.push(ResultRef {
                name: "captions.vtt".into(),
                uri: asset
                    .put(
                        "captions.vtt",
                        captions::to_webvtt(&cues).into_bytes(),
                        "text/vtt",
                    )
                    .await?,
                engine: None,
            });
            progress.results.push(ResultRef {
                name: "captions.srt".into(),
                uri: asset
                    .put(
                        "captions.srt",
                        captions::to_srt(&cues).into_bytes(),
                        "application/x-subrip",
                    )
                    .await?,
                engine: None,
            });
        }

        // Language, per 1-minute window and for the whole asset.
        let language_skip = if !plan.options.language_analysis {
            Some(TURNED_OFF.to_owned())
        } else if words == 0 {
            Some(match &transcript {
                Some(_) => "no speech was recognised".to_owned(),
                None => "no transcript".to_owned(),
            })
        } else if self.backends.language.is_none() {
            Some("no local backend".to_owned())
        } else if language.is_none() {
            Some(
                "the speech's language could not be identified; set the language option to \
                 analyse it"
                    .to_owned(),
            )
        } else {
            None
        };
        match (
            language_skip,
            &self.backends.language,
            &transcript,
            &language,
        ) {
            (None, Some(backend), Some(transcript), Some(language)) => {
                let windows = windows::language_windows(transcript, LANGUAGE_WINDOW_SECONDS);
                let documents: Vec<String> = windows.iter().map(|w| w.text.clone()).collect();
                match backend.analyse(&documents, language).await {
                    Ok(found) => {
                        let results =
                            LanguageResults::build(&backend.engine(), language, &windows, found);
                        for (name, value) in results.documents() {
                            progress.results.push(ResultRef {
                                name: name.into(),
                                uri: asset.put_json(&format!("{name}.json"), &value).await?,
                                engine: Some(backend.engine()),
                            });
                        }
                    }
                    Err(LanguageError::UnsupportedLanguage(reason)) => {
                        for feature in windows::LANGUAGE_FEATURES {
                            progress.skipped.push(SkippedFeature::new(feature, &reason));
                        }
                    }
                    Err(LanguageError::Unavailable(message)) => {
                        return Err(HandlerError::retryable(format!(
                            "{}: {message}",
                            backend.engine()
                        )));
                    }
                    Err(LanguageError::Failed(message)) => {
                        return Err(asset.fail(
                            "LanguageFailed",
                            format!("{}: {message}", backend.engine()),
                            "Check the language backend's permissions and limits; then retry \
                             the event from the dead-letter queue.",
                        ));
                    }
                }
            }
            (reason, ..) => {
                let reason = reason.unwrap_or_else(|| "no transcript".into());
                for feature in windows::LANGUAGE_FEATURES {
                    progress.skipped.push(SkippedFeature::new(feature, &reason));
                }
            }
        }
        // Chapters, from a generative backend.
        let chapters_skip = if !plan.options.generative {
            Some(TURNED_OFF.to_owned())
        } else if words == 0 {
            Some("no speech was recognised".to_owned())
        } else if self.backends.chapters.is_none() {
            Some(self.config.chapters_skip_reason.clone())
        } else {
            None
        };
        match (chapters_skip, &self.backends.chapters, &transcript) {
            (None, Some(backend), Some(transcript)) => {
                match backend.chapters(transcript).await {
                    Ok(chapters) => progress.results.push(ResultRef {
                        name: "chapters".into(),
                        uri: asset
                            .put_json(
                                "chapters.json",
                                &serde_json::json!({
                                    "engine": backend.engine(),
                                    "chapters": chapters,
                                }),
                            )
                            .await?,
                        engine: Some(backend.engine()),
                    }),
                    Err(ChaptersError::Unavailable(message)) => {
                        return Err(HandlerError::retryable(format!(
                            "{}: {message}",
                            backend.engine()
                        )));
                    }
                    // The rest of the analysis stands; the reason says what to fix.
                    Err(error @ (ChaptersError::Unusable(_) | ChaptersError::Failed(_))) => {
                        tracing::warn!(asset_id = %asset.id, %error, "no chapters");
                        progress
                            .skipped
                            .push(SkippedFeature::new("chapters", error.to_string()));
                    }
                }
            }
            (reason, ..) => {
                let reason = reason.unwrap_or_else(|| "no transcript".into());
                progress
                    .skipped
                    .push(SkippedFeature::new("chapters", &reason));
            }
        }

        let summary = AudioAnalysisSummary {
            duration_seconds: progress.duration_seconds,
            integrated_loudness: progress.integrated_loudness.clone(),
            loudness_map: progress.loudness_map.clone(),
            language: if words > 0 { language } else { None },
            words,
            speech_engine,
        };
        tracing::info!(asset_id = %asset.id, ?summary, "audio analysed");
        let cause = &progress.ingested;
        let detail = AudioAnalysisCompleted {
            asset_id: asset.id,
            schema_version: AudioAnalysisCompleted::SCHEMA_VERSION.into(),
            metadata: caused_by(cause, SERVICE, PRODUCER_VERSION),
            media_type: info.media_type,
            plan: info.plan.clone(),
            summary,
            results: progress.results,
            skipped: progress.skipped,
        };
        Ok(vec![asset.emit(detail)])
    }

    fn scratch(&self) -> Result<tempfile::TempDir, HandlerError> {
        mediasift_kit::work::scratch_dir(&self.config.scratch_dir, "audio-")
    }
}

/// Where a speech job writes: `<derived>/<assetId>/audio/transcribe/`.
fn transcribe_output(ports: &Ports, asset_id: Uuid) -> (String, String) {
    (
        ports.derived_bucket.clone(),
        result_key(asset_id, "transcribe/"),
    )
}

/// What to do when a tool cannot read the asset.
const CHECK_THE_FILE: &str = "Check the file plays; upload it again if it is damaged.";

fn loudness_failure(
    asset: &Asset<'_>,
    uri: &str,
    local: &Path,
    error: LoudnessError,
) -> HandlerError {
    if error.is_retryable() {
        return HandlerError::retryable(format!("loudness of {uri}: {error}"));
    }
    match &error {
        LoudnessError::Tool(tool) => {
            asset.tool_failure(&format!("loudness of {uri}"), tool, CHECK_THE_FILE)
        }
        LoudnessError::NoAudio { .. } => asset.fail(
            "NoAudio",
            format!("{uri} has no audio stream: there is no audio to analyse"),
            "Upload a file with audio; check the export settings of the tool that made it.",
        ),
        _ => asset.fail(
            "CorruptAudio",
            // Causes name the source, not the scratch copy the tools read.
            error.to_string().replace(&local.display().to_string(), uri),
            "Check the file plays; upload it again if it is damaged or truncated.",
        ),
    }
}

fn speech_failure(asset: &Asset<'_>, engine: &str, error: SpeechError) -> HandlerError {
    match error {
        SpeechError::Unavailable(message) => {
            HandlerError::retryable(format!("{engine}: {message}"))
        }
        SpeechError::Tool(tool) => asset.tool_failure(engine, &tool, CHECK_THE_FILE),
        other => asset.fail(
            "SpeechFailed",
            format!("{engine}: {other}"),
            "Check the speech audio plays and the speech backend's installation and permissions; \
             then retry the event from the dead-letter queue.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_valid_transcribe_names_and_follow_the_ingested_event() {
        let asset = Uuid::parse_str("0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10").unwrap();
        let name = speech_job_name(asset, "event-1");
        assert!(name.starts_with("mediasift-0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10-"));
        assert_eq!(name.len(), "mediasift-".len() + 36 + 1 + 8);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        );
        assert_eq!(name, speech_job_name(asset, "event-1"));
        assert_ne!(name, speech_job_name(asset, "event-2"));
    }
}
