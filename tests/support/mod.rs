//! What the CLI tests share: the real test media, external tools, and `mediasift` run as a
//! user runs it. Each test binary uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A file of `.cache/test-media` (scripts/setup.sh fetches them).
pub fn test_media(relative: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".cache/test-media")
        .join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

/// Runs `program ARGS…` (no shell) and insists it succeeds.
pub fn run_tool(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/setup.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `mediasift ARGS…` on the data directory `data_dir`: exit code, stdout, stderr. Nothing may
/// panic.
pub fn mediasift(data_dir: &Path, args: &[&str]) -> (i32, String, String) {
    mediasift_with(data_dir, args, |_| {})
}

/// [`mediasift`], the command adjusted by `adjust` first (a working folder, an environment).
pub fn mediasift_with(
    data_dir: &Path,
    args: &[&str],
    adjust: impl FnOnce(&mut Command),
) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mediasift"));
    command.args(args).env("MEDIASIFT_DATA_DIR", data_dir);
    adjust(&mut command);
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}
