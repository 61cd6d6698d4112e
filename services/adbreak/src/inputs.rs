//! What ad-break placement reads, by shape: `scenes.json` (scene service), `shots.json`
//! (video service), `silences.json`, `loudness.json` and `transcript.json` (audio service).
//! Services never import each other; these structs name only the fields used here, and
//! unknown fields are ignored, so the producers may add to their documents freely.

use serde::Deserialize;

/// `<assetId>/scene/scenes.json`: the content's length and rate, and every shot boundary.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenesDoc {
    pub duration_seconds: f64,
    #[serde(default)]
    pub frame_rate: f64,
    #[serde(default)]
    pub frame_rate_rational: String,
    /// Every shot boundary in time order, whether or not a scene starts there.
    pub boundaries: Vec<BoundaryDoc>,
}

/// A shot boundary of `scenes.json`: the first frame of `shot_after`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundaryDoc {
    pub seconds: f64,
    pub frame: u64,
    #[serde(default)]
    pub shot_before: u32,
    #[serde(default)]
    pub shot_after: u32,
    /// A scene starts here.
    #[serde(default)]
    pub scene_boundary: bool,
    /// 0 (alike) to 1 (nothing in common).
    #[serde(default)]
    pub visual_distance: f64,
    #[serde(default)]
    pub black: bool,
    #[serde(default)]
    pub fade: bool,
    #[serde(default)]
    pub in_dialogue: bool,
    /// Why a scene does or does not start here (`visualChange`, `dialogue`, ...).
    #[serde(default)]
    pub decision: Option<String>,
}

/// `<assetId>/video/shots.json`: only its technical cues are read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShotsDoc {
    #[serde(default)]
    pub cues: Vec<CueDoc>,
}

/// A technical cue: `Black`, `FadeIn`, `FadeOut`, `ColourBars`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CueDoc {
    pub kind: String,
    pub start_seconds: f64,
    pub end_seconds: f64,
}

/// `<assetId>/audio/silences.json`: the programme's silences (where every sounding track is
/// silent at once).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SilencesDoc {
    pub programme: Vec<Span>,
}

/// A stretch of time, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub start_seconds: f64,
    pub end_seconds: f64,
}

/// `<assetId>/audio/loudness.json`: per-track loudness series.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoudnessDoc {
    pub tracks: Vec<TrackDoc>,
}

/// One track of `loudness.json` (its measurement is flattened into it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackDoc {
    #[serde(default)]
    pub silent: bool,
    pub series_interval_seconds: f64,
    /// Momentary loudness (400 ms) at the end of every interval; `null` under the −70 LUFS
    /// gate.
    #[serde(default)]
    pub momentary_series: Vec<Option<f64>>,
    /// Short-term loudness (3 s) at the end of every interval.
    #[serde(default)]
    pub short_term_series: Vec<Option<f64>>,
}

/// `<assetId>/audio/transcript.json`: only its timed words are read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptDoc {
    #[serde(default)]
    pub words: Vec<WordDoc>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WordDoc {
    #[serde(default)]
    pub text: String,
    pub start: f64,
    pub end: f64,
}

/// The programme's loudness: at every sample, the loudest track that carries sound (every
/// track when none does). Sample `i` is the loudness at the end of second `(i + 1) ×
/// interval`; `None` is under the −70 LUFS gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Loudness {
    pub interval: f64,
    pub momentary: Vec<Option<f64>>,
    pub short_term: Vec<Option<f64>>,
}

impl Loudness {
    /// The programme series of `doc`; `None` when it has no track with a series.
    pub fn from_doc(doc: &LoudnessDoc) -> Option<Self> {
        let usable: Vec<&TrackDoc> = doc
            .tracks
            .iter()
            .filter(|t| t.series_interval_seconds > 0.0 && t.series_interval_seconds.is_finite())
            .collect();
        let sounding: Vec<&TrackDoc> = usable.iter().copied().filter(|t| !t.silent).collect();
        let tracks = if sounding.is_empty() {
            usable
        } else {
            sounding
        };
        let interval = tracks.first()?.series_interval_seconds;
        Some(Self {
            interval,
            momentary: loudest(&tracks, false),
            short_term: loudest(&tracks, true),
        })
    }

    /// The time sample `i` was measured at (the end of its window).
    pub fn time(&self, i: usize) -> f64 {
        (i + 1) as f64 * self.interval
    }
}

/// At every sample, the loudest value among `tracks` (`None` when every one is gated or
/// has ended).
fn loudest(tracks: &[&TrackDoc], short_term: bool) -> Vec<Option<f64>> {
    let all: Vec<&[Option<f64>]> = tracks
        .iter()
        .map(|t| {
            if short_term {
                t.short_term_series.as_slice()
            } else {
                t.momentary_series.as_slice()
            }
        })
        .collect();
    let len = all.iter().map(|s| s.len()).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            all.iter()
                .filter_map(|s| s.get(i).copied().flatten())
                .filter(|v| v.is_finite())
                .reduce(f64::max)
        })
        .collect()
}

/// Everything placement works from, read and checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inputs {
    pub duration_seconds: f64,
    pub boundaries: Vec<BoundaryDoc>,
    /// Technical cues of `shots.json` (empty when it was not available).
    pub cues: Vec<CueDoc>,
    /// The programme's silences; `None` when `silences.json` was not available.
    pub silences: Option<Vec<Span>>,
    /// `None` when `loudness.json` was not available.
    pub loudness: Option<Loudness>,
    /// Timed words in start order; `None` when `transcript.json` was not available.
    pub words: Option<Vec<WordDoc>>,
}

impl Inputs {
    /// Sorts what must be sorted and drops what cannot be placed in time (non-finite times).
    pub fn normalised(mut self) -> Self {
        self.boundaries
            .retain(|b| b.seconds.is_finite() && b.seconds >= 0.0);
        self.boundaries
            .sort_by(|a, b| a.seconds.total_cmp(&b.seconds).then(a.frame.cmp(&b.frame)));
        self.cues
            .retain(|c| c.start_seconds.is_finite() && c.end_seconds.is_finite());
        if let Some(silences) = &mut self.silences {
            silences.retain(|s| {
                s.start_seconds.is_finite()
                    && s.end_seconds.is_finite()
                    && s.end_seconds >= s.start_seconds
            });
            silences.sort_by(|a, b| a.start_seconds.total_cmp(&b.start_seconds));
        }
        if let Some(words) = &mut self.words {
            words.retain(|w| w.start.is_finite() && w.end.is_finite() && w.end >= w.start);
            words.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.end.total_cmp(&b.end)));
        }
        self
    }
}
