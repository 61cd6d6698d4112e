//! Running the external media tools (ffprobe, ffmpeg, mediainfo, exiftool, poppler's pdf*).
//!
//! Every tool runs from an argument vector, never through a shell, with stdin closed, its
//! stdout and stderr captured up to a size cap, and a timeout after which the child is killed.
//! Failures are [`ToolError`]s that say what a person can do about them.

use std::ffi::OsStr;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// How much stdout [`run`] keeps: enough for ffprobe/mediainfo JSON of any sane file.
pub const DEFAULT_MAX_STDOUT: usize = 16 * 1024 * 1024;
/// How much of the end of stderr [`run`] keeps.
pub const DEFAULT_MAX_STDERR: usize = 64 * 1024;
/// How many of the last stderr lines a [`ToolError::Failed`] quotes.
const STDERR_TAIL_LINES: usize = 8;
/// How many characters of stderr a [`ToolError::Failed`] quotes at most.
const STDERR_TAIL_CHARS: usize = 1500;
/// How long to wait for a killed child to be reaped before leaving it to tokio.
pub(crate) const REAP_GRACE: Duration = Duration::from_secs(2);

/// A tool that could not run or did not succeed, worded as a cause a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The binary is not installed (or not on `PATH`).
    #[error("`{tool}` is not installed or not on PATH: {hint}")]
    Missing { tool: String, hint: String },
    /// The tool ran past its time limit and was killed.
    #[error(
        "`{tool}` did not finish within {} and was killed: the input may be huge, damaged or a \
         stream that never ends",
        format_duration(*after)
    )]
    TimedOut { tool: String, after: Duration },
    /// The tool exited unsuccessfully; `stderr_tail` is the end of what it printed, trimmed.
    #[error("`{tool}` failed ({}): {}", describe_exit(*code), or_silent(stderr_tail))]
    Failed {
        tool: String,
        code: Option<i32>,
        stderr_tail: String,
    },
    /// The tool could not be started or talked to (permissions, file descriptors, ...).
    #[error("could not run `{tool}`: {source}")]
    Io {
        tool: String,
        #[source]
        source: io::Error,
    },
}

/// What a successful run printed.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Stdout, at most [`RunOptions::max_stdout`] bytes from its start.
    pub stdout: Vec<u8>,
    /// Stderr, at most [`RunOptions::max_stderr`] bytes from its end (tools warn there).
    pub stderr: Vec<u8>,
    /// True when stdout was longer than the cap and its end was dropped.
    pub stdout_truncated: bool,
    /// True when stderr was longer than the cap and its start was dropped.
    pub stderr_truncated: bool,
    /// Wall-clock time the tool took.
    pub elapsed: Duration,
}

impl Output {
    /// Stdout as text (lossy UTF-8).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The last lines of stderr, trimmed (empty when the tool printed nothing there).
    pub fn stderr_tail(&self) -> String {
        stderr_tail(&self.stderr)
    }
}

/// Limits for [`run_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Wall-clock limit; the child is killed when it is reached.
    pub timeout: Duration,
    /// Bytes of stdout kept (from the start); the rest is read and dropped.
    pub max_stdout: usize,
    /// Bytes of stderr kept (from the end); the rest is read and dropped.
    pub max_stderr: usize,
    /// Variables set for the tool, beside the inherited environment.
    pub env: &'static [(&'static str, &'static str)],
}

impl RunOptions {
    /// Default caps with the given timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            max_stdout: DEFAULT_MAX_STDOUT,
            max_stderr: DEFAULT_MAX_STDERR,
            env: &[],
        }
    }
}

/// Runs `tool` with `args` (no shell), stdin closed, output captured with the default caps,
/// and kills it after `timeout`. A non-zero exit is [`ToolError::Failed`].
pub async fn run<S: AsRef<OsStr>>(
    tool: &str,
    args: &[S],
    timeout: Duration,
) -> Result<Output, ToolError> {
    run_with(tool, args, RunOptions::with_timeout(timeout)).await
}

/// [`run`] with explicit output caps.
pub async fn run_with<S: AsRef<OsStr>>(
    tool: &str,
    args: &[S],
    options: RunOptions,
) -> Result<Output, ToolError> {
    let started = Instant::now();
    let mut command = Command::new(tool);
    command
        .args(args)
        .envs(options.env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    tracing::debug!(
        tool,
        args = ?args.iter().map(|a| a.as_ref().to_string_lossy()).collect::<Vec<_>>(),
        timeout = ?options.timeout,
        "running tool"
    );
    let mut child = command
        .spawn()
        .map_err(|source| spawn_error(tool, source))?;
    let io_error = |source| ToolError::Io {
        tool: tool.to_owned(),
        source,
    };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io_error(io::Error::other(
            "the child's stdout/stderr pipes were not set up",
        )));
    };

    let finished = tokio::time::timeout(options.timeout, async {
        let (out, err) = tokio::join!(
            read_capped(stdout, options.max_stdout, Keep::Head),
            read_capped(stderr, options.max_stderr, Keep::Tail),
        );
        let status = child.wait().await;
        (out, err, status)
    })
    .await;

    let (out, err, status) = match finished {
        Ok(parts) => parts,
        Err(_elapsed) => {
            // Kill now and reap briefly; kill_on_drop covers a child that will not die.
            if let Err(error) = child.start_kill() {
                tracing::warn!(tool, %error, "could not kill a timed-out tool");
            }
            let _ = tokio::time::timeout(REAP_GRACE, child.wait()).await;
            tracing::warn!(tool, after = ?options.timeout, "tool timed out and was killed");
            return Err(ToolError::TimedOut {
                tool: tool.to_owned(),
                after: options.timeout,
            });
        }
    };
    let status: ExitStatus = status.map_err(io_error)?;
    let (stdout, stdout_truncated) = out.map_err(io_error)?;
    let (stderr, stderr_truncated) = err.map_err(io_error)?;
    let elapsed = started.elapsed();
    tracing::debug!(
        tool,
        ?status,
        ?elapsed,
        stdout_bytes = stdout.len(),
        "tool finished"
    );

    if !status.success() {
        return Err(ToolError::Failed {
            tool: tool.to_owned(),
            code: status.code(),
            stderr_tail: stderr_tail(&stderr),
        });
    }
    Ok(Output {
        stdout,
        stderr,
        stdout_truncated,
        stderr_truncated,
        elapsed,
    })
}

/// Which Debian package ships `tool`, and what to do about it being missing.
pub fn install_hint(tool: &str) -> String {
    let name = std::path::Path::new(tool)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| tool.to_owned());
    let package = match name.as_str() {
        "ffmpeg" | "ffprobe" | "ffplay" => Some("ffmpeg"),
        "mediainfo" => Some("mediainfo"),
        "exiftool" => Some("libimage-exiftool-perl"),
        "pdfinfo" | "pdftotext" | "pdftoppm" | "pdffonts" | "pdfimages" | "pdfdetach" => {
            Some("poppler-utils")
        }
        "heif-convert" | "heif-enc" | "heif-info" => Some("libheif-examples"),
        _ => None,
    };
    match package {
        Some(package) => format!(
            "install the Debian package `{package}` (run scripts/setup.sh, or apt-get install \
             {package})"
        ),
        None => "install it, or run scripts/setup.sh to install mediasift's tools".to_owned(),
    }
}

pub(crate) fn spawn_error(tool: &str, source: io::Error) -> ToolError {
    if source.kind() == io::ErrorKind::NotFound {
        ToolError::Missing {
            tool: tool.to_owned(),
            hint: install_hint(tool),
        }
    } else {
        ToolError::Io {
            tool: tool.to_owned(),
            source,
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Keep {
    Head,
    Tail,
}

/// Reads `reader` to its end, keeping at most `limit` bytes (its head or its tail) so that a
/// chatty child never blocks on a full pipe nor fills memory. Returns (bytes, truncated).
pub(crate) async fn read_capped<R: AsyncRead + Unpin>(
    mut reader: R,
    limit: usize,
    keep: Keep,
) -> io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        let data = &chunk[..n];
        match keep {
            Keep::Head => {
                let room = limit.saturating_sub(kept.len());
                if data.len() > room {
                    truncated = true;
                }
                kept.extend_from_slice(&data[..data.len().min(room)]);
            }
            Keep::Tail => {
                kept.extend_from_slice(data);
                // Trim in batches so the work stays linear in the output.
                if kept.len() > limit.saturating_mul(2).max(limit + chunk.len()) {
                    kept.drain(..kept.len() - limit);
                    truncated = true;
                }
            }
        }
    }
    if matches!(keep, Keep::Tail) && kept.len() > limit {
        kept.drain(..kept.len() - limit);
        truncated = true;
    }
    Ok((kept, truncated))
}

/// The last few non-empty lines of `stderr`, trimmed and joined with newlines.
pub fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
    let count = tail.chars().count();
    if count <= STDERR_TAIL_CHARS {
        tail
    } else {
        let skip = count - STDERR_TAIL_CHARS;
        format!("…{}", tail.chars().skip(skip).collect::<String>())
    }
}

fn describe_exit(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_owned(),
    }
}

fn or_silent(stderr_tail: &str) -> &str {
    if stderr_tail.is_empty() {
        "it printed nothing on stderr"
    } else {
        stderr_tail
    }
}

fn format_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
