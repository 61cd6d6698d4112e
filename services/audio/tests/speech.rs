//! The local speech engines on real speech: accuracy (WER) on the LibriVox clips of Debian's
//! pocketsphinx-testdata and on sentences flite speaks, word timings, silence and music, speech
//! in other languages, and the errors a person gets when something is missing.
//!
//! Nothing here is faked and nothing is skipped: the engines (faster-whisper with whisper
//! tiny.en, pocketsphinx 5), the clips (.cache/test-media/librivox) and the synthesisers (flite,
//! espeak-ng) are installed by scripts/setup.sh, and a test that misses one fails saying so.
//! Run with `--nocapture` to see the per-clip figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mediasift_audio::speech::local::{PYTHON_ENV, Python};
use mediasift_audio::speech::{
    Engine, FinishedJob, LocalSpeech, SpeechBackend, SpeechError, SpeechRequest, Started,
    Transcript,
};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_media::wer::{Wer, word_error_rate};
use uuid::Uuid;

const SETUP_HINT: &str = "run scripts/setup.sh (it installs the speech engines into .venv, \
                          flite and espeak-ng, and fetches the test media)";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The LibriVox clips: (id, WAV, what is said).
fn librivox() -> Vec<(String, PathBuf, String)> {
    let dir = workspace_root().join(".cache/test-media/librivox");
    let ids = std::fs::read_to_string(dir.join("fileids")).unwrap_or_else(|e| {
        panic!(
            "the LibriVox clips are missing ({}: {e}): {SETUP_HINT}",
            dir.display()
        )
    });
    let clips: Vec<_> = ids
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|id| {
            let wav = dir.join(format!("{id}.wav"));
            let text = std::fs::read_to_string(dir.join(format!("{id}.txt"))).unwrap_or_else(|e| {
                panic!(
                    "{id}.txt is missing in {} ({e}): {SETUP_HINT}",
                    dir.display()
                )
            });
            assert!(wav.is_file(), "{} is missing: {SETUP_HINT}", wav.display());
            (id.to_owned(), wav, text.trim().to_owned())
        })
        .collect();
    assert!(
        clips.len() >= 5,
        "expected the 5 LibriVox clips in {}: {SETUP_HINT}",
        dir.display()
    );
    clips
}

/// The engine, after checking that it is installed (a failure, never a skip, when not).
async fn engine(engine: Engine) -> LocalSpeech {
    let speech = LocalSpeech::new(engine);
    match speech.probe().await {
        Ok(name) => {
            let expected = match engine {
                Engine::Pocketsphinx => "pocketsphinx 5",
                _ => "whisper tiny.en",
            };
            assert_eq!(
                name, expected,
                "the probe found another engine than {engine}"
            );
        }
        Err(error) => panic!(
            "the {engine} speech engine is not available under {}: {error}\n{SETUP_HINT}",
            speech.python()
        ),
    }
    speech
}

fn run_tool(tool: &str, args: &[&str]) {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{tool}` ({e}): {SETUP_HINT}"));
    assert!(
        output.status.success(),
        "`{tool} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `raw` re-encoded as ingest's speech WAV: 16 kHz, mono, 16-bit PCM.
fn to_speech_wav(raw: &Path, wav: &Path) {
    run_tool(
        "ffmpeg",
        &[
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            raw.to_str().unwrap(),
            "-ac",
            "1",
            "-ar",
            "16000",
            "-c:a",
            "pcm_s16le",
            wav.to_str().unwrap(),
        ],
    );
}

/// `text` spoken by flite (English), as a speech WAV.
fn flite(dir: &Path, name: &str, text: &str) -> PathBuf {
    let raw = dir.join(format!("{name}.flite.wav"));
    run_tool("flite", &["-t", text, "-o", raw.to_str().unwrap()]);
    let wav = dir.join(format!("{name}.wav"));
    to_speech_wav(&raw, &wav);
    wav
}

/// `text` spoken by espeak-ng with `voice`, as a speech WAV.
fn espeak(dir: &Path, name: &str, voice: &str, text: &str) -> PathBuf {
    let raw = dir.join(format!("{name}.espeak.wav"));
    run_tool(
        "espeak-ng",
        &["-v", voice, "-w", raw.to_str().unwrap(), text],
    );
    let wav = dir.join(format!("{name}.wav"));
    to_speech_wav(&raw, &wav);
    wav
}

/// An ffmpeg lavfi source rendered as a speech WAV.
fn lavfi(dir: &Path, name: &str, source: &str, seconds: f64) -> PathBuf {
    let wav = dir.join(format!("{name}.wav"));
    run_tool(
        "ffmpeg",
        &[
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            source,
            "-t",
            &seconds.to_string(),
            "-ac",
            "1",
            "-ar",
            "16000",
            "-c:a",
            "pcm_s16le",
            wav.to_str().unwrap(),
        ],
    );
    wav
}

fn wav_seconds(wav: &Path) -> f64 {
    // A canonical 44-byte header, then 32 000 bytes a second.
    (std::fs::metadata(wav).unwrap().len().saturating_sub(44)) as f64 / 32_000.0
}

async fn transcribe(speech: &LocalSpeech, wav: &Path) -> (Transcript, f64) {
    let seconds = wav_seconds(wav);
    let started = Instant::now();
    let transcript = speech
        .transcribe(wav, seconds, None)
        .await
        .unwrap_or_else(|e| panic!("{} failed on {}: {e}", speech.engine(), wav.display()));
    (transcript, started.elapsed().as_secs_f64())
}

/// Word times inside the audio, each word's start at or after the previous word's end.
fn assert_timings(transcript: &Transcript, seconds: f64, what: &str) {
    let mut previous_end = 0.0;
    for word in &transcript.words {
        assert!(
            word.start >= previous_end - 1e-6 && word.end >= word.start,
            "{what}: `{}` at {:.3}–{:.3} s goes back before {previous_end:.3} s: {:?}",
            word.text,
            word.start,
            word.end,
            transcript.words
        );
        assert!(
            word.end <= seconds + 0.05,
            "{what}: `{}` ends at {:.3} s, after the audio's {seconds:.3} s",
            word.text,
            word.end
        );
        previous_end = word.end;
    }
    for segment in &transcript.segments {
        assert!(segment.start <= segment.end && segment.end <= seconds + 0.05);
    }
}

/// WER of `engine` over every LibriVox clip, printed per clip; returns the total.
async fn librivox_wer(engine_kind: Engine) -> Wer {
    let speech = engine(engine_kind).await;
    let mut total = Wer::default();
    let (mut audio_seconds, mut wall_seconds) = (0.0, 0.0);
    println!("{engine_kind} on the LibriVox clips of pocketsphinx-testdata:");
    for (id, wav, reference) in librivox() {
        let (transcript, elapsed) = transcribe(&speech, &wav).await;
        let seconds = wav_seconds(&wav);
        assert_eq!(
            transcript.language.as_deref(),
            Some("en"),
            "{id}: {transcript:?}"
        );
        assert!(
            transcript.warnings.is_empty(),
            "{id}: {:?}",
            transcript.warnings
        );
        assert_timings(&transcript, seconds, &id);
        let wer = word_error_rate(&reference, &transcript.text);
        println!(
            "  {id}: WER {:5.1} % ({} errors / {} words), {seconds:.1} s of audio in {elapsed:.1} s \
             (RTF {:.2})\n    reference:  {reference}\n    transcript: {}",
            100.0 * wer.rate(),
            wer.errors(),
            wer.reference_words,
            elapsed / seconds,
            transcript.text
        );
        total += wer;
        audio_seconds += seconds;
        wall_seconds += elapsed;
    }
    println!(
        "  total: WER {:.1} % ({} substitutions, {} deletions, {} insertions / {} words); \
         {audio_seconds:.1} s of audio in {wall_seconds:.1} s (RTF {:.2}, one process per clip, \
         model loading included)",
        100.0 * total.rate(),
        total.substitutions,
        total.deletions,
        total.insertions,
        total.reference_words,
        wall_seconds / audio_seconds
    );
    total
}

#[tokio::test]
async fn whisper_wer_on_librivox() {
    let total = librivox_wer(Engine::Whisper).await;
    // Required ≤ 30 %; the project aims at ≤ 15 %.
    assert!(
        total.rate() <= 0.30,
        "whisper tiny.en WER {:.1} % on LibriVox is over 30 %",
        100.0 * total.rate()
    );
    if total.rate() > 0.15 {
        println!("  note: over the project's aim of 15 %");
    }
}

#[tokio::test]
async fn pocketsphinx_wer_on_librivox() {
    let total = librivox_wer(Engine::Pocketsphinx).await;
    assert!(
        total.rate() <= 0.35,
        "pocketsphinx WER {:.1} % on LibriVox is over 35 %",
        100.0 * total.rate()
    );
}

#[tokio::test]
async fn a_sentence_flite_speaks() {
    let speech = engine(Engine::Whisper).await;
    let dir = tempfile::tempdir().unwrap();
    let text = "Please send the quarterly report to the finance team before Friday afternoon. \
                The weather forecast says it will rain heavily across the north tomorrow.";
    let wav = flite(dir.path(), "flite", text);
    let (transcript, elapsed) = transcribe(&speech, &wav).await;
    let wer = word_error_rate(text, &transcript.text);
    println!(
        "flite: WER {:.1} % in {elapsed:.1} s: {}",
        100.0 * wer.rate(),
        transcript.text
    );
    assert!(
        wer.rate() <= 0.25,
        "WER {:.1} %: {transcript:?}",
        100.0 * wer.rate()
    );
    assert_eq!(transcript.language.as_deref(), Some("en"));
    assert!(transcript.warnings.is_empty(), "{:?}", transcript.warnings);
    assert_timings(&transcript, wav_seconds(&wav), "flite");
}

/// Through the port, as the handler calls it: start → Done, and finish is an error.
#[tokio::test]
async fn word_timings_follow_the_speech() {
    let speech = engine(Engine::Whisper).await;
    let (id, wav, _) = librivox()
        .into_iter()
        .find(|(id, ..)| id.ends_with("-0870"))
        .expect("clip 0870: and mister john dashwood had then leisure to consider ...");
    let seconds = wav_seconds(&wav);
    let request = SpeechRequest {
        asset_id: Uuid::new_v4(),
        job_name: "mediasift-test-speech".into(),
        audio_uri: "s3://derived/test/speech.wav".into(),
        audio_path: Some(wav.clone()),
        duration_seconds: seconds,
        language_hint: Some("eng".into()),
        output_bucket: "derived".into(),
        output_prefix: "test/audio/transcribe/".into(),
    };
    assert!(speech.needs_local_audio());
    let Started::Done(transcript) = speech.start(&request).await.expect("start") else {
        panic!("a local engine never starts a job");
    };
    assert_eq!(transcript.engine, "whisper tiny.en");
    assert_eq!(speech.engine(), "whisper tiny.en");
    assert!((transcript.duration_seconds - seconds).abs() < 0.01);
    assert_timings(&transcript, seconds, &id);
    let start_of = |needle: &str| {
        transcript
            .words
            .iter()
            .find(|w| w.text.to_lowercase().contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {:?}", transcript.words))
            .start
    };
    let (early, middle, late) = (
        start_of("dashwood"),
        start_of("consider"),
        start_of("power"),
    );
    println!("{id}: dashwood at {early:.2} s, consider at {middle:.2} s, power at {late:.2} s");
    assert!(early < middle && middle < late, "{:?}", transcript.words);
    // "dashwood" is said in the first two seconds, "power" in the last two of 7.1 s.
    assert!(
        early < 2.0 && late > seconds - 2.5,
        "{:?}",
        transcript.words
    );
    assert!(
        transcript
            .words
            .iter()
            .all(|w| w.confidence.is_some_and(|c| (0.0..=1.0).contains(&c)))
    );
    // The captions builder takes them as they are.
    assert_eq!(transcript.timed_words().len(), transcript.words.len());

    let store = tempfile::tempdir().unwrap();
    let objects = LocalObjectStore::open(store.path()).unwrap();
    let job = FinishedJob {
        job_name: request.job_name.clone(),
        status: "COMPLETED".into(),
        failure_reason: None,
        output_bucket: request.output_bucket.clone(),
        output_prefix: request.output_prefix.clone(),
    };
    let error = speech.finish(&job, &objects).await.unwrap_err();
    assert!(matches!(error, SpeechError::Failed(_)), "{error:?}");
    assert!(error.to_string().contains("never starts jobs"), "{error}");

    // pocketsphinx's timings obey the same rules.
    let pocketsphinx = engine(Engine::Pocketsphinx).await;
    let (transcript, _) = transcribe(&pocketsphinx, &wav).await;
    assert!(!transcript.words.is_empty());
    assert_timings(&transcript, seconds, &format!("{id} (pocketsphinx)"));
    let power = transcript
        .words
        .iter()
        .find(|w| w.text == "power")
        .map(|w| w.start);
    let john = transcript
        .words
        .iter()
        .find(|w| w.text == "john")
        .map(|w| w.start);
    assert!(
        matches!((john, power), (Some(j), Some(p)) if j < 2.0 && p > seconds - 2.5),
        "{:?}",
        transcript.words
    );
}

#[tokio::test]
async fn silence_a_second_and_music_give_no_words() {
    let whisper = engine(Engine::Whisper).await;
    let pocketsphinx = engine(Engine::Pocketsphinx).await;
    let dir = tempfile::tempdir().unwrap();
    let one_second = lavfi(
        dir.path(),
        "tone-1s",
        "sine=frequency=440:sample_rate=16000",
        1.0,
    );
    let silence = lavfi(
        dir.path(),
        "silence",
        "anullsrc=channel_layout=mono:sample_rate=16000",
        10.0,
    );
    // A chord progression with a beat: music, no voice.
    let music = lavfi(
        dir.path(),
        "music",
        "aevalsrc=0.2*sin(2*PI*(220+110*floor(mod(t\\,4)))*t)\
         +0.15*sin(2*PI*(330+55*floor(mod(t*2\\,4)))*t)\
         +0.1*sin(2*PI*440*t)*lt(mod(t\\,0.5)\\,0.1):s=16000",
        15.0,
    );
    for (speech, wav) in [
        (&whisper, &one_second),
        (&whisper, &silence),
        (&whisper, &music),
        (&pocketsphinx, &one_second),
        (&pocketsphinx, &silence),
    ] {
        let (transcript, elapsed) = transcribe(speech, wav).await;
        let name = wav.file_name().unwrap().to_string_lossy();
        println!(
            "{} on {name}: {:?} in {elapsed:.1} s",
            transcript.engine, transcript.text
        );
        assert!(transcript.words.is_empty(), "{name}: {transcript:?}");
        assert!(transcript.segments.is_empty(), "{name}: {transcript:?}");
        assert_eq!(transcript.text, "", "{name}");
        assert!((transcript.duration_seconds - wav_seconds(wav)).abs() < 0.01);
    }
}

#[tokio::test]
async fn speech_in_other_languages_is_reported() {
    let speech = engine(Engine::Whisper).await;
    let dir = tempfile::tempdir().unwrap();
    let german = espeak(
        dir.path(),
        "de",
        "de",
        "Die Wettervorhersage sagt, dass es morgen im Norden stark regnen wird. Unser Zug hatte \
         wegen einer Signalstörung vierzig Minuten Verspätung.",
    );
    let french = espeak(
        dir.path(),
        "fr",
        "fr",
        "Veuillez envoyer le rapport trimestriel à l'équipe financière avant vendredi \
         après-midi. La météo annonce de fortes pluies dans le nord demain.",
    );
    for wav in [&german, &french] {
        let (transcript, elapsed) = transcribe(&speech, wav).await;
        let name = wav.file_name().unwrap().to_string_lossy();
        println!(
            "{name}: language {:?}, warnings {:?}, in {elapsed:.1} s: {:?}",
            transcript.language, transcript.warnings, transcript.text
        );
        assert_eq!(transcript.language, None, "{name}: {transcript:?}");
        assert!(
            transcript
                .warnings
                .iter()
                .any(|w| w.contains("does not look like English") && w.contains("English only")),
            "{name}: {:?}",
            transcript.warnings
        );
    }
    // The same machine voice speaking English is English.
    let english = espeak(
        dir.path(),
        "en",
        "en-us",
        "She opened the window and listened to the birds singing in the garden.",
    );
    let (transcript, _) = transcribe(&speech, &english).await;
    println!(
        "espeak-ng en-us: {:?} {:?}",
        transcript.language, transcript.text
    );
    assert_eq!(transcript.language.as_deref(), Some("en"), "{transcript:?}");
    assert!(transcript.warnings.is_empty(), "{:?}", transcript.warnings);

    // A language the source declares is believed: not transcribed at all.
    let error = speech
        .transcribe(&english, 4.0, Some("fr-FR"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, SpeechError::UnsupportedLanguage(_)),
        "{error:?}"
    );
    assert!(error.to_string().contains("English only"), "{error}");
}

#[tokio::test]
async fn a_missing_python_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let wav = lavfi(
        dir.path(),
        "silence",
        "anullsrc=channel_layout=mono:sample_rate=16000",
        1.0,
    );
    let speech = LocalSpeech::with_python(Engine::Auto, "/nonexistent/bin/python3");
    for error in [
        speech.probe().await.unwrap_err(),
        speech.transcribe(&wav, 1.0, None).await.unwrap_err(),
    ] {
        assert!(matches!(error, SpeechError::NoEngine(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains("/nonexistent/bin/python3") && message.contains("scripts/setup.sh"),
            "{message}"
        );
    }
}

/// `MEDIASIFT_PYTHON` names the Python: checked in a child process (this test binary again),
/// since changing the environment of a running test process is unsound.
#[tokio::test]
async fn mediasift_python_names_the_python() {
    const CHILD: &str = "MEDIASIFT_SPEECH_TEST_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let python = Python::find();
        assert_eq!(python.path, PathBuf::from("/nonexistent"));
        let error = LocalSpeech::new(Engine::Whisper).probe().await.unwrap_err();
        assert!(matches!(error, SpeechError::NoEngine(_)), "{error:?}");
        println!("child error: {error}");
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "mediasift_python_names_the_python",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env(PYTHON_ENV, "/nonexistent")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(
            "child error: no local speech engine: the Python `/nonexistent` (from MEDIASIFT_PYTHON)"
        ),
        "{stdout}"
    );
}

#[tokio::test]
async fn unreadable_audio_is_a_clear_error() {
    let speech = engine(Engine::Auto).await;
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("not-audio.wav");
    std::fs::write(&bogus, b"this is not a WAV file").unwrap();
    let error = speech.transcribe(&bogus, 1.0, None).await.unwrap_err();
    assert!(matches!(error, SpeechError::Failed(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("cannot read the audio") && message.contains("not-audio.wav"),
        "{message}"
    );
    let error = speech
        .transcribe(&dir.path().join("missing.wav"), 1.0, None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no such file"), "{error}");
}

/// A Python without the engines (a fresh, empty venv): NoEngine, with the reasons of both.
#[tokio::test]
async fn a_python_without_engines_is_no_engine() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    run_tool(
        "python3",
        &["-m", "venv", "--without-pip", venv.to_str().unwrap()],
    );
    let python = venv.join("bin/python3");
    let wav = lavfi(
        dir.path(),
        "silence",
        "anullsrc=channel_layout=mono:sample_rate=16000",
        1.0,
    );
    let auto = LocalSpeech::with_python(Engine::Auto, &python);
    let error = auto.probe().await.unwrap_err();
    let SpeechError::NoEngine(reason) = &error else {
        panic!("expected NoEngine, got {error:?}");
    };
    assert!(
        reason.contains("faster-whisper is not installed")
            && reason.contains("pocketsphinx is not installed")
            && reason.contains("scripts/setup.sh"),
        "{reason}"
    );
    let whisper = LocalSpeech::with_python(Engine::Whisper, &python);
    let error = whisper.transcribe(&wav, 1.0, None).await.unwrap_err();
    assert!(
        matches!(&error, SpeechError::NoEngine(r) if r.starts_with("faster-whisper is not installed for")),
        "{error:?}"
    );
}
