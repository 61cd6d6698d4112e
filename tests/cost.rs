//! `mediasift cost`: the estimate's counts are the real ones (the frame selection of
//! `mediasift frames`, pdfinfo's pages, ffprobe's durations), its dollars are the quantities
//! times the versioned price table, the options turn items off, and bad input is an error
//! line and a non-zero exit, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> PathBuf {
    let path = root().join(".cache/samples").join(name);
    assert!(
        path.is_file(),
        "sample {} is missing: run scripts/setup.sh",
        path.display()
    );
    path
}

fn mediasift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("mediasift runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `mediasift cost --json ARGS`, which must succeed.
fn cost(args: &[&str]) -> Value {
    let mut all = vec!["cost", "--json"];
    all.extend(args);
    let out = mediasift(&all);
    assert!(
        out.status.success(),
        "mediasift {all:?} failed: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn asset<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .unwrap_or_else(|| panic!("no asset {key} in {report}"))
}

/// The line item `key` of `who` (`mediasift` or `media2cloud`).
fn item<'a>(asset: &'a Value, who: &str, key: &str) -> Option<&'a Value> {
    asset[who]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
}

fn quantity(asset: &Value, who: &str, key: &str) -> f64 {
    item(asset, who, key)
        .unwrap_or_else(|| panic!("no {who} item {key} in {}", asset[who]))["quantity"]
        .as_f64()
        .unwrap()
}

fn keys(asset: &Value, who: &str) -> Vec<String> {
    asset[who]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

fn ffprobe_duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of"])
        .arg("default=noprint_wrappers=1:nokey=1")
        .arg(path)
        .output()
        .unwrap();
    text(&out.stdout).trim().parse().unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-9)
}

#[test]
fn vision_calls_are_what_mediasift_frames_selects_and_media2cloud_sends_at_least_as_many() {
    let video = sample("newsreel.mp4");
    let dir = tempfile::tempdir().unwrap();
    let shots = mediasift(&["shots", video.to_str().unwrap(), "--json"]);
    assert!(shots.status.success(), "{}", text(&shots.stderr));
    let shots_file = dir.path().join("shots.json");
    std::fs::write(&shots_file, &shots.stdout).unwrap();
    let frames = mediasift(&[
        "frames",
        video.to_str().unwrap(),
        "--shots",
        shots_file.to_str().unwrap(),
        "--json",
    ]);
    assert!(frames.status.success(), "{}", text(&frames.stderr));
    let frames: Value = serde_json::from_slice(&frames.stdout).unwrap();
    let selected = frames["totals"]["selectedForVision"].as_f64().unwrap();
    assert!(selected >= 1.0);

    let report = cost(&[video.to_str().unwrap()]);
    let newsreel = asset(&report, "newsreel.mp4");
    assert_eq!(
        newsreel["frames"]["selectedForVision"].as_f64(),
        Some(selected)
    );
    assert_eq!(
        newsreel["frames"]["captures"], frames["totals"]["captures"],
        "the same captures"
    );
    // One Rekognition call per selected frame and per call of each enabled feature.
    for key in [
        "rekognition.detectLabels.labels",
        "rekognition.detectFaces.faces",
        "rekognition.recognizeCelebrities.celebrities",
        "rekognition.detectFaces.faceMatch",
        "rekognition.detectText.text",
        "rekognition.detectModerationLabels.moderation",
    ] {
        assert_eq!(quantity(newsreel, "mediasift", key), selected, "{key}");
    }

    // Media2Cloud V4's rule, recomputed here from `mediasift frames`' own captures: within a
    // shot, a new group when the hash is more than 16 bits from the previous capture's.
    let captures = frames["captures"].as_array().unwrap();
    let mut groups = 0;
    let mut previous: Option<(u64, u64)> = None;
    for capture in captures {
        let hash = u64::from_str_radix(capture["hash"].as_str().unwrap(), 16).unwrap();
        let shot = capture["shot"].as_u64().unwrap();
        match previous {
            Some((h, s)) if s == shot && (h ^ hash).count_ones() <= 16 => {}
            _ => groups += 1,
        }
        previous = Some((hash, shot));
    }
    let m2c = newsreel["frames"]["media2cloudSelected"].as_f64().unwrap();
    assert_eq!(m2c, f64::from(groups));
    assert!(m2c >= selected, "Media2Cloud {m2c} < mediasift {selected}");
    for key in [
        "rekognition.recognizeCelebrities.celebrities",
        "rekognition.searchFacesByImage.faceMatch",
        "rekognition.detectLabels.labels",
    ] {
        assert_eq!(quantity(newsreel, "media2cloud", key), m2c, "{key}");
    }
    let minutes = ffprobe_duration(&video) / 60.0;
    assert!(close(
        quantity(newsreel, "media2cloud", "rekognition.segmentDetection"),
        minutes
    ));
    assert!(item(newsreel, "mediasift", "rekognition.segmentDetection").is_none());
}

#[test]
fn every_dollar_is_the_quantity_times_the_versioned_price_and_counts_are_the_files() {
    let table: toml::Table = toml::from_str(
        &std::fs::read_to_string(root().join("pricing/aws-us-east-1.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(table["read"].as_str(), Some("2026-11-22"));
    let prices = table["prices"].as_table().unwrap();

    let samples = root().join(".cache/samples");
    let out = mediasift(&["cost", samples.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.starts_with("prices read 2026-11-22 from pricing/aws-us-east-1.toml"),
        "{printed}"
    );
    assert!(printed.contains("Media2Cloud V4"), "{printed}");
    assert!(printed.contains("total (5 asset(s))"), "{printed}");

    let report = cost(&[samples.to_str().unwrap()]);
    assert_eq!(report["prices"]["read"], "2026-11-22");
    assert!(report["errors"].as_array().unwrap().is_empty());
    let assets = report["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 5);
    for asset in assets {
        for who in ["mediasift", "media2cloud", "likeForLike"] {
            let mut sum = 0.0;
            for item in asset[who]["items"].as_array().unwrap() {
                let price = &prices[item["price"].as_str().unwrap()];
                let usd = price["usd"].as_float().unwrap();
                let per = price["per"]
                    .as_float()
                    .or_else(|| price["per"].as_integer().map(|p| p as f64))
                    .unwrap();
                let quantity = item["quantity"].as_f64().unwrap();
                assert!(quantity > 0.0, "{item}");
                assert!(
                    close(item["usd"].as_f64().unwrap(), quantity * usd / per),
                    "{item} against {price}"
                );
                assert_eq!(item["unitPriceUsd"].as_f64(), Some(usd));
                sum += item["usd"].as_f64().unwrap();
            }
            assert!(close(asset[who]["usd"].as_f64().unwrap(), sum), "{who}");
        }
    }

    // The document's pages are pdfinfo's; its text layer has text, so nothing goes to Textract.
    let leaflet = asset(&report, "samples/leaflet.pdf");
    let pdfinfo = Command::new("pdfinfo")
        .arg(sample("leaflet.pdf"))
        .output()
        .unwrap();
    let pages: u64 = text(&pdfinfo.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(leaflet["document"]["pages"].as_u64(), Some(pages));
    assert_eq!(leaflet["document"]["pagesWithText"].as_u64(), Some(pages));
    assert!(item(leaflet, "mediasift", "textract.detectDocumentText").is_none());
    assert_eq!(
        quantity(leaflet, "media2cloud", "textract.detectDocumentText"),
        pages as f64
    );
    // Comprehend: the whole document and each page, 3 units at least each.
    assert_eq!(
        quantity(leaflet, "mediasift", "comprehend.keyPhrases"),
        3.0 * (pages as f64 + 1.0)
    );

    // Audio: one Transcribe job on the speech WAV, billed 15 s at least.
    let briefing = asset(&report, "samples/briefing.m4a");
    let duration = ffprobe_duration(&sample("briefing.m4a"));
    assert!(close(
        quantity(briefing, "mediasift", "transcribe.minutes"),
        duration.max(15.0) / 60.0
    ));
    assert_eq!(briefing["flow"]["invocations"]["audio"], 2, "{briefing}");

    // Images: one call per enabled feature; no frames, no MediaConvert.
    let photo = asset(&report, "samples/photo.jpg");
    assert_eq!(
        quantity(photo, "mediasift", "rekognition.detectLabels.labels"),
        1.0
    );
    assert!(
        !keys(photo, "mediasift")
            .iter()
            .any(|k| k.starts_with("mediaconvert.") || k.starts_with("transcribe."))
    );
    assert!(item(photo, "mediasift", "bedrock.image.input").is_some());

    // The video: a local run publishes 7 events; on AWS MediaConvert's job adds 4 and
    // Transcribe's completion 1.
    let newsreel = asset(&report, "samples/newsreel.mp4");
    assert_eq!(
        quantity(newsreel, "mediasift", "eventbridge.events"),
        12.0,
        "{}",
        newsreel["flow"]
    );
}

#[test]
fn transcribe_minutes_are_the_duration_and_a_silent_track_is_not_transcribed() {
    let dir = tempfile::tempdir().unwrap();
    let tone = dir.path().join("tone.m4a");
    let silence = dir.path().join("silence.m4a");
    for (source, path) in [
        ("sine=frequency=440:sample_rate=16000:duration=20", &tone),
        ("anullsrc=r=16000:cl=mono", &silence),
    ] {
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", source])
            .args(["-t", "20", "-c:a", "aac"])
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let report = cost(&[tone.to_str().unwrap(), silence.to_str().unwrap()]);
    let tone_asset = asset(&report, "tone.m4a");
    let minutes = ffprobe_duration(&tone) / 60.0;
    assert!(minutes > 0.25);
    assert!(close(
        quantity(tone_asset, "mediasift", "transcribe.minutes"),
        minutes
    ));
    assert!(close(
        quantity(tone_asset, "mediasift", "mediaconvert.speech"),
        minutes
    ));
    let comprehend = item(tone_asset, "mediasift", "comprehend.entities").unwrap();
    assert_eq!(comprehend["estimated"], true);
    assert!(comprehend["note"].as_str().unwrap().contains("estimate"));

    let silent = asset(&report, "silence.m4a");
    assert_eq!(silent["audio"]["allSilent"], true);
    let silent_keys = keys(silent, "mediasift");
    assert!(
        !silent_keys
            .iter()
            .any(|k| k.starts_with("transcribe.") || k.starts_with("comprehend.")),
        "{silent_keys:?}"
    );
    // Media2Cloud does not measure loudness: it transcribes the silence too.
    assert!(item(silent, "media2cloud", "transcribe.minutes").is_some());
}

#[test]
fn options_turn_items_off_and_on() {
    let video = sample("newsreel.mp4");
    let dir = tempfile::tempdir().unwrap();
    let nothing = dir.path().join("nothing.json");
    std::fs::write(
        &nothing,
        r#"{"vision": {"labels": false, "faces": false, "celebrities": false, "faceMatch": false,
            "text": false, "moderation": false}, "transcribe": false, "generative": false}"#,
    )
    .unwrap();
    let report = cost(&[
        "--options",
        nothing.to_str().unwrap(),
        video.to_str().unwrap(),
    ]);
    let off = asset(&report, "newsreel.mp4");
    let off_keys = keys(off, "mediasift");
    for prefix in ["rekognition.", "transcribe.", "comprehend.", "bedrock."] {
        assert!(
            !off_keys.iter().any(|k| k.starts_with(prefix)),
            "{prefix} in {off_keys:?}"
        );
    }
    assert!(off_keys.contains(&"mediaconvert.proxy".to_owned()));
    // Media2Cloud's side is its defaults, whatever mediasift's options.
    assert!(item(off, "media2cloud", "rekognition.detectLabels.labels").is_some());

    let report = cost(&[
        "--options",
        r#"{"vision": {"labels": false}, "renditions": [360, 1080]}"#,
        video.to_str().unwrap(),
    ]);
    let some = asset(&report, "newsreel.mp4");
    let some_keys = keys(some, "mediasift");
    assert!(!some_keys.contains(&"rekognition.detectLabels.labels".to_owned()));
    assert!(some_keys.contains(&"rekognition.detectText.text".to_owned()));
    // 1080p is above the 360-line source: ingest skips it.
    assert!(some_keys.contains(&"mediaconvert.rendition.360p".to_owned()));
    assert!(!some_keys.contains(&"mediaconvert.rendition.1080p".to_owned()));
}

#[test]
fn missing_corrupt_and_wrong_input_is_an_error_line_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mp4");
    let out = mediasift(&["cost", missing.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("missing.mp4"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A corrupt file among good ones: its error line, the others estimated, exit 1.
    let corrupt = dir.path().join("corrupt.mp4");
    let mut bytes = b"\0\0\0\x18ftypmp42".to_vec();
    bytes.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&corrupt, bytes).unwrap();
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let photo = sample("photo.jpg");
    let out = mediasift(&[
        "cost",
        "--json",
        corrupt.to_str().unwrap(),
        empty.to_str().unwrap(),
        photo.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].contains("corrupt.mp4") && lines[0].contains("cannot be read"),
        "{stderr}"
    );
    assert!(
        lines[1].contains("empty.jpg") && lines[1].contains("0 bytes"),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["assets"].as_array().unwrap().len(), 1);
    assert_eq!(report["errors"].as_array().unwrap().len(), 2);

    // Options that ingest would refuse are refused before anything is measured.
    let out = mediasift(&[
        "cost",
        "--options",
        r#"{"vision": {"labelz": false}}"#,
        photo.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown option vision.labelz"), "{stderr}");
    let out = mediasift(&["cost", "--options", "{not json", photo.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not JSON"));
}
