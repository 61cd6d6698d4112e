//! The audio handler on the real local adapters (filesystem object store, SQLite state) and
//! the real local engines (ffmpeg + ebur128 for loudness, whisper tiny.en for speech, YAKE and
//! VADER for language), fed what ingest would have written: the source and a 16 kHz speech WAV.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mediasift_audio::handler::{SPEECH_JOBS_TABLE, speech_job_name};
use mediasift_audio::speech::{
    FinishedJob, SpeechBackend, SpeechError, SpeechRequest, Started, Transcript, Word,
};
use mediasift_audio::{Audio, AudioConfig, Backends};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{Body, ObjectStore, PutOptions, StateStore, SystemClock};
use mediasift_kit::{Handler, HandlerError, Ports};
use mediasift_schemas::{
    AudioAnalysisCompleted, AudioIngested, AudioTrack, Envelope, EventDetail, MediaType, RawEvent,
    TranscribeJobStateChange, VideoIngested, sources,
};
use serde_json::Value;
use uuid::Uuid;

const INGEST: &str = "ingest";
const DERIVED: &str = "derived";

fn tool(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/setup.sh installs it): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn ffmpeg(args: &[&str]) {
    let mut all = vec!["-hide_banner", "-nostdin", "-loglevel", "error", "-y"];
    all.extend_from_slice(args);
    tool("ffmpeg", &all);
}

struct Harness {
    dir: tempfile::TempDir,
    objects: Arc<LocalObjectStore>,
    state: Arc<SqliteStateStore>,
    ports: Ports,
}

impl Harness {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let objects = Arc::new(LocalObjectStore::open(dir.path().join("objects")).unwrap());
        objects.create_bucket(INGEST).await.unwrap();
        objects.create_bucket(DERIVED).await.unwrap();
        let state = Arc::new(SqliteStateStore::open(&dir.path().join("state.db")).unwrap());
        let ports = Ports {
            objects: objects.clone(),
            state: state.clone(),
            clock: Arc::new(SystemClock),
            derived_bucket: DERIVED.into(),
            ingest_bucket: INGEST.into(),
        };
        Self {
            dir,
            objects,
            state,
            ports,
        }
    }

    fn config(&self) -> AudioConfig {
        AudioConfig {
            scratch_dir: self.dir.path().join("scratch"),
            ..AudioConfig::default()
        }
    }

    fn local(&self) -> Audio {
        Audio::local(self.config())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Speech by flite, as a WAV file.
    fn speak(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        tool("flite", &["-t", text, "-o", path.to_str().unwrap()]);
        path
    }

    /// Puts `source` in the ingest bucket and its 16 kHz mono speech WAV (first track, or the
    /// mix of every track, as ingest makes it) in the derived bucket; returns the `Audio
    /// Ingested` event announcing them.
    async fn audio_ingested(&self, source: &Path, asset_id: Uuid, tracks: usize) -> RawEvent {
        let (source_uri, speech_uri) = self.put_media(source, asset_id, tracks).await;
        let mut detail = AudioIngested::example();
        detail.asset_id = asset_id;
        detail.source.bucket = INGEST.into();
        detail.source.key = source.file_name().unwrap().to_string_lossy().into();
        detail.source.uri = source_uri;
        detail.technical.duration_seconds = 0.0;
        detail.technical.audio_tracks = (0..tracks as u32)
            .map(|index| AudioTrack {
                index,
                codec: "pcm_s16le".into(),
                channels: 1,
                sample_rate: 16_000,
                language: None,
            })
            .collect();
        detail.outputs.speech_audio = speech_uri.unwrap_or_default();
        event(detail, asset_id)
    }

    async fn put_media(
        &self,
        source: &Path,
        asset_id: Uuid,
        tracks: usize,
    ) -> (String, Option<String>) {
        let key = format!(
            "{asset_id}/{}",
            source.file_name().unwrap().to_string_lossy()
        );
        self.objects
            .put(
                INGEST,
                &key,
                Body::File(source.to_path_buf()),
                PutOptions::default(),
            )
            .await
            .unwrap();
        let source_uri = format!("s3://{INGEST}/{key}");
        if tracks == 0 {
            return (source_uri, None);
        }
        let wav = self.path(&format!("speech-{asset_id}.wav"));
        let mix = if tracks > 1 {
            let inputs: String = (0..tracks).map(|i| format!("[0:a:{i}]")).collect();
            format!("{inputs}amerge=inputs={tracks},aresample=16000,pan=mono|c0=c0+c1[a]")
        } else {
            "[0:a:0]aresample=16000[a]".into()
        };
        ffmpeg(&[
            "-i",
            source.to_str().unwrap(),
            "-filter_complex",
            &mix,
            "-map",
            "[a]",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            wav.to_str().unwrap(),
        ]);
        let speech_key = format!("{asset_id}/proxy/speech.wav");
        self.objects
            .put(DERIVED, &speech_key, Body::File(wav), PutOptions::default())
            .await
            .unwrap();
        (source_uri, Some(format!("s3://{DERIVED}/{speech_key}")))
    }

    async fn read(&self, uri: &str) -> Vec<u8> {
        let key = uri
            .strip_prefix(&format!("s3://{DERIVED}/"))
            .unwrap_or_else(|| panic!("{uri} is not in the derived bucket"));
        self.objects
            .get_bytes(DERIVED, key)
            .await
            .unwrap_or_else(|e| panic!("{uri}: {e}"))
            .to_vec()
    }

    async fn json(&self, uri: &str) -> Value {
        serde_json::from_slice(&self.read(uri).await).unwrap()
    }
}

fn event<D: EventDetail>(detail: D, asset_id: Uuid) -> RawEvent {
    let mut event = Envelope::new(sources::INGEST, detail);
    event.id = Uuid::new_v5(&Uuid::NAMESPACE_OID, asset_id.as_bytes()).to_string();
    event.to_raw().unwrap()
}

fn asset(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn completed(events: &[RawEvent]) -> AudioAnalysisCompleted {
    assert_eq!(events.len(), 1, "one completion event: {events:#?}");
    assert_eq!(events[0].detail_type, AudioAnalysisCompleted::DETAIL_TYPE);
    assert_eq!(events[0].source, sources::AUDIO);
    events[0].decode::<AudioAnalysisCompleted>().unwrap().detail
}

fn result<'a>(done: &'a AudioAnalysisCompleted, name: &str) -> &'a str {
    &done
        .results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no {name} result in {:#?}", done.results))
        .uri
}

fn skipped<'a>(done: &'a AudioAnalysisCompleted, feature: &str) -> &'a str {
    &done
        .skipped
        .iter()
        .find(|s| s.feature == feature)
        .unwrap_or_else(|| panic!("{feature} not skipped: {:#?}", done.skipped))
        .reason
}

fn permanent(outcome: Result<Vec<RawEvent>, HandlerError>) -> (String, String) {
    match outcome {
        Err(HandlerError::Permanent(failure)) => {
            (failure.error_code.clone(), failure.cause.clone())
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

const SPEECH: &str = "Sherlock Holmes lived in London on Baker Street. \
    He played the violin late at night, and his friend Doctor Watson wrote about their cases. \
    It was a wonderful, happy time for both of them.";

#[tokio::test]
async fn speech_is_transcribed_captioned_and_analysed_and_redelivery_repeats_it() {
    let h = Harness::new().await;
    let wav = h.speak("speech.wav", SPEECH);
    let id = asset(1);
    let ingested = h.audio_ingested(&wav, id, 1).await;
    let audio = h.local();
    let events = audio.handle(&ingested, &h.ports).await.unwrap();
    let done = completed(&events);
    assert_eq!(done.asset_id, id);
    assert_eq!(done.media_type, MediaType::Audio);
    assert_eq!(done.summary.loudness_map, vec![1]);
    let lufs = done.summary.integrated_loudness[0].expect("speech has a loudness");
    assert!((-40.0..-5.0).contains(&lufs), "integrated {lufs}");
    assert!(
        done.summary.duration_seconds > 5.0,
        "{}",
        done.summary.duration_seconds
    );
    let engine = done.summary.speech_engine.clone().unwrap();
    assert!(engine.starts_with("whisper"), "engine {engine}");
    assert_eq!(done.summary.language.as_deref(), Some("en"));
    assert!(done.summary.words >= 25, "{} words", done.summary.words);

    let transcript: Value = h.json(result(&done, "transcript")).await;
    let text = transcript["text"].as_str().unwrap().to_lowercase();
    for word in ["holmes", "london", "violin", "watson"] {
        assert!(text.contains(word), "{word:?} not in {text:?}");
    }
    let vtt = String::from_utf8(h.read(result(&done, "captions.vtt")).await).unwrap();
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    assert!(vtt.contains(" --> "), "{vtt}");
    for line in vtt.lines().filter(|l| !l.is_empty() && !l.contains("-->")) {
        assert!(
            line.chars().count() <= 42,
            "caption line too long: {line:?}"
        );
    }
    let srt = String::from_utf8(h.read(result(&done, "captions.srt")).await).unwrap();
    assert!(srt.starts_with("1\n00:00:"), "{srt}");

    let keyphrases = h.json(result(&done, "keyphrases")).await;
    assert!(!keyphrases["asset"].as_array().unwrap().is_empty());
    assert_eq!(keyphrases["windows"].as_array().unwrap().len(), 1);
    let entities = h.json(result(&done, "entities")).await;
    let names: Vec<String> = entities["asset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains("holmes") || n.contains("london")),
        "{names:?}"
    );
    let sentiment = h.json(result(&done, "sentiment")).await;
    assert!(sentiment["asset"]["label"].is_string(), "{sentiment}");
    let loudness = h.json(result(&done, "loudness")).await;
    assert_eq!(loudness["map"], serde_json::json!([1]));
    assert_eq!(skipped(&done, "chapters"), "no local backend");

    // Re-delivered: the same event (id and detail), the same outputs.
    let again = audio.handle(&ingested, &h.ports).await.unwrap();
    assert_eq!(again[0].id, events[0].id);
    assert_eq!(completed(&again), done);
}

/// Eight mono tracks, speech on the first two and digital silence on the rest: the loudness
/// map of the silent-audio-track workflow.
#[tokio::test]
async fn eight_tracks_with_two_live_give_the_map_and_speech_from_the_live_ones() {
    let h = Harness::new().await;
    let speech = h.speak("speech.wav", SPEECH);
    let source = h.path("eight.mov");
    let mut args: Vec<String> = vec!["-i".into(), speech.to_str().unwrap().into()];
    for _ in 0..6 {
        args.extend(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono"].map(String::from));
    }
    args.extend(["-t".into(), "9".into()]);
    args.extend(["-map", "0:a", "-map", "0:a"].map(String::from));
    for i in 1..=6 {
        args.extend(["-map".into(), format!("{i}:a")]);
    }
    args.extend(
        [
            "-ar",
            "48000",
            "-ac",
            "1",
            "-c:a",
            "pcm_s24le",
            source.to_str().unwrap(),
        ]
        .map(String::from),
    );
    ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let ingested = h.audio_ingested(&source, asset(2), 8).await;
    let done = completed(&h.local().handle(&ingested, &h.ports).await.unwrap());
    assert_eq!(done.summary.loudness_map, vec![1, 1, 0, 0, 0, 0, 0, 0]);
    assert!(done.summary.integrated_loudness[0].is_some());
    assert!(
        done.summary.integrated_loudness[2..]
            .iter()
            .all(Option::is_none)
    );
    let loudness = h.json(result(&done, "loudness")).await;
    assert_eq!(
        loudness["description"],
        "stereo in tracks 1–2; tracks 3–8 silent"
    );
    let silences = h.json(result(&done, "silences")).await;
    assert_eq!(silences["tracks"].as_array().unwrap().len(), 8);
    assert_eq!(silences["tracks"][5]["silent"], true);
    assert!(done.summary.words >= 20, "{} words", done.summary.words);
}

#[tokio::test]
async fn eight_silent_tracks_complete_without_speech() {
    let h = Harness::new().await;
    let source = h.path("silent.mov");
    let mut args: Vec<String> = Vec::new();
    for _ in 0..8 {
        args.extend(["-f", "lavfi", "-t", "4", "-i", "anullsrc=r=48000:cl=mono"].map(String::from));
    }
    for i in 0..8 {
        args.extend(["-map".into(), format!("{i}:a")]);
    }
    args.extend(["-c:a", "pcm_s16le", source.to_str().unwrap()].map(String::from));
    ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let ingested = h.audio_ingested(&source, asset(3), 8).await;
    let done = completed(&h.local().handle(&ingested, &h.ports).await.unwrap());
    assert_eq!(done.summary.loudness_map, vec![0; 8]);
    assert_eq!(done.summary.words, 0);
    assert_eq!(done.summary.speech_engine, None);
    assert_eq!(skipped(&done, "transcript"), "every audio track is silent");
    assert_eq!(skipped(&done, "keyphrases"), "no transcript");
    let silences = h.json(result(&done, "silences")).await;
    let programme = silences["programme"].as_array().unwrap();
    assert_eq!(programme.len(), 1, "{silences}");
    assert!((programme[0]["endSeconds"].as_f64().unwrap() - 4.0).abs() < 0.1);
}

#[tokio::test]
async fn a_video_without_audio_completes_with_loudness_skipped() {
    let h = Harness::new().await;
    let source = h.path("mute.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25:duration=2",
        "-pix_fmt",
        "yuv420p",
        source.to_str().unwrap(),
    ]);
    let id = asset(4);
    let (source_uri, _) = h.put_media(&source, id, 0).await;
    let mut detail = VideoIngested::example();
    detail.asset_id = id;
    detail.source.uri = source_uri;
    detail.technical.audio_tracks.clear();
    detail.outputs.speech_audio = None;
    let done = completed(
        &h.local()
            .handle(&event(detail, id), &h.ports)
            .await
            .unwrap(),
    );
    assert_eq!(done.media_type, MediaType::Video);
    assert!(done.summary.loudness_map.is_empty());
    assert_eq!(skipped(&done, "loudness"), "the video has no audio track");
    assert_eq!(skipped(&done, "transcript"), "the asset has no audio track");
}

#[tokio::test]
async fn an_audio_asset_without_audio_or_with_a_corrupt_stream_fails_clearly() {
    let h = Harness::new().await;
    // A video-only file announced as audio: nothing to measure.
    let mute = h.path("mute.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=25:duration=1",
        "-pix_fmt",
        "yuv420p",
        mute.to_str().unwrap(),
    ]);
    let ingested = h.audio_ingested(&mute, asset(5), 0).await;
    let (code, cause) = permanent(h.local().handle(&ingested, &h.ports).await);
    assert_eq!(code, "NoAudio");
    assert!(cause.contains("s3://ingest/"), "{cause}");

    // A WAV header over noise bytes that are not audio at all.
    let corrupt = h.path("corrupt.wav");
    let mut bytes = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    bytes.extend((0..40_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&corrupt, bytes).unwrap();
    let ingested = h.audio_ingested_raw(&corrupt, asset(6)).await;
    let (code, cause) = permanent(h.local().handle(&ingested, &h.ports).await);
    assert_eq!(code, "CorruptAudio", "{cause}");
    assert!(cause.contains("s3://ingest/"), "{cause}");
    assert!(!cause.contains("/scratch/"), "{cause}");
}

impl Harness {
    /// An `Audio Ingested` event for a source ffmpeg cannot read (no speech WAV made).
    async fn audio_ingested_raw(&self, source: &Path, asset_id: Uuid) -> RawEvent {
        let (source_uri, _) = self.put_media(source, asset_id, 0).await;
        let mut detail = AudioIngested::example();
        detail.asset_id = asset_id;
        detail.source.uri = source_uri;
        detail.outputs.speech_audio = format!("s3://{DERIVED}/{asset_id}/proxy/speech.wav");
        event(detail, asset_id)
    }
}

#[tokio::test]
async fn a_one_second_file_and_music_without_speech_complete() {
    let h = Harness::new().await;
    let second = h.path("second.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=1000:duration=1",
        second.to_str().unwrap(),
    ]);
    let done = completed(
        &h.local()
            .handle(&h.audio_ingested(&second, asset(7), 1).await, &h.ports)
            .await
            .unwrap(),
    );
    assert_eq!(done.summary.loudness_map, vec![1]);
    assert!((done.summary.duration_seconds - 1.0).abs() < 0.05);

    // A chord progression with a beat: music, no words.
    let music = h.path("music.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "aevalsrc=0.2*sin(2*PI*(220+110*floor(mod(t\\,8)/2))*t)+0.15*sin(2*PI*330*t)\
         *(0.5+0.5*sin(2*PI*2*t))+0.1*sin(2*PI*440*t)*exp(-8*mod(t\\,0.5)):s=16000:d=16",
        music.to_str().unwrap(),
    ]);
    let done = completed(
        &h.local()
            .handle(&h.audio_ingested(&music, asset(8), 1).await, &h.ports)
            .await
            .unwrap(),
    );
    assert_eq!(done.summary.loudness_map, vec![1]);
    assert!(
        done.summary.words <= 3,
        "{} words heard in music",
        done.summary.words
    );
}

#[tokio::test]
async fn non_english_speech_is_reported_not_mistranscribed_into_language_results() {
    let h = Harness::new().await;
    let german = h.path("german.wav");
    tool(
        "espeak-ng",
        &[
            "-v",
            "de",
            "-w",
            german.to_str().unwrap(),
            "Guten Morgen, meine Damen und Herren. Heute sprechen wir über das Wetter in \
             Deutschland und die Nachrichten aus aller Welt.",
        ],
    );
    let done = completed(
        &h.local()
            .handle(&h.audio_ingested(&german, asset(9), 1).await, &h.ports)
            .await
            .unwrap(),
    );
    assert_eq!(done.summary.language, None);
    let transcript = h.json(result(&done, "transcript")).await;
    assert!(
        !transcript["warnings"].as_array().unwrap().is_empty(),
        "{transcript}"
    );
    assert!(
        skipped(&done, "keyphrases").contains("could not be identified"),
        "{:?}",
        done.skipped
    );
}

#[tokio::test]
async fn options_turn_speech_and_language_off() {
    let h = Harness::new().await;
    let wav = h.speak("speech.wav", "Hello there.");
    let mut ingested = h.audio_ingested(&wav, asset(10), 1).await;
    ingested.detail["plan"]["options"]["transcribe"] = Value::Bool(false);
    let done = completed(&h.local().handle(&ingested, &h.ports).await.unwrap());
    assert_eq!(skipped(&done, "transcript"), "turned off in options");
    assert_eq!(skipped(&done, "captions"), "turned off in options");
    assert_eq!(done.summary.loudness_map, vec![1]);
}

/// A speech backend that works in jobs, as Amazon Transcribe does: `start` records the
/// request, `finish` answers with a fixed transcript. It drives the handler's two-step path
/// without AWS (the Transcribe adapter itself is tested against moto and aws-smithy-mocks).
#[derive(Default)]
struct JobSpeech {
    started: Mutex<Vec<SpeechRequest>>,
}

#[async_trait]
impl SpeechBackend for JobSpeech {
    fn engine(&self) -> String {
        "job speech".into()
    }
    fn needs_local_audio(&self) -> bool {
        false
    }
    async fn start(&self, request: &SpeechRequest) -> Result<Started, SpeechError> {
        self.started.lock().unwrap().push(request.clone());
        Ok(Started::Pending {
            job_name: request.job_name.clone(),
        })
    }
    async fn finish(
        &self,
        job: &FinishedJob,
        _objects: &dyn ObjectStore,
    ) -> Result<Transcript, SpeechError> {
        if job.status != "COMPLETED" {
            return Err(SpeechError::Failed(format!(
                "the job failed: {}",
                job.failure_reason.clone().unwrap_or_default()
            )));
        }
        let words: Vec<Word> = ["Holmes", "plays", "the", "violin."]
            .iter()
            .enumerate()
            .map(|(i, w)| Word {
                text: (*w).into(),
                start: i as f64 * 0.5,
                end: i as f64 * 0.5 + 0.4,
                confidence: Some(0.9),
            })
            .collect();
        Ok(Transcript {
            engine: "job speech".into(),
            language: Some("en-US".into()),
            language_confidence: Some(0.97),
            duration_seconds: 2.0,
            text: "Holmes plays the violin.".into(),
            segments: vec![],
            words,
            warnings: vec![],
        })
    }
}

fn job_event(job_name: &str, status: &str, reason: Option<&str>) -> RawEvent {
    let mut event = Envelope::new(
        sources::TRANSCRIBE,
        TranscribeJobStateChange {
            transcription_job_name: job_name.into(),
            transcription_job_status: status.into(),
            failure_reason: reason.map(Into::into),
        },
    );
    event.id = Uuid::new_v5(&Uuid::NAMESPACE_OID, status.as_bytes()).to_string();
    event.to_raw().unwrap()
}

#[tokio::test]
async fn a_speech_job_continues_on_its_completion_event() {
    let h = Harness::new().await;
    let wav = h.speak("speech.wav", "Holmes plays the violin.");
    let id = asset(11);
    let ingested = h.audio_ingested(&wav, id, 1).await;
    let speech = Arc::new(JobSpeech::default());
    let language = Arc::new(mediasift_kit::language::LocalLanguage::new());
    let audio = Audio::new(
        h.config(),
        Backends {
            speech: Some(speech.clone()),
            language: Some(language),
            chapters: None,
        },
    );

    // The ingested event starts the job and records the loudness; nothing is emitted yet.
    assert!(audio.handle(&ingested, &h.ports).await.unwrap().is_empty());
    let job_name = speech_job_name(id, &ingested.id);
    {
        let started = speech.started.lock().unwrap();
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].job_name, job_name);
        assert_eq!(
            started[0].audio_uri,
            format!("s3://{DERIVED}/{id}/proxy/speech.wav")
        );
        assert_eq!(started[0].audio_path, None);
        assert_eq!(started[0].output_bucket, DERIVED);
        assert_eq!(started[0].output_prefix, format!("{id}/audio/transcribe/"));
    }
    assert!(
        h.state
            .get(SPEECH_JOBS_TABLE, &job_name)
            .await
            .unwrap()
            .is_some()
    );

    // The completion carries on from the record, and names the ingested event as its cause.
    let finished = job_event(&job_name, "COMPLETED", None);
    let events = audio.handle(&finished, &h.ports).await.unwrap();
    let done = completed(&events);
    assert_eq!(done.summary.words, 4);
    assert_eq!(done.summary.language.as_deref(), Some("en-US"));
    assert_eq!(done.summary.speech_engine.as_deref(), Some("job speech"));
    assert_eq!(done.summary.loudness_map, vec![1]);
    assert_eq!(done.metadata.causation_id, ingested.id);
    result(&done, "loudness");
    result(&done, "captions.vtt");
    result(&done, "keyphrases");

    // A re-delivered completion gives the same event; a job of someone else's is ignored.
    let again = audio.handle(&finished, &h.ports).await.unwrap();
    assert_eq!(again[0].id, events[0].id);
    assert_eq!(completed(&again), done);
    let stranger = job_event("mediasift-not-ours", "COMPLETED", None);
    assert!(audio.handle(&stranger, &h.ports).await.unwrap().is_empty());

    // A failed job is a permanent failure that says why.
    let failed = job_event(&job_name, "FAILED", Some("The media file is corrupt."));
    let (code, cause) = permanent(audio.handle(&failed, &h.ports).await);
    assert_eq!(code, "SpeechFailed");
    assert!(cause.contains("The media file is corrupt."), "{cause}");
}
