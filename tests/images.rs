//! The image service through the whole local pipeline (`mediasift run`: ingest, then image),
//! on real photos: forensics-samples-files' phone and camera photos (EXIF against exiftool's
//! own reading), Pillow's orientation set and its files with broken EXIF, and near-duplicates
//! found by `mediasift similar`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod support;
use support::{mediasift, test_media};

/// `mediasift run --json` on `files`: one line per file, by file name.
fn run(data: &Path, files: &[PathBuf]) -> (i32, BTreeMap<String, Value>) {
    let mut args = vec!["run", "--json"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (status, stdout, stderr) = mediasift(data, &args);
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .map(|line| (line["key"].as_str().unwrap().to_owned(), line))
        .collect::<BTreeMap<_, _>>();
    assert_eq!(lines.len(), files.len(), "{stdout}{stderr}");
    (status, lines)
}

fn result(line: &Value, name: &str) -> Value {
    let path = Path::new(line["outputs"].as_str().unwrap()).join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (line {line})", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `exiftool -n -s3 -TAG FILE`: None when absent.
fn exiftool(file: &Path, tag: &str) -> Option<String> {
    let out = Command::new("exiftool")
        .args(["-n", "-s3", tag])
        .arg(file)
        .output()
        .expect("exiftool runs (scripts/setup.sh installs libimage-exiftool-perl)");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn number(file: &Path, tag: &str) -> Option<f64> {
    exiftool(file, tag).map(|v| v.parse().unwrap())
}

/// `15 deg 50' 7.99" S` (exiftool's printed form) in signed decimal degrees.
fn degrees_printed(file: &Path, tag: &str) -> f64 {
    let out = Command::new("exiftool")
        .args(["-s3", "-c", "%d %d %.6f", tag])
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let parts: Vec<&str> = text.split_whitespace().collect();
    let (d, m, s): (f64, f64, f64) = (
        parts[0].parse().unwrap(),
        parts[1].parse().unwrap(),
        parts[2].parse().unwrap(),
    );
    let sign = if matches!(parts.get(3), Some(&"S") | Some(&"W")) {
        -1.0
    } else {
        1.0
    };
    sign * (d + m / 60.0 + s / 3600.0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

fn forensics_photos() -> Vec<PathBuf> {
    [
        "pic1/IMG_20200827_231612.jpg",
        "pic1/IMG_1054.JPG",
        "pic1/IMG-20191006-WA0002.jpg",
        "pic2/IMG_20200124_231153.jpg",
        "pic2/IMG_20200608_111614.jpg",
        "pic2/IMG_20191224_234846.jpg",
    ]
    .iter()
    .map(|p| test_media(&format!("forensics/{p}")))
    .collect()
}

#[test]
fn forensics_photos_exif_equals_exiftools() {
    let dir = tempfile::tempdir().unwrap();
    let photos = forensics_photos();
    let (status, lines) = run(dir.path(), &photos);
    assert_eq!(status, 0, "{lines:?}");
    let mut with_gps = 0;
    for photo in &photos {
        let name = photo.file_name().unwrap().to_str().unwrap();
        let line = &lines[name];
        let exif = result(line, "image/exif.json");
        let text = |v: &Value| v.as_str().map(str::to_owned);
        assert_eq!(
            text(&exif["camera"]["make"]),
            exiftool(photo, "-Make"),
            "{name}"
        );
        assert_eq!(
            text(&exif["camera"]["model"]),
            exiftool(photo, "-Model"),
            "{name}"
        );
        assert_eq!(
            text(&exif["captured"]["local"]),
            exiftool(photo, "-DateTimeOriginal"),
            "{name}"
        );
        for (key, tag) in [
            ("exposureTime", "-ExposureTime"),
            ("fNumber", "-EXIF:FNumber"),
            ("iso", "-EXIF:ISO"),
            ("focalLength", "-FocalLength"),
        ] {
            let ours = exif["exposure"][key].as_f64();
            let theirs = number(photo, tag).filter(|v| *v > 0.0);
            match (ours, theirs) {
                (Some(a), Some(b)) => assert!(close(a, b), "{name} {key}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "{name} {key}"),
            }
        }
        assert_eq!(
            exif["orientation"].as_u64(),
            number(photo, "-IFD0:Orientation").map(|o| o as u64),
            "{name}"
        );
        match exiftool(photo, "-GPSLatitude") {
            None => assert!(exif["gps"].is_null(), "{name}: {}", exif["gps"]),
            Some(_) => {
                with_gps += 1;
                let gps = &exif["gps"];
                let (lat, lon) = (
                    gps["latitude"].as_f64().unwrap(),
                    gps["longitude"].as_f64().unwrap(),
                );
                // Signed decimal degrees: exiftool's composite, and the printed
                // degrees-minutes-seconds with their N/S/E/W, both within 1e-5.
                let composite_lat = number(photo, "-Composite:GPSLatitude").unwrap();
                let composite_lon = number(photo, "-Composite:GPSLongitude").unwrap();
                assert!((lat - composite_lat).abs() < 1e-5, "{name}: {lat}");
                assert!((lon - composite_lon).abs() < 1e-5, "{name}: {lon}");
                let printed_lat = degrees_printed(photo, "-GPSLatitude");
                let printed_lon = degrees_printed(photo, "-GPSLongitude");
                assert!(
                    (lat - printed_lat).abs() < 1e-5,
                    "{name}: {lat} vs {printed_lat}"
                );
                assert!(
                    (lon - printed_lon).abs() < 1e-5,
                    "{name}: {lon} vs {printed_lon}"
                );
                let altitude = number(photo, "-Composite:GPSAltitude");
                match (gps["altitude"].as_f64(), altitude) {
                    (Some(a), Some(b)) => assert!(close(a, b), "{name}: {a} vs {b}"),
                    (a, b) => assert_eq!(a, b, "{name} altitude"),
                }
            }
        }
        // The summary on the bus says the same.
        assert_eq!(line["status"], "completed", "{line}");
    }
    assert!(with_gps >= 3, "the phone photos carry GPS");

    // The Xiaomi photo has no OffsetTimeOriginal: its offset comes from the GPS clock
    // (23:16:12 local, 02:16:08Z the next day: UTC-3, Brasília, where its GPS puts it).
    let exif = result(&lines["IMG_20200827_231612.jpg"], "image/exif.json");
    assert_eq!(
        exif["captured"]["iso8601"],
        "2020-08-27T23:16:12.007419-03:00"
    );
    assert_eq!(exif["captured"]["offsetSource"], "gps");
    // A camera without GPS has no offset to tell.
    let exif = result(&lines["IMG_1054.JPG"], "image/exif.json");
    assert_eq!(exif["captured"]["iso8601"], "2020-09-12T11:49:38");
    assert!(exif["captured"]["offset"].is_null());
}

/// Mean absolute difference of two images' pixels, 0–255, the second resized to the first.
fn difference(a: &Path, b: &Path) -> f64 {
    let a = image::open(a).unwrap().to_rgb8();
    let b = image::open(b).unwrap().to_rgb8();
    let b = image::imageops::resize(&b, a.width(), a.height(), image::imageops::Triangle);
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

/// Pillow's hopper in EXIF orientations 2–8 (JPEG and WebP) comes out upright: every proxy
/// looks like hopper.jpg, the EXIF summary keeps the orientation it applied, and the
/// library finds all of them as near-duplicates of hopper.jpg.
#[test]
fn pillows_orientation_set_comes_out_upright_and_all_near_hopper() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![test_media("pillow/hopper.jpg")];
    for n in 2..=8 {
        files.push(test_media(&format!("pillow/hopper_orientation_{n}.jpg")));
        files.push(test_media(&format!("pillow/hopper_orientation_{n}.webp")));
    }
    let (status, lines) = run(dir.path(), &files);
    assert_eq!(status, 0, "{lines:?}");
    let upright =
        Path::new(lines["hopper.jpg"]["outputs"].as_str().unwrap()).join("proxy/proxy.jpg");
    for n in 2..=8 {
        for ext in ["jpg", "webp"] {
            let name = format!("hopper_orientation_{n}.{ext}");
            let line = &lines[&name];
            let proxy = Path::new(line["outputs"].as_str().unwrap()).join("proxy/proxy.jpg");
            let diff = difference(&upright, &proxy);
            assert!(diff < 12.0, "{name}: differs from hopper.jpg by {diff:.1}");
            let exif = result(line, "image/exif.json");
            assert_eq!(exif["orientation"], n, "{name}");
            assert_eq!(exif["orientationApplied"], true);
            assert_eq!(
                (exif["width"].as_u64(), exif["height"].as_u64()),
                (Some(128), Some(128))
            );
        }
    }

    let hopper = lines["hopper.jpg"]["assetId"].as_str().unwrap();
    let (status, stdout, stderr) = mediasift(dir.path(), &["similar", hopper, "--json"]);
    assert_eq!(status, 0, "{stderr}");
    let found: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        found.len(),
        14,
        "every turned copy is near hopper: {stdout}"
    );
    for m in &found {
        assert!(m["distance"].as_u64().unwrap() <= 7, "{m}");
        assert_eq!(m["kind"], "image");
        assert!(
            m["source"]
                .as_str()
                .unwrap()
                .contains("hopper_orientation_"),
            "{m}"
        );
    }
}

/// A resized and re-encoded copy of a photo is its near-duplicate; the other photos are not.
#[test]
fn a_resized_reencoded_copy_is_found_and_unrelated_photos_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let original = test_media("forensics/pic2/IMG_20200124_231153.jpg");
    let copy = dir.path().join("copy-half-q60.jpg");
    let image = image::open(&original).unwrap();
    let half = image.resize(
        image.width() / 2,
        image.height() / 2,
        image::imageops::Triangle,
    );
    let mut out = std::fs::File::create(&copy).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 60)
        .encode_image(&half.to_rgb8())
        .unwrap();
    drop(out);
    // The copy lost its EXIF (and so its orientation, 3): turn it upright as the original
    // is shown.
    let turned = image::open(&copy).unwrap().rotate180();
    turned.save(&copy).unwrap();

    let mut files = forensics_photos();
    files.push(copy.clone());
    let (status, lines) = run(dir.path(), &files);
    assert_eq!(status, 0, "{lines:?}");
    let asset = lines["IMG_20200124_231153.jpg"]["assetId"]
        .as_str()
        .unwrap();
    let (status, stdout, stderr) = mediasift(dir.path(), &["similar", asset, "--json"]);
    assert_eq!(status, 0, "{stderr}");
    let found: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(found.len(), 1, "only the copy: {stdout}");
    assert_eq!(found[0]["assetId"], lines["copy-half-q60.jpg"]["assetId"]);
    assert!(found[0]["distance"].as_u64().unwrap() <= 7, "{stdout}");

    // An image file that is not in the library is looked up by its own hash.
    let (status, stdout, _) = mediasift(dir.path(), &["similar", original.to_str().unwrap()]);
    assert_eq!(status, 0);
    assert!(
        stdout.contains(asset) && stdout.contains("copy-half-q60.jpg"),
        "{stdout}"
    );
}

/// Pillow's files with broken EXIF (bad IFD offsets, wrong types, malformed segments, zero
/// resolutions) give a result or a clear failure, never a panic.
#[test]
fn broken_exif_gives_a_result_or_a_clear_failure() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = [
        "hopper_bad_exif.jpg",
        "invalid-exif.jpg",
        "invalid-exif-without-x-resolution.jpg",
        "exif-ifd-offset.jpg",
        "exif_typeerror.jpg",
        "exif_gps_typeerror.jpg",
        "exif_gps.jpg",
        "broken_exif_dpi.jpg",
        "exif-dpi-zerodivision.jpg",
        "multiple_exif.jpg",
        "exif_imagemagick_orientation.png",
    ]
    .iter()
    .map(|f| test_media(&format!("pillow/{f}")))
    .collect();
    let (_, lines) = run(dir.path(), &files);
    for (name, line) in &lines {
        match line["status"].as_str() {
            Some("completed") => {
                let exif = result(line, "image/exif.json");
                assert!(exif["width"].as_u64().unwrap() > 0, "{name}");
                let phash = result(line, "image/phash.json");
                assert_eq!(phash["phash"].as_str().unwrap().len(), 16, "{name}");
                if let Some(gps) = exif["gps"].as_object() {
                    assert!(gps["latitude"].as_f64().unwrap().abs() <= 90.0, "{name}");
                }
            }
            Some("failed") => {
                let cause = line["cause"].as_str().unwrap_or_default();
                assert!(cause.contains(name.as_str()), "{name}: {cause}");
            }
            other => panic!("{name}: {other:?} {line}"),
        }
    }
    // exiftool reads past the damage in these: their analysis completes.
    for name in [
        "hopper_bad_exif.jpg",
        "exif-ifd-offset.jpg",
        "exif_typeerror.jpg",
    ] {
        assert_eq!(lines[name]["status"], "completed", "{}", lines[name]);
    }
    // exif_gps.jpg's latitude is 4294967295: out of range, so no position at all.
    assert!(result(&lines["exif_gps.jpg"], "image/exif.json")["gps"].is_null());
    // The PNG keeps its orientation (3) in an eXIf chunk after the pixels.
    let exif = result(
        &lines["exif_imagemagick_orientation.png"],
        "image/exif.json",
    );
    assert_eq!(exif["orientation"], 3);
}
