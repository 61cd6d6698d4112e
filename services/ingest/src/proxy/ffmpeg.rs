//! The local transcoder: one ffmpeg invocation per asset.
//!
//! ffmpeg decodes the source once; a `-filter_complex` graph splits the picture and the chosen
//! audio into every output, and each output is its own `-map`:
//!
//! | key (under `spec.output_prefix`) | what |
//! |---|---|
//! | `proxy/proxy.mp4` | H.264 (libx264, preset fast, CRF 23, yuv420p, a keyframe every 2 s, `+faststart`), AAC stereo when there is audio |
//! | `proxy/audio.m4a` | AAC stereo of the audio choice |
//! | `proxy/speech.wav` | 16 kHz mono PCM s16le of the audio choice |
//! | `frames/frame-NNNNN.jpg` | the frame captures (0-based, in order), JPEG at `-q:v 4` (about quality 80) |
//! | `frames/manifest.json` | the [`FrameManifest`] |
//! | `thumbnails/thumb-N.jpg` | up to `spec.thumbnails` of the captures, evenly spread (uploaded again under these keys; no second decode) |
//! | `renditions/<name>.mp4` | as the proxy, at the rendition's size |
//!
//! With [`FfmpegConfig::video_proxy`] off (local `[ingest] video-proxy = false`), no proxy is
//! encoded: the source itself serves as the proxy ([`ProxyOutputs::source_as_proxy`]), and
//! the invocation only decodes, captures and writes the audio. The x264 encode is most of an
//! ingest's time; an archive that already holds browser-playable mezzanines does not need it.
//!
//! Audio is aligned to the video timeline (`aresample=first_pts=0` pads a late start with
//! silence), and ffmpeg's own autorotation turns the picture before the graph, so the spec's
//! display sizes apply as they are.
//!
//! ## Frame captures and exact frame numbers
//!
//! The capture branch of the graph is
//! `settb=AVTB, metadata=add, metadata=print:file=all, select=…, metadata=print:file=sel, scale`.
//! `select` keeps, for each capture instant `k / rate`, the first frame at or after it (a
//! frame is kept when `floor(t × rate)` is past that of the last kept frame; an instant
//! without a frame of its own before the next one is skipped, never duplicated). The first
//! printer writes every decoded frame's timestamp in decode-output (presentation) order, so
//! line `n` is source frame `n`; the second writes the kept ones. Matching the two gives each
//! capture's source frame number exactly, also for variable frame rates, and its
//! timestamp (microseconds, from the start of the file, as a player and the proxy count it).
//! The JPEGs are written with `-fps_mode passthrough`, one file per kept frame, in order.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use mediasift_kit::Ports;
use mediasift_kit::ports::{Body, PutOptions, StoreError};
use mediasift_media::process::{self, RunOptions, ToolError};

use super::{
    AudioChoice, FrameCapture, FrameManifest, ProxyOutputs, ProxySpec, SourceMedia, Started,
    TranscodeError, Transcoder,
};

/// AAC bit rate of the proxies' audio.
const AAC_BIT_RATE: &str = "128k";
/// x264 rate factor of the proxy and the renditions.
const X264_CRF: &str = "23";
/// JPEG quality scale (2 best … 31 worst); 4 is about libjpeg quality 80.
const JPEG_QSCALE: &str = "4";
/// The capture printer's files, inside the scratch folder (not uploaded).
const ALL_FRAMES_FILE: &str = "all-frames.txt";
const CAPTURED_FRAMES_FILE: &str = "captured-frames.txt";
/// Microseconds: the capture branch's time base (`settb=AVTB`).
const AV_TIME_BASE: f64 = 1_000_000.0;

/// How the ffmpeg transcoder runs.
#[derive(Debug, Clone, PartialEq)]
pub struct FfmpegConfig {
    /// The ffmpeg binary (a name on `PATH` or a path).
    pub program: String,
    /// Time limit for any source: `base_timeout + timeout_per_media_second × duration`.
    pub base_timeout: Duration,
    pub timeout_per_media_second: f64,
    /// Where the scratch folder of each run goes (the system temp folder when `None`). It
    /// needs room for every output of the largest asset.
    pub work_dir: Option<PathBuf>,
    /// Outputs uploaded at once.
    pub upload_concurrency: usize,
    /// Encode the H.264 proxy of a video. Off, the source serves as the proxy.
    pub video_proxy: bool,
}

impl Default for FfmpegConfig {
    fn default() -> Self {
        FfmpegConfig {
            program: "ffmpeg".into(),
            base_timeout: Duration::from_secs(60),
            timeout_per_media_second: 4.0,
            work_dir: None,
            upload_concurrency: 4,
            video_proxy: true,
        }
    }
}

/// Makes every proxy of a [`ProxySpec`] in one ffmpeg run, then uploads them.
#[derive(Debug, Default)]
pub struct FfmpegTranscoder {
    config: FfmpegConfig,
    version: OnceLock<String>,
}

impl FfmpegTranscoder {
    pub fn new(config: FfmpegConfig) -> Self {
        FfmpegTranscoder {
            config,
            version: OnceLock::new(),
        }
    }

    pub fn config(&self) -> &FfmpegConfig {
        &self.config
    }

    /// The time limit for a source of `duration_seconds`.
    pub fn timeout_for(&self, duration_seconds: f64) -> Duration {
        let extra = duration_seconds.max(0.0) * self.config.timeout_per_media_second.max(0.0);
        let extra = Duration::try_from_secs_f64(extra).unwrap_or(Duration::MAX);
        self.config.base_timeout.saturating_add(extra)
    }

    /// `ffmpeg -version`'s version, asked once (blocking, a few milliseconds; a program that
    /// does not answer within [`VERSION_TIMEOUT`] is killed and its version unknown).
    fn version(&self) -> &str {
        self.version.get_or_init(|| {
            ask_version(&self.config.program).unwrap_or_else(|| "(version unknown)".into())
        })
    }
}

/// How long `ffmpeg -version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

fn ask_version(program: &str) -> Option<String> {
    let mut child = std::process::Command::new(program)
        .arg("-version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    // The answer is a few lines, well within a pipe's buffer: waiting before reading cannot
    // block ffmpeg.
    let deadline = std::time::Instant::now() + VERSION_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut stdout).ok()?;
    status.success().then(|| version_label(&stdout))
}

#[async_trait]
impl Transcoder for FfmpegTranscoder {
    fn name(&self) -> String {
        format!("ffmpeg {}", self.version())
    }

    fn needs_local_source(&self) -> bool {
        true
    }

    async fn start(
        &self,
        spec: &ProxySpec,
        source: &SourceMedia,
        ports: &Ports,
    ) -> Result<Started, TranscodeError> {
        let Some(input) = source.local_path.as_deref() else {
            return Err(TranscodeError::Setup(format!(
                "the ffmpeg transcoder needs a local copy of {}, and none was made",
                source.uri
            )));
        };
        if spec.video.is_none() && spec.audio.is_none() {
            return Ok(Started::Done(ProxyOutputs::default()));
        }
        let input = std::path::absolute(input).map_err(|e| {
            TranscodeError::Setup(format!("cannot resolve {}: {e}", input.display()))
        })?;
        let scratch = self.scratch()?;
        let result = self.make(spec, source, ports, &input, scratch.path()).await;
        // Removing thousands of captures is blocking work.
        let _ = tokio::task::spawn_blocking(move || drop(scratch)).await;
        result.map(Started::Done)
    }
}

impl FfmpegTranscoder {
    /// Runs ffmpeg into `scratch`, then uploads.
    async fn make(
        &self,
        spec: &ProxySpec,
        source: &SourceMedia,
        ports: &Ports,
        input: &Path,
        scratch: &Path,
    ) -> Result<ProxyOutputs, TranscodeError> {
        let layout = Layout::new(scratch);
        for dir in layout.dirs() {
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| scratch_error(&dir, e))?;
        }
        let args = arguments(spec, input, &layout, self.config.video_proxy)?;

        let timeout = self.timeout_for(spec.duration_seconds);
        let started = Instant::now();
        let result = process::run_with(
            &self.config.program,
            &args,
            RunOptions::with_timeout(timeout),
        )
        .await;
        let output = result.map_err(|e| tool_failure(e, source, spec.duration_seconds))?;
        tracing::info!(
            asset_id = %spec.asset_id,
            elapsed = ?started.elapsed(),
            renditions = spec.renditions.len(),
            "ffmpeg made the proxies"
        );
        let warnings = output.stderr_tail();
        if !warnings.is_empty() {
            tracing::debug!(asset_id = %spec.asset_id, warnings, "ffmpeg warnings");
        }

        let (outputs, uploads) = collect(spec, &layout, self.config.video_proxy).await?;
        self.upload(spec, ports, uploads).await?;
        Ok(outputs)
    }

    fn scratch(&self) -> Result<tempfile::TempDir, TranscodeError> {
        let dir = self
            .config
            .work_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&dir).map_err(|e| scratch_error(&dir, e))?;
        tempfile::Builder::new()
            .prefix("mediasift-proxy-")
            .tempdir_in(&dir)
            .map_err(|e| scratch_error(&dir, e))
    }

    async fn upload(
        &self,
        spec: &ProxySpec,
        ports: &Ports,
        uploads: Vec<Upload>,
    ) -> Result<(), TranscodeError> {
        futures::stream::iter(uploads)
            .map(|upload| async move {
                ports
                    .objects
                    .put(
                        &spec.derived_bucket,
                        &upload.key,
                        Body::File(upload.path),
                        PutOptions {
                            content_type: Some(upload.content_type.into()),
                            ..PutOptions::default()
                        },
                    )
                    .await
                    .map_err(|e| store_failure(&spec.derived_bucket, &upload.key, e))
            })
            .buffer_unordered(self.config.upload_concurrency.max(1))
            .try_collect::<Vec<_>>()
            .await
            .map(|_| ())
    }
}

/// Where the outputs go in the scratch folder; the same relative paths as the keys.
struct Layout {
    root: PathBuf,
}

impl Layout {
    fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
        }
    }

    fn dirs(&self) -> [PathBuf; 4] {
        ["proxy", "frames", "renditions", "meta"].map(|d| self.root.join(d))
    }

    fn file(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// The image2 pattern of the captures (`%` in the folder escaped).
    fn frames_pattern(&self) -> OsString {
        let mut pattern = OsString::from(
            self.root
                .join("frames")
                .to_string_lossy()
                .replace('%', "%%"),
        );
        pattern.push("/frame-%05d.jpg");
        pattern
    }

    fn capture(&self, index: usize) -> PathBuf {
        self.root.join(format!("frames/frame-{index:05}.jpg"))
    }
}

/// The key of capture `index` (relative to the prefix).
fn capture_key(index: usize) -> String {
    format!("frames/frame-{index:05}.jpg")
}

struct Upload {
    key: String,
    path: PathBuf,
    content_type: &'static str,
}

/// ffmpeg's arguments for `spec`, reading `input` and writing into `layout`.
fn arguments(
    spec: &ProxySpec,
    input: &Path,
    layout: &Layout,
    video_proxy: bool,
) -> Result<Vec<OsString>, TranscodeError> {
    for rendition in &spec.renditions {
        let safe = !rendition.name.is_empty()
            && rendition
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !safe {
            return Err(TranscodeError::Setup(format!(
                "the rendition name {:?} cannot be a file name (letters, digits, '-', '_')",
                rendition.name
            )));
        }
    }
    if let Some(AudioChoice::MixMono { indexes }) = &spec.audio
        && !(2..=64).contains(&indexes.len())
    {
        return Err(TranscodeError::Setup(format!(
            "a mix of {} mono tracks cannot be made (2 to 64)",
            indexes.len()
        )));
    }
    let mut graph: Vec<String> = Vec::new();
    let mut audio_labels: Vec<String> = Vec::new();
    let mut args: Vec<OsString> = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"]
        .into_iter()
        .map(OsString::from)
        .collect();
    args.push("-y".into());
    args.push("-i".into());
    // "file:" keeps a name with ':' from reading as a protocol.
    let mut source = OsString::from("file:");
    source.push(input.as_os_str());
    args.push(source);

    let audio = spec.audio.as_ref();
    if let Some(video) = &spec.video {
        let mut labels = String::new();
        if video_proxy {
            labels += "[proxy_in]";
        }
        labels += "[frames_in]";
        for i in 0..spec.renditions.len() {
            labels += &format!("[r{i}_in]");
        }
        graph.push(format!(
            "[0:{}]split={}{labels}",
            video.stream_index,
            usize::from(video_proxy) + 1 + spec.renditions.len()
        ));
        if video_proxy {
            graph.push(format!(
                "[proxy_in]scale={}:{},setsar=1,format=yuv420p[proxy_v]",
                video.proxy.width, video.proxy.height
            ));
        }
        for (i, rendition) in spec.renditions.iter().enumerate() {
            graph.push(format!(
                "[r{i}_in]scale={}:{},setsar=1,format=yuv420p[r{i}_v]",
                rendition.size.width, rendition.size.height
            ));
        }
        let all = graph_value(&layout.file(&format!("meta/{ALL_FRAMES_FILE}")));
        let captured = graph_value(&layout.file(&format!("meta/{CAPTURED_FRAMES_FILE}")));
        graph.push(format!(
            "[frames_in]settb=AVTB,metadata=mode=add:key=mediasift:value=1,\
             metadata=mode=print:file={all},select={select},\
             metadata=mode=print:file={captured},scale={w}:{h},setsar=1[frames_v]",
            select = escape_graph(&capture_select(spec.frame_capture_rate)),
            w = video.frames.width,
            h = video.frames.height,
        ));
        if audio.is_some() {
            if video_proxy {
                audio_labels.push("proxy_a".into());
            }
            audio_labels.extend((0..spec.renditions.len()).map(|i| format!("r{i}_a")));
        }
    }
    if let Some(audio) = audio {
        let head = match audio {
            AudioChoice::Track { index, .. } => format!("[0:{index}]"),
            AudioChoice::MixMono { indexes } => {
                let inputs: String = indexes.iter().map(|i| format!("[0:{i}]")).collect();
                format!(
                    "{inputs}amerge=inputs={},{},",
                    indexes.len(),
                    mono_to_stereo_pan(indexes.len())
                )
            }
        };
        audio_labels.push("m4a_a".into());
        audio_labels.push("speech_in".into());
        let labels: String = audio_labels.iter().map(|l| format!("[{l}]")).collect();
        graph.push(format!(
            "{head}aresample=first_pts=0,aformat=channel_layouts=stereo,asplit={}{labels}",
            audio_labels.len()
        ));
        graph.push(
            "[speech_in]aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono[speech_a]"
                .into(),
        );
    }
    args.push("-filter_complex".into());
    args.push(graph.join(";").into());

    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let no_metadata = strings(&["-map_metadata", "-1", "-map_chapters", "-1"]);
    let aac = strings(&["-c:a", "aac", "-b:a", AAC_BIT_RATE]);
    let h264_mp4 = strings(&[
        "-c:v",
        "libx264",
        "-preset",
        "fast",
        "-crf",
        X264_CRF,
        "-pix_fmt",
        "yuv420p",
        "-force_key_frames",
        "expr:gte(t,n_forced*2)",
        "-fps_mode:v",
        "vfr",
        "-movflags",
        "+faststart",
        "-max_muxing_queue_size",
        "4096",
    ]);
    let mut output = |options: Vec<String>, path: OsString| {
        args.extend(options.into_iter().map(OsString::from));
        args.extend(no_metadata.iter().map(OsString::from));
        args.push(path);
    };
    let mp4 = |video_label: String, audio_label: String| {
        let mut options = vec!["-map".to_owned(), format!("[{video_label}]")];
        if audio.is_some() {
            options.extend(["-map".to_owned(), format!("[{audio_label}]")]);
            options.extend(aac.iter().cloned());
        }
        options.extend(h264_mp4.iter().cloned());
        options
    };
    if spec.video.is_some() {
        if video_proxy {
            output(
                mp4("proxy_v".into(), "proxy_a".into()),
                layout.file("proxy/proxy.mp4").into(),
            );
        }
        for (i, rendition) in spec.renditions.iter().enumerate() {
            output(
                mp4(format!("r{i}_v"), format!("r{i}_a")),
                layout
                    .file(&format!("renditions/{}.mp4", rendition.name))
                    .into(),
            );
        }
        output(
            strings(&[
                "-map",
                "[frames_v]",
                "-fps_mode:v",
                "passthrough",
                "-c:v",
                "mjpeg",
                "-q:v",
                JPEG_QSCALE,
                "-start_number",
                "0",
                "-f",
                "image2",
            ]),
            layout.frames_pattern(),
        );
    }
    if audio.is_some() {
        let mut options = strings(&["-map", "[m4a_a]"]);
        options.extend(aac.iter().cloned());
        options.extend(strings(&["-movflags", "+faststart"]));
        output(options, layout.file("proxy/audio.m4a").into());
        output(
            strings(&["-map", "[speech_a]", "-c:a", "pcm_s16le", "-f", "wav"]),
            layout.file("proxy/speech.wav").into(),
        );
    }
    Ok(args)
}

/// The `select` expression keeping the first frame at or after each capture instant
/// `k / rate` (see the module documentation). The epsilon absorbs the float error of
/// `pts × time_base × rate` for frames exactly on an instant.
fn capture_select(rate: f64) -> String {
    format!(
        "not(isnan(t))*(isnan(prev_selected_t)+gt(floor(t*{rate}+1e-6),\
         floor(prev_selected_t*{rate}+1e-6)))"
    )
}

/// `pan` mixing `n` merged mono channels to stereo: even positions left, odd right, the last
/// of an odd count to both; `<` renormalizes each side so it cannot clip.
fn mono_to_stereo_pan(n: usize) -> String {
    let side = |parity: usize| {
        let mut channels: Vec<String> = (0..n)
            .filter(|i| i % 2 == parity)
            .map(|i| format!("c{i}"))
            .collect();
        if n % 2 == 1 && parity == 1 {
            channels.push(format!("c{}", n - 1));
        }
        channels.join("+")
    };
    format!("pan=stereo|FL<{}|FR<{}", side(0), side(1))
}

/// A filter option value holding a path, escaped for both levels of ffmpeg's filtergraph
/// syntax (option value, then graph).
fn graph_value(path: &Path) -> String {
    escape_graph(&escape_option(&path.to_string_lossy()))
}

/// First level: `\`, `'` and `:` are special in a filter's option value.
fn escape_option(value: &str) -> String {
    escape(value, &['\\', '\'', ':'])
}

/// Second level: `\`, `'`, `[`, `]`, `,` and `;` are special in the graph description.
fn escape_graph(value: &str) -> String {
    escape(value, &['\\', '\'', '[', ']', ',', ';'])
}

fn escape(value: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reads what ffmpeg wrote, builds the manifest and lists the uploads.
async fn collect(
    spec: &ProxySpec,
    layout: &Layout,
    video_proxy: bool,
) -> Result<(ProxyOutputs, Vec<Upload>), TranscodeError> {
    let prefix = &spec.output_prefix;
    let key = |relative: &str| format!("{prefix}{relative}");
    let mut outputs = ProxyOutputs::default();
    let mut uploads = Vec::new();
    let mut add = |relative: &str, path: PathBuf, content_type: &'static str| {
        uploads.push(Upload {
            key: key(relative),
            path,
            content_type,
        });
        key(relative)
    };

    if let Some(video) = &spec.video {
        if video_proxy {
            outputs.proxy = Some(add(
                "proxy/proxy.mp4",
                layout.file("proxy/proxy.mp4"),
                "video/mp4",
            ));
        } else {
            outputs.source_as_proxy = true;
        }
        for rendition in &spec.renditions {
            let relative = format!("renditions/{}.mp4", rendition.name);
            let path = layout.file(&relative);
            outputs
                .renditions
                .push((rendition.name.clone(), add(&relative, path, "video/mp4")));
        }
        let all = read_printed_pts(&layout.file(&format!("meta/{ALL_FRAMES_FILE}"))).await?;
        let captured =
            read_printed_pts(&layout.file(&format!("meta/{CAPTURED_FRAMES_FILE}"))).await?;
        let numbers = frame_numbers(&all, &captured)?;
        let written = count_captures(layout).await?;
        if written != numbers.len() {
            return Err(TranscodeError::Media(format!(
                "ffmpeg wrote {written} frame captures but selected {}; the video may be \
                 damaged (check that it plays, re-export it and upload it again)",
                numbers.len()
            )));
        }
        let mut frames = Vec::with_capacity(numbers.len());
        for (index, (frame_number, pts)) in numbers.iter().enumerate() {
            let relative = capture_key(index);
            frames.push(FrameCapture {
                frame_number: *frame_number,
                timestamp_seconds: *pts as f64 / AV_TIME_BASE,
                key: add(&relative, layout.capture(index), "image/jpeg"),
            });
        }
        for (i, index) in thumbnail_picks(frames.len(), spec.thumbnails as usize)
            .into_iter()
            .enumerate()
        {
            outputs.thumbnails.push(add(
                &format!("thumbnails/thumb-{i}.jpg"),
                layout.capture(index),
                "image/jpeg",
            ));
        }
        let manifest = FrameManifest {
            rate: spec.frame_capture_rate,
            width: video.frames.width,
            height: video.frames.height,
            frames,
        };
        let path = layout.file("frames/manifest.json");
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| TranscodeError::Setup(format!("the frame manifest: {e}")))?;
        tokio::fs::write(&path, json)
            .await
            .map_err(|e| scratch_error(&path, e))?;
        outputs.frame_manifest = Some(add("frames/manifest.json", path, "application/json"));
    }
    if spec.audio.is_some() {
        outputs.audio_proxy = Some(add(
            "proxy/audio.m4a",
            layout.file("proxy/audio.m4a"),
            "audio/mp4",
        ));
        outputs.speech_audio = Some(add(
            "proxy/speech.wav",
            layout.file("proxy/speech.wav"),
            "audio/wav",
        ));
    }
    for upload in &uploads {
        if tokio::fs::metadata(&upload.path).await.is_err() {
            return Err(TranscodeError::Media(format!(
                "ffmpeg finished without writing {}: the source may have no decodable \
                 {} (check that it plays, re-export it and upload it again)",
                upload.key,
                if upload.content_type.starts_with("audio") {
                    "audio"
                } else {
                    "video"
                }
            )));
        }
    }
    Ok((outputs, uploads))
}

/// The `pts:` of every frame a `metadata=mode=print` wrote (`None` for NOPTS); an absent file
/// (no frame reached the printer) is no frames.
async fn read_printed_pts(path: &Path) -> Result<Vec<Option<i64>>, TranscodeError> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => Ok(parse_printed_pts(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(scratch_error(path, e)),
    }
}

fn parse_printed_pts(text: &str) -> Vec<Option<i64>> {
    text.lines()
        .filter(|line| line.starts_with("frame:"))
        .map(|line| {
            line.split_whitespace()
                .find_map(|token| token.strip_prefix("pts:"))
                .and_then(|pts| pts.parse().ok())
        })
        .collect()
}

/// For each captured frame (in order), its source frame number (its position among all the
/// decoded frames) and pts: the captured frames are a subsequence of all of them.
fn frame_numbers(
    all: &[Option<i64>],
    captured: &[Option<i64>],
) -> Result<Vec<(u64, i64)>, TranscodeError> {
    let mut cursor = 0;
    let mut numbers = Vec::with_capacity(captured.len());
    for pts in captured {
        let found = pts.and_then(|pts| {
            let offset = all[cursor..].iter().position(|p| *p == Some(pts))?;
            Some((cursor + offset, pts))
        });
        let Some((at, pts)) = found else {
            return Err(TranscodeError::Media(format!(
                "a frame capture (pts {pts:?}) does not match a decoded frame; the video's \
                 timestamps may be damaged (re-export it and upload it again)"
            )));
        };
        numbers.push((at as u64, pts));
        cursor = at + 1;
    }
    Ok(numbers)
}

/// How many capture JPEGs ffmpeg wrote (they are numbered from 0 without gaps).
async fn count_captures(layout: &Layout) -> Result<usize, TranscodeError> {
    let mut count = 0;
    while tokio::fs::try_exists(layout.capture(count))
        .await
        .map_err(|e| scratch_error(&layout.capture(count), e))?
    {
        count += 1;
    }
    Ok(count)
}

/// `wanted` of `count` captures, evenly spread: the middle of each of `wanted` equal parts
/// (all of them when there are no more than `wanted`).
fn thumbnail_picks(count: usize, wanted: usize) -> Vec<usize> {
    if count <= wanted {
        return (0..count).collect();
    }
    (0..wanted)
        .map(|i| (2 * i + 1) * count / (2 * wanted))
        .collect()
}

/// "ffmpeg version 5.1.9-0+deb12u1 Copyright…" → "5.1.9" (a release's distribution suffix
/// dropped; a git build's version kept whole).
fn version_label(version_output: &str) -> String {
    let version = version_output
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or("(version unknown)");
    match version.split_once('-') {
        Some((release, _))
            if release.contains('.')
                && release.bytes().all(|b| b.is_ascii_digit() || b == b'.') =>
        {
            release.to_owned()
        }
        _ => version.to_owned(),
    }
}

fn tool_failure(error: ToolError, source: &SourceMedia, duration: f64) -> TranscodeError {
    match error {
        ToolError::Failed { stderr_tail, .. } => TranscodeError::Media(format!(
            "ffmpeg could not make the proxies of {}: {}. Check that the file plays; re-export \
             it with a common codec (e.g. H.264 and AAC in MP4) and upload it again",
            source.uri,
            if stderr_tail.is_empty() {
                "it printed nothing"
            } else {
                stderr_tail.as_str()
            }
        )),
        ToolError::TimedOut { after, .. } => TranscodeError::Media(format!(
            "ffmpeg did not finish the proxies of {} ({duration:.1} s long) within {} s and was \
             killed: the file may be damaged, or too long or heavy for the limit (raise the \
             ffmpeg transcoder's timeout)",
            source.uri,
            after.as_secs()
        )),
        missing @ ToolError::Missing { .. } => TranscodeError::Setup(missing.to_string()),
        io @ ToolError::Io { .. } => TranscodeError::Setup(io.to_string()),
    }
}

fn store_failure(bucket: &str, key: &str, error: StoreError) -> TranscodeError {
    let message = format!("uploading s3://{bucket}/{key}: {error}");
    match error {
        StoreError::Unavailable(_) | StoreError::Io { .. } => TranscodeError::Unavailable(message),
        _ => TranscodeError::Setup(message),
    }
}

fn scratch_error(path: &Path, error: std::io::Error) -> TranscodeError {
    TranscodeError::Unavailable(format!(
        "the proxies' scratch folder {}: {error}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::super::{Rendition, VideoSize, spec::VideoSpec};
    use super::*;

    fn spec(video: bool, audio: Option<AudioChoice>, renditions: &[u32]) -> ProxySpec {
        let size = |width, height| VideoSize { width, height };
        ProxySpec {
            asset_id: Uuid::nil(),
            output_prefix: format!("{}/", Uuid::nil()),
            derived_bucket: "derived".into(),
            duration_seconds: 10.0,
            video: video.then(|| VideoSpec {
                stream_index: 0,
                source: size(1920, 1080),
                frames_per_second: 25.0,
                proxy: size(960, 540),
                frames: size(960, 540),
            }),
            audio,
            frame_capture_rate: 1.0,
            thumbnails: 10,
            renditions: renditions
                .iter()
                .map(|&h| Rendition {
                    name: format!("{h}p"),
                    size: size(h * 16 / 9, h),
                })
                .collect(),
        }
    }

    fn args_text(spec: &ProxySpec, root: &str) -> Vec<String> {
        args_text_with(spec, root, true)
    }

    fn args_text_with(spec: &ProxySpec, root: &str, video_proxy: bool) -> Vec<String> {
        arguments(
            spec,
            Path::new("/in/clip.mp4"),
            &Layout::new(Path::new(root)),
            video_proxy,
        )
        .expect("arguments")
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
    }

    fn after<'a>(args: &'a [String], flag: &str) -> &'a str {
        let at = args.iter().position(|a| a == flag).expect(flag);
        &args[at + 1]
    }

    #[test]
    fn one_invocation_maps_every_output() {
        let spec = spec(
            true,
            Some(AudioChoice::Track {
                index: 1,
                channels: 6,
            }),
            &[360, 720],
        );
        let args = args_text(&spec, "/s");
        assert_eq!(args.iter().filter(|a| *a == "-i").count(), 1);
        assert_eq!(after(&args, "-i"), "file:/in/clip.mp4");
        let graph = after(&args, "-filter_complex");
        assert!(
            graph.starts_with("[0:0]split=4[proxy_in][frames_in][r0_in][r1_in];"),
            "{graph}"
        );
        assert!(graph.contains("[proxy_in]scale=960:540,setsar=1,format=yuv420p[proxy_v]"));
        assert!(graph.contains("[r1_in]scale=1280:720,"));
        assert!(graph.contains(
            "[0:1]aresample=first_pts=0,aformat=channel_layouts=stereo,\
             asplit=5[proxy_a][r0_a][r1_a][m4a_a][speech_in]"
        ));
        for output in [
            "/s/proxy/proxy.mp4",
            "/s/renditions/360p.mp4",
            "/s/renditions/720p.mp4",
            "/s/frames/frame-%05d.jpg",
            "/s/proxy/audio.m4a",
            "/s/proxy/speech.wav",
        ] {
            assert!(args.iter().any(|a| a == output), "{output} in {args:?}");
        }
        // Every mapped label is produced by the graph, and every graph output is mapped.
        let mapped: Vec<&String> = args
            .iter()
            .zip(args.iter().skip(1))
            .filter(|(flag, _)| *flag == "-map")
            .map(|(_, label)| label)
            .collect();
        assert_eq!(mapped.len(), 9);
        for label in mapped {
            assert!(graph.contains(label.as_str()), "{label}");
        }
    }

    #[test]
    fn without_the_video_proxy_nothing_is_encoded_but_the_rest_is_made() {
        let spec = spec(
            true,
            Some(AudioChoice::Track {
                index: 1,
                channels: 2,
            }),
            &[],
        );
        let args = args_text_with(&spec, "/s", false);
        let graph = after(&args, "-filter_complex");
        assert!(graph.starts_with("[0:0]split=1[frames_in];"), "{graph}");
        assert!(!graph.contains("proxy_"), "{graph}");
        assert!(graph.contains("asplit=2[m4a_a][speech_in]"), "{graph}");
        assert!(!args.iter().any(|a| a == "libx264"), "{args:?}");
        assert!(!args.iter().any(|a| a == "/s/proxy/proxy.mp4"), "{args:?}");
        for output in [
            "/s/frames/frame-%05d.jpg",
            "/s/proxy/audio.m4a",
            "/s/proxy/speech.wav",
        ] {
            assert!(args.iter().any(|a| a == output), "{output} in {args:?}");
        }
    }

    #[test]
    fn without_audio_and_audio_only() {
        let args = args_text(&spec(true, None, &[]), "/s");
        let graph = after(&args, "-filter_complex");
        assert!(!graph.contains("asplit"), "{graph}");
        assert!(
            !args
                .iter()
                .any(|a| a.ends_with(".wav") || a.ends_with(".m4a"))
        );
        assert!(!args.iter().any(|a| a == "-c:a"));

        let mono = AudioChoice::MixMono {
            indexes: vec![1, 2, 3, 4],
        };
        let args = args_text(&spec(false, Some(mono), &[720]), "/s");
        let graph = after(&args, "-filter_complex");
        assert!(
            graph.starts_with(
                "[0:1][0:2][0:3][0:4]amerge=inputs=4,pan=stereo|FL<c0+c2|FR<c1+c3,aresample"
            ),
            "{graph}"
        );
        assert!(graph.contains("asplit=2[m4a_a][speech_in]"));
        assert!(
            !args
                .iter()
                .skip(8)
                .any(|a| a.ends_with(".mp4") || a.ends_with(".jpg"))
        );
    }

    #[test]
    fn pan_for_odd_counts() {
        assert_eq!(mono_to_stereo_pan(2), "pan=stereo|FL<c0|FR<c1");
        assert_eq!(mono_to_stereo_pan(3), "pan=stereo|FL<c0+c2|FR<c1+c2");
        assert_eq!(mono_to_stereo_pan(5), "pan=stereo|FL<c0+c2+c4|FR<c1+c3+c4");
    }

    #[test]
    fn paths_are_escaped_for_the_graph() {
        assert_eq!(
            graph_value(Path::new("/tmp/a:b/it's [x],y;z\\w")),
            r"/tmp/a\\:b/it\\\'s \[x\]\,y\;z\\\\w"
        );
        let args = args_text(&spec(true, None, &[]), "/tmp/100%");
        assert!(args.iter().any(|a| a == "/tmp/100%%/frames/frame-%05d.jpg"));
    }

    #[test]
    fn unsafe_rendition_names_are_refused() {
        let mut spec = spec(true, None, &[720]);
        spec.renditions[0].name = "../x".into();
        let err = arguments(&spec, Path::new("/in"), &Layout::new(Path::new("/s")), true);
        assert!(matches!(err, Err(TranscodeError::Setup(_))));
    }

    #[test]
    fn impossible_mixes_are_refused() {
        for n in [0usize, 1, 65] {
            let mix = AudioChoice::MixMono {
                indexes: (1..=n as u32).collect(),
            };
            let err = arguments(
                &spec(false, Some(mix), &[]),
                Path::new("/in"),
                &Layout::new(Path::new("/s")),
                true,
            );
            assert!(matches!(err, Err(TranscodeError::Setup(_))), "{n}");
        }
    }

    #[test]
    fn printed_frames_parse_and_match() {
        let all = "frame:0    pts:0       pts_time:0\nmediasift=1\n\
                   frame:1    pts:40000   pts_time:0.04\nmediasift=1\n\
                   frame:2    pts:NOPTS   pts_time:NOPTS\nmediasift=1\n\
                   frame:3    pts:1000000 pts_time:1\nmediasift=1\n";
        let all = parse_printed_pts(all);
        assert_eq!(all, vec![Some(0), Some(40_000), None, Some(1_000_000)]);
        let captured = parse_printed_pts("frame:0 pts:0 pts_time:0\nframe:1 pts:1000000 x\n");
        assert_eq!(
            frame_numbers(&all, &captured).expect("matches"),
            vec![(0, 0), (3, 1_000_000)]
        );
        // Repeated timestamps match in order.
        let all = vec![Some(5), Some(5), Some(9)];
        assert_eq!(
            frame_numbers(&all, &[Some(5), Some(5)]).expect("matches"),
            vec![(0, 5), (1, 5)]
        );
        assert!(frame_numbers(&all, &[Some(9), Some(5)]).is_err());
        assert!(frame_numbers(&all, &[None]).is_err());
    }

    #[test]
    fn thumbnails_spread_evenly() {
        assert_eq!(thumbnail_picks(0, 10), Vec::<usize>::new());
        assert_eq!(thumbnail_picks(3, 10), vec![0, 1, 2]);
        assert_eq!(thumbnail_picks(10, 10), (0..10).collect::<Vec<_>>());
        assert_eq!(
            thumbnail_picks(250, 10),
            vec![12, 37, 62, 87, 112, 137, 162, 187, 212, 237]
        );
        assert_eq!(thumbnail_picks(11, 10).len(), 10);
    }

    #[test]
    fn a_version_query_that_hangs_is_killed_and_the_version_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let hangs = dir.path().join("ffmpeg");
        std::fs::write(&hangs, "#!/bin/sh\nexec sleep 600\n").unwrap();
        std::fs::set_permissions(&hangs, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        assert_eq!(ask_version(hangs.to_str().unwrap()), None);
        assert!(ask_version("ffmpeg").is_some(), "ffmpeg answers -version");
    }

    #[test]
    fn version_labels() {
        assert_eq!(
            version_label("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026"),
            "5.1.9"
        );
        assert_eq!(version_label("ffmpeg version 7.1 Copyright"), "7.1");
        assert_eq!(
            version_label("ffmpeg version N-109231-gabc Copyright"),
            "N-109231-gabc"
        );
        assert_eq!(version_label("garbage"), "(version unknown)");
    }

    #[test]
    fn timeout_scales_with_duration() {
        let t = FfmpegTranscoder::default();
        assert_eq!(t.timeout_for(0.0), Duration::from_secs(60));
        assert_eq!(t.timeout_for(10.0), Duration::from_secs(100));
        assert_eq!(t.timeout_for(-5.0), Duration::from_secs(60));
        assert_eq!(t.timeout_for(f64::INFINITY), Duration::MAX);
        assert!(t.needs_local_source());
    }
}
