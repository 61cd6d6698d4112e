//! The `mediasift` command, run as a user runs it.

use std::path::PathBuf;
use std::process::Command;

fn mediasift(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn test_pattern_answers_like_test_event_pattern() {
    let dir = std::env::temp_dir().join(format!("mediasift-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let event = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("contracts/examples/mediasift.ingest@VideoIngested.json"),
    )
    .unwrap();
    let event = write(&dir, "event.json", &event);
    let cases = [
        (
            r#"{"source":["mediasift.ingest"],"detail":{"plan":{"analyses":["video"]}}}"#,
            0,
            "match",
        ),
        (r#"{"source":[{"prefix":"aws."}]}"#, 1, "no match"),
        (r#"{"source":[]}"#, 2, "invalid: "),
    ];
    for (pattern, code, output) in cases {
        let pattern = write(&dir, "pattern.json", pattern);
        let (status, stdout, _) = mediasift(&[
            "test-pattern",
            "--pattern",
            pattern.to_str().unwrap(),
            "--event",
            event.to_str().unwrap(),
        ]);
        assert_eq!(status, code, "{stdout}");
        assert!(stdout.starts_with(output), "{stdout}");
    }
    let (status, _, stderr) = mediasift(&[
        "test-pattern",
        "--pattern",
        "/nonexistent.json",
        "--event",
        event.to_str().unwrap(),
    ]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("cannot read the pattern file /nonexistent.json"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn contracts_check_passes_on_the_committed_tree() {
    let root = env!("CARGO_MANIFEST_DIR");
    let (status, stdout, stderr) = mediasift(&["contracts", "check", "--root", root]);
    assert_eq!(status, 0, "{stdout}{stderr}");
}
