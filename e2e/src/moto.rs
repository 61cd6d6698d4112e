//! A moto server (an AWS emulator) on a free loopback port, for tests that drive the real SDK
//! clients. One server per test keeps tests independent and runnable in parallel.
//!
//! The server runs under a small `sh` guard that kills it when the guard's stdin closes: when
//! the [`MotoServer`] is dropped, and also when the test process dies without dropping it
//! (a panic in another thread, a timeout kill), so no emulator outlives its test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::Credentials;
use mediasift_kit::aws::AwsConfig;

/// The region every test resource lives in.
pub const REGION: &str = "us-east-1";
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";
/// How long a server may take to answer after it is spawned (moto imports a lot of Python;
/// on a loaded 2-core machine that takes a while).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How many fresh ports to try when a server does not come up (another process may take the
/// port between our probe and moto's bind).
const START_ATTEMPTS: usize = 3;

/// Keeps moto alive while its stdin is open, and kills it when it closes. Prints moto's pid.
/// (A background job's stdin is /dev/null, so the pipe is reached through fd 3.)
const GUARD: &str = r#"
exec 3<&0
"$1" -H 127.0.0.1 -p "$2" >"$3" 2>&1 </dev/null 3<&- &
pid=$!
echo "$pid"
( read -r _ <&3; kill "$pid" 2>/dev/null ) &
wait "$pid"
"#;

/// A running moto server; killed on drop.
#[derive(Debug)]
pub struct MotoServer {
    endpoint: String,
    port: u16,
    guard: Child,
    guard_stdin: Option<ChildStdin>,
    moto_pid: Option<u32>,
    log: tempfile::TempPath,
}

impl MotoServer {
    /// Starts a server, or panics saying why (a missing emulator fails the test: it is never
    /// a reason to skip it).
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(server) => server,
            Err(message) => panic!("{message}"),
        }
    }

    /// Starts a server on a free loopback port and waits until it answers.
    pub fn try_start() -> Result<Self, String> {
        let binary = Self::binary();
        if !binary.is_file() {
            return Err(format!(
                "the moto server is not installed at {} (set MOTO_SERVER to another path); \
                 run scripts/setup.sh to install it into .venv",
                binary.display()
            ));
        }
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            match Self::spawn(&binary) {
                Ok(server) => return Ok(server),
                Err(message) => last_error = message,
            }
        }
        Err(last_error)
    }

    /// `MOTO_SERVER`, or the workspace's `.venv/bin/moto_server`.
    pub fn binary() -> PathBuf {
        std::env::var_os("MOTO_SERVER")
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join(".venv/bin/moto_server"))
    }

    fn spawn(binary: &Path) -> Result<Self, String> {
        let port = free_port().map_err(|e| format!("no free loopback port: {e}"))?;
        let log = tempfile::Builder::new()
            .prefix("mediasift-moto-")
            .suffix(".log")
            .tempfile()
            .map_err(|e| format!("cannot create moto's log file: {e}"))?
            .into_temp_path();
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(GUARD)
            .arg("moto-guard")
            .arg(binary)
            .arg(port.to_string())
            .arg(&*log)
            // moto itself needs no credentials; these keep any boto3 call inside it local.
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", REGION)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run sh to start {}: {e}", binary.display()))?;
        let guard_stdin = guard.stdin.take();
        let moto_pid = guard.stdout.take().and_then(|stdout| {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).ok()?;
            line.trim().parse().ok()
        });
        let mut server = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            guard,
            guard_stdin,
            moto_pid,
            log,
        };
        server.wait_until_ready()?;
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.guard.try_wait() {
                return Err(format!(
                    "moto server exited ({status}) before answering on port {}: {}",
                    self.port,
                    self.log_tail()
                ));
            }
            if answers(self.port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "moto server did not answer on port {} within {}s: {}",
            self.port,
            STARTUP_TIMEOUT.as_secs(),
            self.log_tail()
        ))
    }

    /// Moto's whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The end of moto's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// SDK configuration for this server: endpoint override, test credentials, region, and
    /// timeouts so that no call can hang a test.
    pub async fn sdk_config(&self) -> SdkConfig {
        AwsConfig::new(Some(&self.endpoint))
            .with_region(REGION)
            .loader()
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .operation_timeout(Duration::from_secs(120))
                    .build(),
            )
            .load()
            .await
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Closing the guard's stdin makes it kill moto and exit.
        drop(self.guard_stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.guard.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The guard did not finish: end moto and the guard by their ids.
        if let Some(pid) = self.moto_pid {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        let _ = self.guard.kill();
        let _ = self.guard.wait();
    }
}

/// Whether an HTTP server answers on the loopback port.
fn answers(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// The workspace root (the e2e crate's parent).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
