//! `transcribe FILE`: speech to text of one audio or video file with the local engine, without
//! the bus: plain text, the transcript's JSON, or captions.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use mediasift_audio::speech::{Engine, LocalSpeech, SpeechBackend, SpeechRequest, Started};
use mediasift_media::captions::{self, CaptionRules};
use mediasift_media::probe;
use uuid::Uuid;

/// What `transcribe` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    WebVtt,
    Srt,
}

pub async fn transcribe(file: &Path, format: Format, engine: Engine) -> anyhow::Result<ExitCode> {
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    let probed = probe::probe(file)
        .await
        .with_context(|| format!("cannot read {} as media", file.display()))?;
    if probed.summary.audio_tracks.is_empty() {
        bail!(
            "{} has no audio stream: there is no speech to transcribe",
            file.display()
        );
    }
    let duration = probed.summary.duration_seconds.unwrap_or(0.0);
    let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
    let wav = scratch.path().join("speech.wav");
    // The same 16 kHz mono PCM ingest makes for speech (first audio track).
    let args = [
        "-hide_banner".as_ref(),
        "-nostdin".as_ref(),
        "-loglevel".as_ref(),
        "error".as_ref(),
        "-i".as_ref(),
        file.as_os_str(),
        "-map".as_ref(),
        "0:a:0".as_ref(),
        "-ac".as_ref(),
        "1".as_ref(),
        "-ar".as_ref(),
        "16000".as_ref(),
        "-c:a".as_ref(),
        "pcm_s16le".as_ref(),
        wav.as_os_str(),
    ];
    let timeout = Duration::from_secs(60) + Duration::from_secs_f64(duration.max(0.0) / 4.0);
    mediasift_media::process::run("ffmpeg", &args, timeout)
        .await
        .with_context(|| format!("cannot decode the audio of {}", file.display()))?;
    let speech = LocalSpeech::new(engine);
    let request = SpeechRequest {
        asset_id: Uuid::nil(),
        job_name: "mediasift-transcribe".into(),
        audio_uri: format!("file://{}", wav.display()),
        audio_path: Some(wav.clone()),
        duration_seconds: duration,
        language_hint: None,
        output_bucket: String::new(),
        output_prefix: String::new(),
    };
    let transcript = match speech.start(&request).await {
        Ok(Started::Done(transcript)) => transcript,
        Ok(Started::Pending { .. }) => bail!("the local speech engine started a job"),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot transcribe {}", file.display()));
        }
    };
    let cues = || captions::build_cues(&transcript.timed_words(), &CaptionRules::default());
    match format {
        Format::Json => println!("{}", serde_json::to_string(&transcript)?),
        Format::WebVtt => print!("{}", captions::to_webvtt(&cues())),
        Format::Srt => print!("{}", captions::to_srt(&cues())),
        Format::Text => println!("{}", transcript.text.trim()),
    }
    for warning in &transcript.warnings {
        eprintln!("warning: {warning}");
    }
    if format != Format::Json {
        eprintln!(
            "{} words by {}{}",
            transcript.words.len(),
            transcript.engine,
            transcript
                .language
                .as_deref()
                .map(|l| format!(", language {l}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
