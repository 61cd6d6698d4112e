//! The local speech engines: whisper tiny.en (faster-whisper) or pocketsphinx 5, run by a
//! Python helper embedded in the binary (`mediasift_speech.py`, passed with `python -c`), so
//! there is no script to find at run time; only a Python with the engines installed.
//!
//! The Python is `MEDIASIFT_PYTHON` when set, else the nearest `.venv/bin/python3` above the
//! current directory, above the executable, or above the checkout the binary was built from
//! (scripts/setup.sh makes `.venv` at the top of the checkout and installs both engines
//! there), else `python3` on `PATH`.
//!
//! Local engines transcribe at once: [`SpeechBackend::start`] returns [`Started::Done`], and
//! never a job. One transcription runs at a time per process: the engine already uses both
//! cores of the reference machine, and running two at once only makes each slower.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use mediasift_kit::ports::ObjectStore;
use mediasift_media::process::{self, RunOptions, ToolError};
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::{FinishedJob, SpeechBackend, SpeechError, SpeechRequest, Started, Transcript};

/// The helper, run as `python -c SCRIPT ...`.
const SCRIPT: &str = include_str!("mediasift_speech.py");
/// The environment variable that names the Python to run the engines with.
pub const PYTHON_ENV: &str = "MEDIASIFT_PYTHON";
/// The helper's exit codes (see the script's docstring).
const EXIT_NO_ENGINE: i32 = 3;
const EXIT_UNSUPPORTED_LANGUAGE: i32 = 4;
const EXIT_BAD_INPUT: i32 = 5;
/// The engine's run time is bounded by this plus [`TIMEOUT_PER_AUDIO_SECOND`] × duration:
/// model loading, then whisper tiny.en runs at about 0.1–0.3 × real time on 2 cores.
const TIMEOUT_BASE: Duration = Duration::from_secs(120);
const TIMEOUT_PER_AUDIO_SECOND: f64 = 3.0;
/// [`LocalSpeech::probe`] only imports the engine's modules.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes a second of ingest's speech WAV (16 kHz, mono, 16-bit).
const WAV_BYTES_PER_SECOND: f64 = 32_000.0;

/// One local transcription at a time in this process (see the module docs).
static RUNNING: Semaphore = Semaphore::const_new(1);

/// Which local engine to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Engine {
    /// whisper tiny.en when it is installed, else pocketsphinx.
    #[default]
    Auto,
    /// whisper tiny.en through faster-whisper (CTranslate2, int8, CPU).
    Whisper,
    /// pocketsphinx 5 with its bundled en-us model: weaker, lighter.
    Pocketsphinx,
}

impl Engine {
    /// The helper's `--engine` value: `auto`, `whisper`, `pocketsphinx`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::Whisper => "whisper",
            Engine::Pocketsphinx => "pocketsphinx",
        }
    }

    /// The engine's name as transcripts report it, when it is known before running.
    fn label(self) -> &'static str {
        match self {
            Engine::Auto => "the local speech engine (whisper tiny.en, else pocketsphinx 5)",
            Engine::Whisper => "whisper tiny.en",
            Engine::Pocketsphinx => "pocketsphinx 5",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Engine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Engine::Auto),
            "whisper" => Ok(Engine::Whisper),
            "pocketsphinx" => Ok(Engine::Pocketsphinx),
            other => Err(format!(
                "unknown speech engine `{other}`: expected auto, whisper or pocketsphinx"
            )),
        }
    }
}

/// The Python that runs the engines, and where that choice came from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Python {
    pub path: PathBuf,
    pub source: PythonSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PythonSource {
    /// Given to [`LocalSpeech::with_python`].
    Explicit,
    /// From `MEDIASIFT_PYTHON`.
    Env,
    /// A `.venv/bin/python3` found above the current directory or the executable.
    Venv,
    /// `python3` on `PATH`, for want of anything better.
    Path,
}

impl fmt::Display for Python {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.source {
            PythonSource::Explicit => write!(f, "`{path}`"),
            PythonSource::Env => write!(f, "`{path}` (from {PYTHON_ENV})"),
            PythonSource::Venv => write!(f, "`{path}`"),
            PythonSource::Path => write!(
                f,
                "`{path}` (no {PYTHON_ENV} and no .venv found above the current directory or \
                 the executable)"
            ),
        }
    }
}

impl Python {
    /// `MEDIASIFT_PYTHON`, else the nearest `.venv/bin/python3` above the current directory,
    /// else above the executable's directory, else `python3`.
    pub fn find() -> Python {
        let cwd = std::env::current_dir().ok();
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf));
        // Last, the checkout this binary was built from: a build whose target folder is
        // outside the clone, run from anywhere, still finds the clone's `.venv`.
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
        Self::find_from(
            std::env::var_os(PYTHON_ENV),
            [cwd.as_deref(), exe_dir.as_deref(), Some(checkout)],
        )
    }

    /// [`Python::find`] with its inputs given: the variable's value and the folders to search
    /// upwards from, in order.
    pub fn find_from<'a>(
        env: Option<OsString>,
        starts: impl IntoIterator<Item = Option<&'a Path>>,
    ) -> Python {
        if let Some(path) = env.filter(|v| !v.is_empty()) {
            return Python {
                path: PathBuf::from(path),
                source: PythonSource::Env,
            };
        }
        for start in starts.into_iter().flatten() {
            for dir in start.ancestors() {
                let candidate = dir.join(".venv").join("bin").join("python3");
                if candidate.is_file() {
                    return Python {
                        path: candidate,
                        source: PythonSource::Venv,
                    };
                }
            }
        }
        Python {
            path: PathBuf::from("python3"),
            source: PythonSource::Path,
        }
    }
}

/// The local speech backend (see the module docs).
#[derive(Debug)]
pub struct LocalSpeech {
    engine: Engine,
    python: Option<PathBuf>,
    /// The engine that actually ran (or that a probe found), e.g. `whisper tiny.en`.
    resolved: OnceLock<String>,
}

#[derive(Deserialize)]
struct Probe {
    engine: String,
}

impl LocalSpeech {
    /// The engine run with the Python [`Python::find`] picks (looked up on each run).
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            python: None,
            resolved: OnceLock::new(),
        }
    }

    /// The engine run with this Python interpreter.
    pub fn with_python(engine: Engine, python: impl Into<PathBuf>) -> Self {
        Self {
            python: Some(python.into()),
            ..Self::new(engine)
        }
    }

    /// The engine asked for.
    pub fn requested(&self) -> Engine {
        self.engine
    }

    /// The Python the engine runs with.
    pub fn python(&self) -> Python {
        match &self.python {
            Some(path) => Python {
                path: path.clone(),
                source: PythonSource::Explicit,
            },
            None => Python::find(),
        }
    }

    /// Which engine would run (e.g. `whisper tiny.en`), from importing its modules and
    /// checking its model's files, without transcribing anything (a second or so).
    /// [`SpeechError::NoEngine`] says why none can.
    pub async fn probe(&self) -> Result<String, SpeechError> {
        let python = self.python();
        let args: Vec<OsString> = vec![
            "-c".into(),
            SCRIPT.into(),
            "--probe".into(),
            "--engine".into(),
            self.engine.as_str().into(),
        ];
        let output = self
            .run(&python, &args, PROBE_TIMEOUT, "checking for", None)
            .await?;
        let probe: Probe = serde_json::from_slice(&output.stdout).map_err(|e| {
            SpeechError::Failed(format!(
                "{} under {python} answered the probe with no engine name ({e}): stdout {:?}, \
                 stderr: {}",
                self.engine.label(),
                truncate(&output.stdout_text(), 200),
                or_nothing(&output.stderr_tail()),
            ))
        })?;
        let _ = self.resolved.set(probe.engine.clone());
        Ok(probe.engine)
    }

    /// Transcribes the 16 kHz mono WAV at `audio` (`duration_seconds` bounds the run time;
    /// 0 when unknown). A `language_hint` that names a language other than English is
    /// [`SpeechError::UnsupportedLanguage`]: both engines transcribe English only.
    pub async fn transcribe(
        &self,
        audio: &Path,
        duration_seconds: f64,
        language_hint: Option<&str>,
    ) -> Result<Transcript, SpeechError> {
        let python = self.python();
        let mut args: Vec<OsString> = vec![
            "-c".into(),
            SCRIPT.into(),
            "--engine".into(),
            self.engine.as_str().into(),
        ];
        if let Some(hint) = language_hint.filter(|h| !h.trim().is_empty()) {
            args.push("--language".into());
            args.push(hint.into());
        }
        args.push("--".into());
        args.push(audio.as_os_str().to_owned());

        // The longer of the declared duration and the WAV's own size, so that a wrong or
        // missing duration cannot cut a long file short.
        let from_size = std::fs::metadata(audio)
            .map(|m| m.len() as f64 / WAV_BYTES_PER_SECOND)
            .unwrap_or(0.0);
        let seconds = if duration_seconds.is_finite() {
            duration_seconds.max(from_size)
        } else {
            from_size
        };
        let timeout = TIMEOUT_BASE + Duration::from_secs_f64(TIMEOUT_PER_AUDIO_SECOND * seconds);

        let _turn = RUNNING
            .acquire()
            .await
            .map_err(|e| SpeechError::Failed(format!("the local speech queue is closed: {e}")))?;
        let output = self
            .run(&python, &args, timeout, "transcribing", Some(audio))
            .await?;
        let transcript: Transcript = serde_json::from_slice(&output.stdout).map_err(|e| {
            SpeechError::Failed(format!(
                "{} under {python} printed no valid transcript for {} ({e}); stdout began {:?}; \
                 stderr: {}",
                self.engine(),
                audio.display(),
                truncate(&output.stdout_text(), 200),
                or_nothing(&output.stderr_tail()),
            ))
        })?;
        let _ = self.resolved.set(transcript.engine.clone());
        tracing::debug!(
            engine = transcript.engine,
            words = transcript.words.len(),
            elapsed = ?output.elapsed,
            audio_seconds = transcript.duration_seconds,
            "transcribed"
        );
        Ok(transcript)
    }

    /// Runs the helper and turns its failures into [`SpeechError`]s that name the engine, the
    /// Python and what the helper said.
    async fn run(
        &self,
        python: &Python,
        args: &[OsString],
        timeout: Duration,
        doing: &str,
        audio: Option<&Path>,
    ) -> Result<process::Output, SpeechError> {
        let tool = python.path.to_string_lossy().into_owned();
        let engine = self.engine();
        let what = match audio {
            Some(audio) => format!("{doing} {}", audio.display()),
            None => doing.to_owned(),
        };
        match process::run_with(&tool, args, RunOptions::with_timeout(timeout)).await {
            Ok(output) => Ok(output),
            Err(ToolError::Missing { .. }) => Err(SpeechError::NoEngine(format!(
                "no local speech engine: the Python {python} is not installed or not found; \
                 run scripts/setup.sh (it makes .venv with faster-whisper and pocketsphinx), or \
                 set {PYTHON_ENV} to a Python that has them"
            ))),
            Err(ToolError::Failed {
                code, stderr_tail, ..
            }) => {
                let said = last_line(&stderr_tail);
                Err(match code {
                    Some(EXIT_NO_ENGINE) => SpeechError::NoEngine(said),
                    Some(EXIT_UNSUPPORTED_LANGUAGE) => SpeechError::UnsupportedLanguage(said),
                    Some(EXIT_BAD_INPUT) => {
                        SpeechError::Failed(format!("{engine} cannot read the audio: {said}"))
                    }
                    code => SpeechError::Failed(format!(
                        "{engine} failed {what} under the Python {python} ({}): {}",
                        code.map_or_else(
                            || "killed by a signal".to_owned(),
                            |c| format!("exit code {c}")
                        ),
                        or_nothing(&stderr_tail),
                    )),
                })
            }
            Err(ToolError::TimedOut { after, .. }) => Err(SpeechError::Failed(format!(
                "{engine} did not finish {what} within {} s under the Python {python} and was \
                 killed",
                after.as_secs()
            ))),
            Err(error) => Err(SpeechError::Tool(error)),
        }
    }
}

#[async_trait]
impl SpeechBackend for LocalSpeech {
    /// The engine that ran last (or that a probe found); before any run, the one asked for.
    fn engine(&self) -> String {
        self.resolved
            .get()
            .cloned()
            .unwrap_or_else(|| self.engine.label().to_owned())
    }

    fn needs_local_audio(&self) -> bool {
        true
    }

    async fn start(&self, request: &SpeechRequest) -> Result<Started, SpeechError> {
        let Some(audio) = request.audio_path.as_deref() else {
            return Err(SpeechError::Failed(format!(
                "{} transcribes a local file, and the request for {} has none (audio_path)",
                self.engine(),
                request.audio_uri
            )));
        };
        let transcript = self
            .transcribe(
                audio,
                request.duration_seconds,
                request.language_hint.as_deref(),
            )
            .await?;
        Ok(Started::Done(transcript))
    }

    async fn finish(
        &self,
        job: &FinishedJob,
        _objects: &dyn ObjectStore,
    ) -> Result<Transcript, SpeechError> {
        Err(SpeechError::Failed(format!(
            "{} transcribes at once and never starts jobs: speech job {} is not its own",
            self.engine(),
            job.job_name
        )))
    }
}

/// The helper's closing line: its one-line reason (a traceback may come before it).
fn last_line(stderr_tail: &str) -> String {
    stderr_tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("it printed nothing on stderr")
        .trim()
        .to_owned()
}

fn or_nothing(text: &str) -> &str {
    if text.trim().is_empty() {
        "(nothing)"
    } else {
        text
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max_chars).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_comes_from_the_env_then_the_nearest_venv_then_path() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        let other = tempfile::tempdir().unwrap();

        // Nothing anywhere: python3 on PATH.
        let found = Python::find_from(None, [Some(deep.as_path()), Some(other.path())]);
        assert_eq!(found.path, PathBuf::from("python3"));
        assert_eq!(found.source, PythonSource::Path);

        // A venv above the second start only.
        let venv_bin = other.path().join(".venv/bin");
        std::fs::create_dir_all(&venv_bin).unwrap();
        std::fs::write(venv_bin.join("python3"), "").unwrap();
        let found = Python::find_from(None, [Some(deep.as_path()), Some(other.path())]);
        assert_eq!(found.path, venv_bin.join("python3"));
        assert_eq!(found.source, PythonSource::Venv);

        // A venv above the first start wins, the nearest one first.
        let top = root.path().join(".venv/bin");
        std::fs::create_dir_all(&top).unwrap();
        std::fs::write(top.join("python3"), "").unwrap();
        let near = root.path().join("a/.venv/bin");
        std::fs::create_dir_all(&near).unwrap();
        std::fs::write(near.join("python3"), "").unwrap();
        let found = Python::find_from(None, [Some(deep.as_path()), Some(other.path())]);
        assert_eq!(found.path, near.join("python3"));

        // The variable beats everything; an empty one is ignored.
        let found = Python::find_from(Some("/opt/py/bin/python".into()), [Some(deep.as_path())]);
        assert_eq!(found.path, PathBuf::from("/opt/py/bin/python"));
        assert_eq!(found.source, PythonSource::Env);
        assert!(found.to_string().contains(PYTHON_ENV));
        let found = Python::find_from(Some("".into()), [Some(deep.as_path())]);
        assert_eq!(found.source, PythonSource::Venv);
    }

    #[test]
    fn engines_parse_and_print() {
        for engine in [Engine::Auto, Engine::Whisper, Engine::Pocketsphinx] {
            assert_eq!(engine.to_string().parse::<Engine>(), Ok(engine));
        }
        assert_eq!(" Whisper ".parse::<Engine>(), Ok(Engine::Whisper));
        assert!("vosk".parse::<Engine>().unwrap_err().contains("vosk"));
        assert_eq!(Engine::default(), Engine::Auto);
    }

    #[test]
    fn the_engine_name_before_any_run() {
        assert_eq!(
            LocalSpeech::new(Engine::Whisper).engine(),
            "whisper tiny.en"
        );
        assert_eq!(
            LocalSpeech::new(Engine::Pocketsphinx).engine(),
            "pocketsphinx 5"
        );
        assert!(LocalSpeech::new(Engine::Auto).engine().contains("whisper"));
        assert!(LocalSpeech::new(Engine::Auto).needs_local_audio());
    }

    #[test]
    fn the_helper_is_embedded() {
        assert!(SCRIPT.contains("def main(argv)"));
        assert!(SCRIPT.contains("EXIT_NO_ENGINE = 3"));
        assert!(SCRIPT.contains("EXIT_UNSUPPORTED_LANGUAGE = 4"));
        assert!(SCRIPT.contains("EXIT_BAD_INPUT = 5"));
    }

    #[test]
    fn helper_messages() {
        assert_eq!(
            last_line("Traceback\n  boom\nValueError: x\n\n"),
            "ValueError: x"
        );
        assert_eq!(last_line(""), "it printed nothing on stderr");
        assert_eq!(truncate("abcdef", 3), "abc…");
    }
}
