//! What the estimate needs to know about one file, measured locally with the services' own
//! library code: its kind and probe (as ingest decides them), the proxies ingest would plan,
//! for video the shots and the dynamic frame selection (and Media2Cloud V4's selection on the
//! same captures and shots), for audio the loudness of every track (a silent asset is not
//! transcribed; silences are not speech), for images their size, for documents their pages'
//! text layer.

use std::path::{Path, PathBuf};

use anyhow::Context;
use mediasift_ingest::options::{self, Layer};
use mediasift_ingest::proxy::{AudioChoice, ProxySpec};
use mediasift_media::frames::{self, FrameOptions};
use mediasift_media::kind::{self, MediaKind};
use mediasift_media::loudness::{self, LoudnessOptions};
use mediasift_media::probe::{MediaSummary, ProbeOptions};
use mediasift_media::selection::{self, Capture, DEFAULT_THRESHOLD};
use mediasift_media::shots::{self, CueKind, Shots};
use mediasift_media::{image, pdf};
use mediasift_scene::grouping::{self, Cues, ShotSpan, Span};
use mediasift_scene::report::GroupingSettings;
use mediasift_schemas::{AnalysisKind, AnalysisPlan, MediaType, PDF_PASSWORD_OPTION};
use serde::Serialize;

use super::m2c;

/// Media2Cloud V4's capture rate for dynamic frames.
pub const M2C_RATE: f64 = 1.0;

/// One file, measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub path: PathBuf,
    pub kind: MediaKind,
    pub size_bytes: u64,
    /// Seconds (0 for images and documents).
    pub duration_seconds: f64,
    /// The plan ingest would resolve for it from the defaults and the given options.
    pub plan: AnalysisPlan,
    /// The analyses the defaults alone would plan (for the like-for-like comparison).
    pub default_analyses: Vec<AnalysisKind>,
    /// What ingest would ask the transcoder (MediaConvert on AWS) for: video and audio.
    pub proxy: Option<ProxySpec>,
    pub video: Option<VideoFacts>,
    pub audio: Option<AudioFacts>,
    pub image: Option<ImageFacts>,
    pub document: Option<DocumentFacts>,
}

/// The shots and the frame selections of one video.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoFacts {
    pub width: u32,
    pub height: u32,
    pub frame_rate: f64,
    pub shots: u32,
    /// Black and colour-bar stretches (one group each in mediasift's selection).
    pub still_cues: u32,
    /// mediasift's captures at the plan's `frameCaptureRate`.
    pub rate: f64,
    pub captures: u32,
    pub groups: u32,
    /// Captures sent to vision: Rekognition calls per feature.
    pub selected_for_vision: u32,
    /// Groups that reuse another group's results instead of a call.
    pub reused: u32,
    /// mediasift's selection on the 1-fps captures (the same as `selected_for_vision` at the
    /// default rate), for the like-for-like comparison.
    pub selected_at_one_fps: u32,
    /// Media2Cloud V4's selection on 1-fps captures within the same shots.
    pub media2cloud_captures: u32,
    pub media2cloud_selected: u32,
    /// Scenes the scene service would describe, at most: the grouping of the shots without
    /// the colour likeness and speech that can only join shots (see [`scene_spans`]).
    pub scenes_at_most: u32,
    /// Per scene: (seconds, captures inside it).
    #[serde(skip)]
    pub scene_spans: Vec<(f64, f64, u32)>,
    /// ffmpeg decodes of the video made for this: shots, captures (and 1-fps captures for
    /// Media2Cloud when the plan's rate is not 1).
    pub decodes: u32,
    pub decode_seconds: f64,
}

/// The audio tracks' loudness.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioFacts {
    pub tracks: u32,
    /// Every track is silent (max momentary loudness under -50 LUFS): nothing is transcribed.
    pub all_silent: bool,
    /// Seconds of the loudest-carrying track outside its silences (speech cannot be longer).
    pub sounding_seconds: f64,
    /// The same per 60-second window, for the language windows.
    pub sounding_per_minute: Vec<f64>,
    /// Silence stretches of that track (start, end), for the scenes' dialogue.
    #[serde(skip)]
    pub silences: Vec<(f64, f64)>,
}

impl AudioFacts {
    /// Seconds outside silences within `start..end`.
    pub fn sounding_between(&self, start: f64, end: f64) -> f64 {
        let silent: f64 = self
            .silences
            .iter()
            .map(|(s, e)| (e.min(end) - s.max(start)).max(0.0))
            .sum();
        (end - start - silent).max(0.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFacts {
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentFacts {
    pub pages: u32,
    /// Pages whose text layer has text (the others go to OCR: Textract on AWS).
    pub pages_with_text: u32,
    /// The document needs a password the options did not give: nothing is read.
    pub locked: bool,
    /// Characters of each page's text layer.
    pub page_chars: Vec<usize>,
}

/// The options given with `--options`: a layer over the defaults, as an upload's own
/// `x-amz-meta-mediasift-options` is.
#[derive(Debug, Clone)]
pub struct GivenOptions {
    pub layer: Option<Layer>,
}

impl GivenOptions {
    fn pdf_password(&self) -> Option<&str> {
        self.layer
            .as_ref()
            .and_then(|l| l.options.get(PDF_PASSWORD_OPTION))
            .and_then(|p| p.as_str())
    }
}

/// Measures `path`.
pub async fn measure(path: &Path, given: &GivenOptions) -> anyhow::Result<Measured> {
    let size_bytes = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let detected = kind::detect_with(
        path,
        ProbeOptions {
            mediainfo: false,
            ..ProbeOptions::default()
        },
    )
    .await?;
    let summary = detected.summary().cloned().unwrap_or_default();
    let media_type = match detected.kind {
        MediaKind::Video => MediaType::Video,
        MediaKind::Audio => MediaType::Audio,
        MediaKind::Image => MediaType::Image,
        MediaKind::Document => MediaType::Document,
    };
    let layers: Vec<Layer> = given.layer.iter().cloned().collect();
    let plan = options::resolve(media_type, summary.has_audio(), &layers)?;
    let default_analyses = options::resolve(media_type, summary.has_audio(), &[])?.analyses;
    let mut measured = Measured {
        path: path.to_path_buf(),
        kind: detected.kind,
        size_bytes,
        duration_seconds: 0.0,
        plan,
        default_analyses,
        proxy: None,
        video: None,
        audio: None,
        image: None,
        document: None,
    };
    match detected.kind {
        MediaKind::Video | MediaKind::Audio => {
            let spec = ProxySpec::plan(
                uuid::Uuid::nil(),
                "derived",
                &summary,
                measured.plan.options.frame_capture_rate,
                &measured.plan.options.renditions,
            )
            .with_context(|| {
                format!(
                    "ingest could not plan the proxies of {} (it would fail the asset)",
                    path.display()
                )
            })?;
            measured.duration_seconds = spec.duration_seconds;
            if summary.has_audio() {
                measured.audio = Some(audio_facts(path, &summary, spec.duration_seconds).await?);
            }
            if detected.kind == MediaKind::Video {
                measured.video = Some(video_facts(path, &measured, &spec).await?);
            }
            measured.proxy = Some(spec);
        }
        MediaKind::Image => {
            let facts = image::inspect(path, &image::ImageLimits::default())
                .await
                .with_context(|| format!("cannot read the image {}", path.display()))?;
            measured.image = Some(ImageFacts {
                width: facts.display_width,
                height: facts.display_height,
            });
        }
        MediaKind::Document => {
            measured.document = Some(document_facts(path, given.pdf_password()).await?);
        }
    }
    Ok(measured)
}

async fn video_facts(
    path: &Path,
    measured: &Measured,
    spec: &ProxySpec,
) -> anyhow::Result<VideoFacts> {
    let shots = shots::detect_shots(path)
        .await
        .with_context(|| format!("cannot detect the shots of {}", path.display()))?;
    let rate = measured.plan.options.frame_capture_rate;
    let captured = frames::capture(
        path,
        &FrameOptions {
            rate,
            ..FrameOptions::default()
        },
    )
    .await
    .with_context(|| format!("cannot capture the frames of {}", path.display()))?;
    let mut decodes = 2;
    let mut decode_seconds = captured.decode_elapsed.as_secs_f64();
    let (starts, stills) = selection::shot_starts_and_stills(&shots);
    let chosen =
        selection::select_with_stills(&captured.captures, &starts, &stills, DEFAULT_THRESHOLD);
    let m2c_captures: Vec<Capture> = if (rate - M2C_RATE).abs() < 1e-9 {
        captured.captures.clone()
    } else {
        let again = frames::capture(
            path,
            &FrameOptions {
                rate: M2C_RATE,
                ..FrameOptions::default()
            },
        )
        .await
        .with_context(|| format!("cannot capture the frames of {}", path.display()))?;
        decodes += 1;
        decode_seconds += again.decode_elapsed.as_secs_f64();
        again.captures
    };
    let at_one_fps =
        selection::select_with_stills(&m2c_captures, &starts, &stills, DEFAULT_THRESHOLD);
    let scene_spans = scene_spans(&shots, &captured.captures);
    let (width, height) = spec
        .video
        .as_ref()
        .map_or((0, 0), |v| (v.source.width, v.source.height));
    Ok(VideoFacts {
        width,
        height,
        frame_rate: shots.frame_rate,
        shots: shots.shots.len() as u32,
        still_cues: stills.len() as u32,
        rate,
        captures: chosen.totals.captures,
        groups: chosen.totals.groups,
        selected_for_vision: chosen.totals.selected_for_vision,
        reused: chosen.totals.reused,
        selected_at_one_fps: at_one_fps.totals.selected_for_vision,
        media2cloud_captures: m2c_captures.len() as u32,
        media2cloud_selected: m2c::selected(&m2c_captures, &starts),
        scenes_at_most: scene_spans.len() as u32,
        scene_spans,
        decodes,
        decode_seconds,
    })
}

/// The scenes the scene service's grouping makes of the shots when no two shots look alike
/// and nobody speaks: colour likeness and dialogue only ever join shots into fewer scenes, so
/// this is an upper bound on the scenes (and so on the descriptions). Each with its
/// captures, as the grids are made of them.
fn scene_spans(shots: &Shots, captures: &[Capture]) -> Vec<(f64, f64, u32)> {
    let spans: Vec<ShotSpan> = shots
        .shots
        .iter()
        .map(|s| ShotSpan {
            index: s.index as u32,
            start_seconds: s.start_seconds,
            end_seconds: s.end_seconds,
            start_frame: s.start_frame,
            end_frame: s.end_frame,
            start_timecode: s.start_timecode.clone(),
            end_timecode: s.end_timecode.clone(),
        })
        .collect();
    let mut cues = Cues::default();
    for cue in &shots.cues {
        let span = Span {
            start: cue.start_seconds,
            end: cue.end_seconds,
        };
        match cue.kind {
            CueKind::Black => cues.black.push(span),
            CueKind::FadeOut => cues.fade_outs.push(span),
            CueKind::FadeIn => cues.fade_ins.push(span),
            CueKind::ColourBars => {}
        }
    }
    let looks = vec![None; spans.len()];
    let grouped = grouping::group(&spans, &looks, &cues, &[], &GroupingSettings::default());
    grouped
        .scenes
        .iter()
        .map(|scene| {
            let start = spans[scene.first].start_seconds;
            let end = spans[scene.last].end_seconds;
            let inside = captures
                .iter()
                .filter(|c| c.timestamp >= start && c.timestamp < end)
                .count() as u32;
            (start, end, inside)
        })
        .collect()
}

async fn audio_facts(
    path: &Path,
    summary: &MediaSummary,
    duration: f64,
) -> anyhow::Result<AudioFacts> {
    let report = loudness::analyse_file(path, &LoudnessOptions::default())
        .await
        .with_context(|| format!("cannot measure the loudness of {}", path.display()))?;
    let all_silent = report.tracks.iter().all(|t| t.loudness.silent);
    // The track the speech WAV comes from (ingest's choice); its silences bound the speech.
    let chosen = match AudioChoice::choose(&summary.audio_tracks) {
        Some(AudioChoice::Track { index, .. }) => report
            .tracks
            .iter()
            .find(|t| t.stream_index == index && !t.loudness.silent),
        _ => None,
    }
    .or_else(|| report.tracks.iter().find(|t| !t.loudness.silent));
    let silences: Vec<(f64, f64)> = match chosen {
        Some(track) => track
            .loudness
            .silences
            .iter()
            .map(|s| (s.start_seconds, s.end_seconds))
            .collect(),
        None => vec![(0.0, duration)],
    };
    let mut facts = AudioFacts {
        tracks: report.tracks.len() as u32,
        all_silent,
        sounding_seconds: 0.0,
        sounding_per_minute: Vec::new(),
        silences,
    };
    facts.sounding_seconds = facts.sounding_between(0.0, duration);
    let minutes = (duration / 60.0).ceil() as usize;
    facts.sounding_per_minute = (0..minutes)
        .map(|m| {
            let start = m as f64 * 60.0;
            facts.sounding_between(start, (start + 60.0).min(duration))
        })
        .collect();
    Ok(facts)
}

async fn document_facts(path: &Path, password: Option<&str>) -> anyhow::Result<DocumentFacts> {
    let facts = match pdf::inspect_with_password(path, password).await {
        Ok(facts) => facts,
        Err(pdf::PdfError::WrongPassword { .. }) => {
            return Ok(DocumentFacts {
                pages: 0,
                pages_with_text: 0,
                locked: true,
                page_chars: Vec::new(),
            });
        }
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read the PDF {}", path.display()));
        }
    };
    if facts.needs_password {
        return Ok(DocumentFacts {
            pages: facts.pages.unwrap_or(0),
            pages_with_text: 0,
            locked: true,
            page_chars: Vec::new(),
        });
    }
    let texts = pdf::page_texts(path, password)
        .await
        .with_context(|| format!("cannot read the text of {}", path.display()))?;
    Ok(DocumentFacts {
        pages: texts.len() as u32,
        pages_with_text: texts.iter().filter(|t| !t.trim().is_empty()).count() as u32,
        locked: false,
        page_chars: texts.iter().map(|t| t.trim().chars().count()).collect(),
    })
}
