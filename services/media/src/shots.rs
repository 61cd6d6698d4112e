//! Shot boundaries and technical cues (black, fade-in, fade-out, colour bars) from one decode of
//! a video.
//!
//! The decode ([`crate::decode`]) streams small RGB frames; an [`Analyzer`] turns each into a
//! few numbers ([`FrameStats`]: mean luma, its spread, the difference to the previous frame,
//! a dissolve test over a short window, and whether the frame shows colour bars) keeping only
//! the last [`DetectorConfig::gradual_window`] frames, so memory does not grow with the video
//! beyond a few floats per frame. [`detect`], a pure function of those numbers, then finds:
//!
//! - **hard cuts**: the mean absolute luma difference to the previous frame is at least
//!   [`DetectorConfig::hard_min`] *and* [`DetectorConfig::hard_ratio`] times the average
//!   difference of the frames around it (an adaptive threshold, so fast motion raises the bar);
//! - **gradual transitions** (dissolves): over a window of `gradual_window` frames the first and
//!   last frames differ by at least `gradual_min`, and the frames in between are close to the
//!   linear mix of the two ends, as a dissolve is and camera or subject motion is not;
//! - **black** segments: frames whose mean luma is at most `black_luma` with a spread of at most
//!   `black_spread`;
//! - **fade-out / fade-in**: runs of at least `fade_min_frames` frames whose luma falls steadily
//!   into (or rises steadily out of) a black segment;
//! - **colour bars** (SMPTE, SMPTE HD, EBU): runs of at least `bars_min_frames` frames whose
//!   columns are vertically uniform over the top `bars_rows` of the picture and which show at
//!   least `bars_min_bands` bands in the bars' left-to-right order (white or grey, yellow, cyan,
//!   green, magenta, red, blue). Cuts inside a bars segment are dropped (a change of bars
//!   pattern is not a shot); the cuts into and out of it stay.
//!
//! Timestamps assume a constant frame rate (the stream's `r_frame_rate`): frame `n` starts at
//! `n / rate` from the start of the stream. Timecodes are SMPTE, drop-frame at 29.97 and 59.94.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mediasift_media::shots::ShotsError> {
//! let shots = mediasift_media::shots::detect_shots("clip.mp4").await?;
//! for shot in &shots.shots {
//!     println!("{} {} - {}", shot.index, shot.start_timecode, shot.end_timecode);
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::decode::{self, DecodeOptions};
use crate::probe::{self, ProbeError};
use crate::process::ToolError;

/// A frame rate as an exact fraction (e.g. 30000/1001).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rational {
    pub num: u32,
    pub den: u32,
}

impl Rational {
    /// `num/den`; `None` when either is zero.
    pub fn new(num: u32, den: u32) -> Option<Rational> {
        (num > 0 && den > 0).then_some(Rational { num, den })
    }

    /// Parses "30000/1001" or "25"; `None` for "0/0", zero, or garbage.
    pub fn parse(text: &str) -> Option<Rational> {
        let text = text.trim();
        match text.split_once('/') {
            Some((num, den)) => Rational::new(num.trim().parse().ok()?, den.trim().parse().ok()?),
            None => Rational::new(text.parse().ok()?, 1),
        }
    }

    /// Frames per second.
    pub fn fps(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// Seconds from the start of the stream to the start of `frame`.
    pub fn seconds(self, frame: u64) -> f64 {
        frame as f64 * f64::from(self.den) / f64::from(self.num)
    }

    /// The whole number of frames a timecode counts per second (30 for 29.97).
    pub fn nominal_fps(self) -> u64 {
        ((self.fps()).round() as u64).max(1)
    }

    /// True for the NTSC rates counted in drop-frame timecode: 30000/1001 and 60000/1001.
    pub fn is_drop_frame(self) -> bool {
        let n = self.nominal_fps();
        (n == 30 || n == 60) && u64::from(self.num) * 1001 == n * 1000 * u64::from(self.den)
    }
}

impl std::fmt::Display for Rational {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// The SMPTE timecode of `frame` (counted from 00:00:00:00) at `rate`: drop-frame
/// `HH:MM:SS;FF` at 29.97 and 59.94 fps (frame numbers 0 and 1, or 0–3 at 59.94, are skipped at
/// the start of every minute except each tenth), non-drop `HH:MM:SS:FF` otherwise, counting
/// the rate rounded to whole frames (24 at 23.976). Hours do not wrap at 24.
pub fn timecode(frame: u64, rate: Rational) -> String {
    let fps = rate.nominal_fps();
    let mut number = frame;
    let mut separator = ':';
    if rate.is_drop_frame() {
        let drop = fps / 15; // 2 at 29.97, 4 at 59.94
        let per_ten_minutes = fps * 600 - drop * 9;
        let per_minute = fps * 60 - drop;
        let tens = frame / per_ten_minutes;
        let rest = frame % per_ten_minutes;
        number += drop * 9 * tens;
        if rest > drop {
            number += drop * ((rest - drop) / per_minute);
        }
        separator = ';';
    }
    let f = number % fps;
    let s = number / fps;
    format!(
        "{:02}:{:02}:{:02}{separator}{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        f
    )
}

/// The detector's thresholds. Luma values are on the 0–255 scale of full-range BT.601 luma.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectorConfig {
    /// Smallest mean absolute luma difference to the previous frame that can be a hard cut.
    pub hard_min: f32,
    /// A hard cut's difference must be this many times the average difference of the
    /// `hard_window` frames on each side.
    pub hard_ratio: f32,
    /// Frames on each side of a candidate cut that set its adaptive threshold.
    pub hard_window: usize,
    /// Two cuts closer than this many frames keep only the stronger (also the shortest shot).
    pub min_shot_frames: u64,
    /// Frames spanned by the dissolve test (first to last).
    pub gradual_window: usize,
    /// Smallest mean absolute difference between the window's first and last frame.
    pub gradual_min: f32,
    /// Largest distance of the in-between frames from the linear mix of the ends, as a
    /// fraction of the ends' difference.
    pub gradual_linearity: f32,
    /// Shortest run of passing windows that makes a gradual transition.
    pub gradual_min_run: usize,
    /// Highest mean luma of a black frame.
    pub black_luma: f32,
    /// Highest standard deviation of luma of a black frame.
    pub black_spread: f32,
    /// Shortest black segment reported as a cue (fades may still lean on shorter ones).
    pub black_min_frames: u64,
    /// Shortest fade.
    pub fade_min_frames: u64,
    /// A fade must climb at least this much mean luma above the black it starts or ends in.
    pub fade_min_rise: f32,
    /// The top fraction of the picture whose columns must be uniform in colour bars: SMPTE
    /// bars fill the top 2/3, SMPTE HD bars 7/12, EBU bars all of it.
    pub bars_rows: f32,
    /// Highest standard deviation (0–255) of a colour channel down a uniform column.
    pub bars_column_spread: f32,
    /// Smallest fraction of the columns that must be uniform.
    pub bars_uniform_columns: f32,
    /// Fewest bands, in the bars' order, that make colour bars (7 in a full set).
    pub bars_min_bands: usize,
    /// Shortest colour-bars segment reported as a cue.
    pub bars_min_frames: u64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            hard_min: 20.0,
            hard_ratio: 3.0,
            hard_window: 8,
            min_shot_frames: 10,
            gradual_window: 8,
            gradual_min: 12.0,
            gradual_linearity: 0.25,
            gradual_min_run: 3,
            black_luma: 32.0,
            black_spread: 12.0,
            black_min_frames: 1,
            fade_min_frames: 5,
            fade_min_rise: 24.0,
            bars_rows: 0.55,
            bars_column_spread: 12.0,
            bars_uniform_columns: 0.8,
            bars_min_bands: 6,
            bars_min_frames: 5,
        }
    }
}

/// What the detector keeps of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameStats {
    /// Mean luma (0–255).
    pub mean: f32,
    /// Standard deviation of luma.
    pub spread: f32,
    /// Mean absolute luma difference to the previous frame (0 for the first frame).
    pub diff: f32,
    /// Mean absolute difference between this frame and the one `gradual_window` frames back
    /// (0 until there is one).
    pub span_diff: f32,
    /// How far the frames in between are from the linear mix of those two, as a fraction of
    /// `span_diff` (1 when undefined).
    pub linearity: f32,
    /// The frame shows colour bars (see [`looks_like_colour_bars`]); always false for frames
    /// given as luma.
    pub colour_bars: bool,
}

/// Turns decoded frames into [`FrameStats`], one frame at a time.
#[derive(Debug)]
pub struct Analyzer {
    config: DetectorConfig,
    /// The last `gradual_window + 1` luma frames, oldest first.
    recent: VecDeque<Vec<u8>>,
    /// The luma buffer of the frame that left `recent`, reused for the next frame: no
    /// allocation per frame once the window is full.
    spare: Vec<u8>,
    stats: Vec<FrameStats>,
}

impl Analyzer {
    pub fn new(config: DetectorConfig) -> Self {
        Analyzer {
            config,
            recent: VecDeque::new(),
            spare: Vec::new(),
            stats: Vec::new(),
        }
    }

    /// Adds a decoded frame.
    pub fn push_frame(&mut self, frame: &decode::Frame<'_>) {
        self.push_rgb(frame.rgb, frame.width as usize, frame.height as usize);
    }

    /// Adds a frame of `width` x `height` RGB24 pixels, row by row (converted to BT.601 luma,
    /// and tested for colour bars).
    pub fn push_rgb(&mut self, rgb: &[u8], width: usize, height: usize) {
        let colour_bars = looks_like_colour_bars(rgb, width, height, &self.config);
        let mut luma = std::mem::take(&mut self.spare);
        luma.clear();
        luma.extend(rgb.chunks_exact(3).map(|p| {
            ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128) >> 8) as u8
        }));
        self.push(luma, colour_bars);
    }

    /// Adds a frame of 8-bit luma. Frames of a different size from the previous one are
    /// compared over their common length.
    pub fn push_luma(&mut self, luma: Vec<u8>) {
        self.push(luma, false);
    }

    fn push(&mut self, luma: Vec<u8>, colour_bars: bool) {
        // Integer sums (they vectorise, and are exact): variance = E[v²] − E[v]².
        let n = luma.len().max(1) as f64;
        let sum: u64 = luma.iter().map(|&v| u64::from(v)).sum();
        let squares: u64 = luma.iter().map(|&v| u64::from(v) * u64::from(v)).sum();
        let mean = sum as f64 / n;
        let variance = (squares as f64 / n - mean * mean).max(0.0);
        let (mean, variance) = (mean as f32, variance as f32);
        let diff = self
            .recent
            .back()
            .map_or(0.0, |previous| mean_abs_diff(previous, &luma));
        let window = self.config.gradual_window.max(2);
        let (span_diff, linearity) = if self.recent.len() >= window {
            let first = &self.recent[self.recent.len() - window];
            let span = mean_abs_diff(first, &luma);
            let mut error = 0.0;
            let mut count = 0.0;
            for k in 1..window {
                let middle = &self.recent[self.recent.len() - window + k];
                error += mix_error(first, &luma, middle, k as u32, window as u32);
                count += 1.0;
            }
            let linearity = if span > 0.0 {
                error / count / span
            } else {
                1.0
            };
            (span, linearity)
        } else {
            (0.0, 1.0)
        };
        self.stats.push(FrameStats {
            mean,
            spread: variance.sqrt(),
            diff,
            span_diff,
            linearity,
            colour_bars,
        });
        self.recent.push_back(luma);
        while self.recent.len() > window {
            if let Some(old) = self.recent.pop_front() {
                self.spare = old;
            }
        }
    }

    /// The statistics so far.
    pub fn stats(&self) -> &[FrameStats] {
        &self.stats
    }

    /// Shots and cues of the frames pushed, at `rate`.
    pub fn finish(self, rate: Rational) -> Shots {
        detect(&self.stats, rate, &self.config)
    }
}

/// The colours of colour bars, in their left-to-right order (EBU bars end with a black bar,
/// SMPTE HD bars have grey panels at both sides; neither counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum BarColour {
    White,
    Yellow,
    Cyan,
    Green,
    Magenta,
    Red,
    Blue,
}

/// Dimmest brightest-channel of a bar (75% bars are about 190 of 255 in RGB).
const BAR_MIN_LEVEL: f64 = 80.0;
/// A channel is on at this fraction of the brightest channel or more...
const BAR_CHANNEL_ON: f64 = 0.6;
/// ...and off at this fraction or less; anything between is a mix, not a bar.
const BAR_CHANNEL_OFF: f64 = 0.3;
/// The bands in the bars' order must span at least this fraction of the width.
const BARS_MIN_SPAN: f64 = 0.5;

impl BarColour {
    /// The bar colour of a column's mean RGB, if any: each channel clearly on or off. Grey is
    /// white (the HD bars' side panels merge with the white bar).
    fn of(rgb: [f64; 3]) -> Option<BarColour> {
        let brightest = rgb.iter().copied().fold(0.0, f64::max);
        if brightest < BAR_MIN_LEVEL {
            return None;
        }
        let mut on = [false; 3];
        for (channel_on, &value) in on.iter_mut().zip(&rgb) {
            if value >= BAR_CHANNEL_ON * brightest {
                *channel_on = true;
            } else if value > BAR_CHANNEL_OFF * brightest {
                return None;
            }
        }
        match on {
            [true, true, true] => Some(BarColour::White),
            [true, true, false] => Some(BarColour::Yellow),
            [false, true, true] => Some(BarColour::Cyan),
            [false, true, false] => Some(BarColour::Green),
            [true, false, true] => Some(BarColour::Magenta),
            [true, false, false] => Some(BarColour::Red),
            [false, false, true] => Some(BarColour::Blue),
            [false, false, false] => None,
        }
    }
}

/// Bands of bar colours read left to right, tracking the longest chain in the bars' order.
#[derive(Default)]
struct BandChain {
    /// The chain being read: its last colour, first column and band count.
    current: Option<(BarColour, usize, usize)>,
    /// The best chain so far: band count and width in columns.
    best: (usize, usize),
}

impl BandChain {
    /// A band of `colour` over columns `first..=last`.
    fn push(&mut self, colour: BarColour, first: usize, last: usize) {
        let (start, count) = match self.current {
            Some((previous, start, count)) if colour == previous => (start, count),
            Some((previous, start, count)) if colour > previous => (start, count + 1),
            _ => (first, 1),
        };
        self.current = Some((colour, start, count));
        self.best = self.best.max((count, last + 1 - start));
    }
}

/// Whether a `width` x `height` RGB24 frame shows colour bars: at least
/// `bars_uniform_columns` of its columns keep one colour down the top `bars_rows` of the
/// picture, and those columns, read left to right, make at least `bars_min_bands` bands of bar
/// colours in the bars' order, spanning half the width or more. Bands narrower than 3 columns
/// (1/20 of the width on larger frames; a bar is 1/7 to 1/9 of it) are the mixed pixels at bar
/// edges, blurred further by chroma subsampling, and are skipped.
/// Frames whose size does not match `rgb` are not bars.
pub fn looks_like_colour_bars(
    rgb: &[u8],
    width: usize,
    height: usize,
    config: &DetectorConfig,
) -> bool {
    let expected = width.checked_mul(height).and_then(|p| p.checked_mul(3));
    if width == 0 || height == 0 || expected != Some(rgb.len()) {
        return false;
    }
    let rows = ((height as f32 * config.bars_rows).round() as usize).clamp(1, height);
    let min_band = (width / 20).max(3);
    let max_variance = f64::from(config.bars_column_spread).powi(2);
    let mut uniform_columns = 0usize;
    let mut chain = BandChain::default();
    // The run of equal column colours being read: colour, first column.
    let mut run: Option<(Option<BarColour>, usize)> = None;
    let mut end_run = |run: Option<(Option<BarColour>, usize)>, next: usize| {
        if let Some((Some(colour), first)) = run
            && next - first >= min_band
        {
            chain.push(colour, first, next - 1);
        }
    };
    for x in 0..width {
        let mut sum = [0u64; 3];
        let mut squares = [0u64; 3];
        for y in 0..rows {
            let pixel = &rgb[(y * width + x) * 3..][..3];
            for channel in 0..3 {
                let value = u64::from(pixel[channel]);
                sum[channel] += value;
                squares[channel] += value * value;
            }
        }
        let n = rows as f64;
        let mean = sum.map(|s| s as f64 / n);
        let is_uniform = (0..3).all(|c| squares[c] as f64 / n - mean[c] * mean[c] <= max_variance);
        let colour = if is_uniform {
            uniform_columns += 1;
            BarColour::of(mean)
        } else {
            None
        };
        match run {
            Some((current, _)) if current == colour => {}
            _ => {
                end_run(run, x);
                run = Some((colour, x));
            }
        }
    }
    end_run(run, width);
    let (bands, span) = chain.best;
    uniform_columns as f64 >= f64::from(config.bars_uniform_columns) * width as f64
        && bands >= config.bars_min_bands
        && span as f64 >= BARS_MIN_SPAN * width as f64
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f32 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f32 / n as f32
}

/// Mean |middle − ((1−t)·a + t·b)| with t = k / window, in integers: each term is
/// |window·middle − ((window−k)·a + k·b)| / window, which vectorises and is exact.
fn mix_error(a: &[u8], b: &[u8], middle: &[u8], k: u32, window: u32) -> f32 {
    let n = a.len().min(b.len()).min(middle.len());
    if n == 0 {
        return 0.0;
    }
    let (a, b, middle) = (&a[..n], &b[..n], &middle[..n]);
    let sum: u64 = a
        .iter()
        .zip(b)
        .zip(middle)
        .map(|((&a, &b), &m)| {
            let expected = (window - k) * u32::from(a) + k * u32::from(b);
            u64::from((window * u32::from(m)).abs_diff(expected))
        })
        .sum();
    (sum as f64 / f64::from(window) / n as f64) as f32
}

/// Shots, cues and cuts of one video.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shots {
    /// Frames per second the times are computed with.
    pub frame_rate: f64,
    /// The same rate as a fraction ("30000/1001").
    pub frame_rate_rational: String,
    /// Frames decoded.
    pub frame_count: u64,
    pub shots: Vec<Shot>,
    pub cues: Vec<Cue>,
    pub cuts: Vec<Cut>,
}

/// A shot: frames `start_frame..=end_frame`. `end_seconds` and `end_timecode` are where the
/// last frame ends (the next shot's start), as PySceneDetect reports them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shot {
    /// From 1.
    pub index: usize,
    pub start_frame: u64,
    pub end_frame: u64,
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub start_timecode: String,
    pub end_timecode: String,
}

/// What kind of technical cue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CueKind {
    Black,
    FadeIn,
    FadeOut,
    ColourBars,
}

/// A technical cue over frames `start_frame..=end_frame` (ends as in [`Shot`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cue {
    pub kind: CueKind,
    pub start_frame: u64,
    pub end_frame: u64,
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub start_timecode: String,
    pub end_timecode: String,
}

/// How a shot began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CutKind {
    Hard,
    Gradual,
}

/// A shot boundary: `frame` is the first frame of the new shot (for a gradual transition,
/// the middle of the transition).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cut {
    pub frame: u64,
    pub kind: CutKind,
    /// The evidence: a hard cut's difference over its adaptive threshold; a gradual
    /// transition's largest end-to-end difference over `gradual_min`.
    pub score: f32,
}

/// Smallest rise of mean luma per frame that continues a fade.
const FADE_STEP: f32 = 0.25;
/// Frames without bars inside a colour-bars segment that do not end it.
const BARS_MAX_GAP: usize = 2;
/// A dissolve extends over the windows whose end-to-end difference is at least this
/// fraction of the largest.
const GRADUAL_EXTENT: f32 = 0.8;

/// Finds cuts, shots and cues in per-frame statistics (see the module documentation).
pub fn detect(stats: &[FrameStats], rate: Rational, config: &DetectorConfig) -> Shots {
    let n = stats.len();
    let is_black = |s: &FrameStats| s.mean <= config.black_luma && s.spread <= config.black_spread;

    // Black segments (any length; fades lean on them).
    let mut blacks: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < n {
        if is_black(&stats[i]) {
            let start = i;
            while i + 1 < n && is_black(&stats[i + 1]) {
                i += 1;
            }
            blacks.push((start, i));
        }
        i += 1;
    }

    // Colour bars: runs of bars frames; a gap of a few frames (a dropout, a glitch) does not
    // end one.
    let mut bars: Vec<(usize, usize)> = Vec::new();
    for i in (0..n).filter(|&i| stats[i].colour_bars) {
        match bars.last_mut() {
            Some((_, end)) if i - *end <= BARS_MAX_GAP + 1 => *end = i,
            _ => bars.push((i, i)),
        }
    }
    bars.retain(|&(start, end)| (end - start + 1) as u64 >= config.bars_min_frames);
    let inside_bars = |frame: u64| {
        bars.iter()
            .any(|&(start, end)| frame > start as u64 && frame <= end as u64)
    };

    // Hard cuts against an adaptive threshold.
    let mut candidates: Vec<Cut> = Vec::new();
    for i in 1..n {
        let d = stats[i].diff;
        if d < config.hard_min {
            continue;
        }
        let lo = i.saturating_sub(config.hard_window).max(1);
        let hi = (i + config.hard_window).min(n - 1);
        let (sum, count) = (lo..=hi)
            .filter(|&j| j != i)
            .fold((0.0f32, 0u32), |(s, c), j| (s + stats[j].diff, c + 1));
        let local = if count > 0 { sum / count as f32 } else { 0.0 };
        let threshold = (config.hard_ratio * local).max(config.hard_min);
        if d >= threshold {
            candidates.push(Cut {
                frame: i as u64,
                kind: CutKind::Hard,
                score: d / threshold.max(f32::EPSILON),
            });
        }
    }

    // Fades: luma falling steadily into a black segment, or rising out of one.
    let mut cues_raw: Vec<(CueKind, usize, usize)> = bars
        .iter()
        .map(|&(start, end)| (CueKind::ColourBars, start, end))
        .collect();
    let mut hard = vec![false; n];
    for cut in &candidates {
        hard[cut.frame as usize] = true;
    }
    let hard_at = |frame: usize| hard.get(frame).copied().unwrap_or(false);
    // Each black segment is anchored on its darkest frames (first and last within a
    // whisker of its minimum); ffmpeg's `fade` spans [st, st+d), so a fade-out is the ramp's
    // top to the frame before the darkest, and a fade-in the darkest to the frame before the
    // ramp's top.
    let mut fades: Vec<(usize, Option<usize>, Option<usize>)> = Vec::new();
    for &(start, end) in &blacks {
        let darkest = (start..=end)
            .map(|i| stats[i].mean)
            .fold(f32::INFINITY, f32::min);
        let first_dark = (start..=end)
            .find(|&i| stats[i].mean <= darkest + 1.0)
            .unwrap_or(start);
        let last_dark = (start..=end)
            .rev()
            .find(|&i| stats[i].mean <= darkest + 1.0)
            .unwrap_or(end);
        let mut fade_in_start = None;
        let mut fade_out_end = None;
        // Fade-out: walk back from the darkest frame while luma keeps rising.
        let mut j = first_dark;
        while j > 0 && stats[j - 1].mean > stats[j].mean + FADE_STEP && !hard_at(j) {
            j -= 1;
        }
        if (first_dark - j) as u64 >= config.fade_min_frames
            && stats[j].mean - darkest >= config.fade_min_rise
        {
            cues_raw.push((CueKind::FadeOut, j, first_dark - 1));
            fade_out_end = Some(first_dark - 1);
        }
        // Fade-in: walk forward from the darkest frame while luma keeps rising.
        let mut k = last_dark;
        while k + 1 < n && stats[k + 1].mean > stats[k].mean + FADE_STEP && !hard_at(k + 1) {
            k += 1;
        }
        if (k - last_dark) as u64 >= config.fade_min_frames
            && stats[k].mean - darkest >= config.fade_min_rise
        {
            cues_raw.push((CueKind::FadeIn, last_dark, k - 1));
            fade_in_start = Some(last_dark);
        }
        if (end - start + 1) as u64 >= config.black_min_frames {
            cues_raw.push((CueKind::Black, start, end));
        }
        if fade_in_start.is_some() || fade_out_end.is_some() {
            fades.push((end, fade_out_end, fade_in_start));
        }
    }
    let in_fade_or_black = |frame: usize| {
        cues_raw
            .iter()
            .any(|&(kind, s, e)| kind != CueKind::ColourBars && frame + 1 >= s && frame <= e + 1)
    };

    // Gradual transitions: runs of windows that pass the dissolve test.
    let window = config.gradual_window.max(2);
    let passes = |s: &FrameStats| {
        s.span_diff >= config.gradual_min && s.linearity <= config.gradual_linearity
    };
    let mut i = 0;
    while i < n {
        if passes(&stats[i]) {
            let first = i;
            let mut best = stats[i].span_diff;
            while i + 1 < n && passes(&stats[i + 1]) {
                i += 1;
                best = best.max(stats[i].span_diff);
            }
            let last = i;
            // The linearity test passes only where the sources hold still enough; the
            // transition's extent is where the end-to-end difference stays near its peak.
            let floor = GRADUAL_EXTENT * best;
            let mut from = first;
            while from > 0 && stats[from - 1].span_diff >= floor && !hard_at(from - 1) {
                from -= 1;
            }
            let mut to = last;
            while to + 1 < n && stats[to + 1].span_diff >= floor && !hard_at(to + 1) {
                to += 1;
            }
            // Windows ending in from..=to cover frames from-window..=to.
            let start = from.saturating_sub(window);
            let middle = (start + to).div_ceil(2);
            let touches_fade = (start..=to).any(in_fade_or_black);
            let has_hard = candidates
                .iter()
                .any(|c| (start as u64..=to as u64).contains(&c.frame));
            if last + 1 - first >= config.gradual_min_run && !touches_fade && !has_hard {
                candidates.push(Cut {
                    frame: middle as u64,
                    kind: CutKind::Gradual,
                    score: best / config.gradual_min.max(f32::EPSILON),
                });
            }
        }
        i += 1;
    }

    // A fade out to black and/or in from black is a transition too: the new shot starts with
    // the fade-in (or after the black), unless a cut already falls within it.
    for &(black_end, fade_out_end, fade_in_start) in &fades {
        let frame = fade_in_start.unwrap_or(black_end + 1);
        if frame >= n {
            continue;
        }
        let lo = cues_raw
            .iter()
            .filter(|c| c.0 == CueKind::FadeOut && Some(c.2) == fade_out_end)
            .map(|c| c.1)
            .next()
            .unwrap_or(frame);
        let hi = cues_raw
            .iter()
            .filter(|c| c.0 == CueKind::FadeIn && Some(c.1) == fade_in_start)
            .map(|c| c.2 + 1)
            .next()
            .unwrap_or(black_end + 1);
        let covered = candidates
            .iter()
            .any(|c| (lo as u64..=hi as u64).contains(&c.frame));
        if !covered {
            candidates.push(Cut {
                frame: frame as u64,
                kind: CutKind::Gradual,
                score: 1.0,
            });
        }
    }

    // Keep the strongest of cuts closer than min_shot_frames (and none at frame 0 or inside
    // colour bars).
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut cuts: Vec<Cut> = Vec::new();
    for candidate in candidates {
        if candidate.frame == 0 || inside_bars(candidate.frame) {
            continue;
        }
        let near = cuts
            .iter()
            .any(|c| c.frame.abs_diff(candidate.frame) < config.min_shot_frames);
        if !near {
            cuts.push(candidate);
        }
    }
    cuts.sort_by_key(|c| c.frame);

    let frame_count = n as u64;
    let mut shots = Vec::new();
    if frame_count > 0 {
        let mut starts: Vec<u64> = vec![0];
        starts.extend(cuts.iter().map(|c| c.frame));
        for (index, &start) in starts.iter().enumerate() {
            let end = starts
                .get(index + 1)
                .map_or(frame_count - 1, |&next| next - 1);
            let span = Span::new(start, end, rate);
            shots.push(Shot {
                index: index + 1,
                start_frame: start,
                end_frame: end,
                start_seconds: span.start_seconds,
                end_seconds: span.end_seconds,
                start_timecode: span.start_timecode,
                end_timecode: span.end_timecode,
            });
        }
    }

    let mut cues: Vec<Cue> = cues_raw
        .into_iter()
        .map(|(kind, start, end)| {
            let span = Span::new(start as u64, end as u64, rate);
            Cue {
                kind,
                start_frame: start as u64,
                end_frame: end as u64,
                start_seconds: span.start_seconds,
                end_seconds: span.end_seconds,
                start_timecode: span.start_timecode,
                end_timecode: span.end_timecode,
            }
        })
        .collect();
    cues.sort_by_key(|c| (c.start_frame, c.end_frame));

    Shots {
        frame_rate: rate.fps(),
        frame_rate_rational: rate.to_string(),
        frame_count,
        shots,
        cues,
        cuts,
    }
}

struct Span {
    start_seconds: f64,
    end_seconds: f64,
    start_timecode: String,
    end_timecode: String,
}

impl Span {
    fn new(start: u64, end: u64, rate: Rational) -> Span {
        Span {
            start_seconds: rate.seconds(start),
            end_seconds: rate.seconds(end + 1),
            start_timecode: timecode(start, rate),
            end_timecode: timecode(end + 1, rate),
        }
    }
}

/// Why shots could not be detected.
#[derive(Debug, thiserror::Error)]
pub enum ShotsError {
    /// The file could not be probed (missing, not media, ffprobe missing...).
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("{} has no video stream: shots need a video (is it an audio file or a still?)", path.display())]
    NoVideo { path: PathBuf },
    #[error(
        "{} has no usable frame rate (r_frame_rate {rate:?}); re-mux it with a frame rate, e.g. \
         ffmpeg -i IN -c copy -r 25 OUT",
        path.display()
    )]
    NoFrameRate { path: PathBuf, rate: Option<String> },
    /// ffmpeg could not decode it, timed out, or is missing.
    #[error("cannot decode {}: {source}", path.display())]
    Decode {
        path: PathBuf,
        #[source]
        source: ToolError,
    },
}

/// How to detect shots.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShotsOptions {
    pub decode: DecodeOptions,
    pub detector: DetectorConfig,
}

/// Detects shots and cues in `path` with the default options.
pub async fn detect_shots(path: impl AsRef<Path>) -> Result<Shots, ShotsError> {
    detect_shots_with(path, &ShotsOptions::default()).await
}

/// Probes `path` for its frame rate, decodes it once and detects shots and cues.
pub async fn detect_shots_with(
    path: impl AsRef<Path>,
    options: &ShotsOptions,
) -> Result<Shots, ShotsError> {
    let path = path.as_ref();
    let probe = probe::probe_with(
        path,
        probe::ProbeOptions {
            mediainfo: false,
            ..probe::ProbeOptions::default()
        },
    )
    .await?;
    let video = probe.summary.video().ok_or_else(|| ShotsError::NoVideo {
        path: path.to_path_buf(),
    })?;
    let raw_rate = video.r_frame_rate.as_ref().map(|r| r.rational.clone());
    let rate = raw_rate
        .as_deref()
        .and_then(Rational::parse)
        .ok_or_else(|| ShotsError::NoFrameRate {
            path: path.to_path_buf(),
            rate: raw_rate.clone(),
        })?;
    let mut analyzer = Analyzer::new(options.detector);
    let summary = decode::decode_frames(path, &options.decode, |frame| analyzer.push_frame(&frame))
        .await
        .map_err(|source| ShotsError::Decode {
            path: path.to_path_buf(),
            source,
        })?;
    tracing::debug!(
        frames = summary.frames,
        elapsed = ?summary.elapsed,
        "decoded for shot detection"
    );
    Ok(analyzer.finish(rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NTSC: Rational = Rational {
        num: 30000,
        den: 1001,
    };

    #[test]
    fn drop_frame_timecodes() {
        assert_eq!(timecode(0, NTSC), "00:00:00;00");
        assert_eq!(timecode(1799, NTSC), "00:00:59;29");
        assert_eq!(timecode(1800, NTSC), "00:01:00;02");
        assert_eq!(timecode(3597, NTSC), "00:01:59;29");
        assert_eq!(timecode(3598, NTSC), "00:02:00;02");
        assert_eq!(timecode(17981, NTSC), "00:09:59;29");
        assert_eq!(timecode(17982, NTSC), "00:10:00;00");
        assert_eq!(timecode(107892, NTSC), "01:00:00;00");
        let ntsc60 = Rational::parse("60000/1001").unwrap();
        assert_eq!(timecode(3600, ntsc60), "00:01:00;04");
        assert_eq!(timecode(35964, ntsc60), "00:10:00;00");
    }

    #[test]
    fn non_drop_timecodes() {
        let pal = Rational::parse("25/1").unwrap();
        assert_eq!(timecode(0, pal), "00:00:00:00");
        assert_eq!(timecode(24, pal), "00:00:00:24");
        assert_eq!(timecode(90_000, pal), "01:00:00:00");
        let film = Rational::parse("24000/1001").unwrap();
        assert!(!film.is_drop_frame());
        assert_eq!(timecode(1440, film), "00:01:00:00");
        assert_eq!(
            timecode(1800, Rational::parse("30").unwrap()),
            "00:01:00:00"
        );
    }

    #[test]
    fn rates_parse_or_refuse() {
        assert_eq!(Rational::parse("30000/1001"), Rational::new(30000, 1001));
        assert!(NTSC.is_drop_frame());
        assert_eq!(Rational::parse("0/0"), None);
        assert_eq!(Rational::parse("x"), None);
        assert_eq!(Rational::parse("25/0"), None);
    }

    /// A 16x9 frame of flat `level` with a diagonal `pattern` texture.
    fn frame(level: u8, pattern: u8) -> Vec<u8> {
        (0..144)
            .map(|i| level.saturating_add(((i * 7 + usize::from(pattern) * 13) % 40) as u8))
            .collect()
    }

    fn analyse(frames: impl IntoIterator<Item = Vec<u8>>) -> Shots {
        let mut analyzer = Analyzer::new(DetectorConfig::default());
        for f in frames {
            analyzer.push_luma(f);
        }
        analyzer.finish(Rational::new(25, 1).unwrap())
    }

    #[test]
    fn a_hard_cut_splits_two_shots() {
        let frames = (0..60).map(|i| if i < 30 { frame(60, 1) } else { frame(180, 2) });
        let shots = analyse(frames);
        assert_eq!(shots.cuts.len(), 1, "{:?}", shots.cuts);
        assert_eq!(shots.cuts[0].frame, 30);
        assert_eq!(shots.cuts[0].kind, CutKind::Hard);
        assert_eq!(shots.shots.len(), 2);
        assert_eq!(shots.shots[1].start_frame, 30);
        assert_eq!(shots.shots[0].end_frame, 29);
        assert_eq!(shots.shots[0].end_timecode, "00:00:01:05");
        assert!(shots.cues.is_empty(), "{:?}", shots.cues);
    }

    #[test]
    fn a_dissolve_is_a_gradual_cut_in_its_middle() {
        let (a, b) = (frame(40, 1), frame(200, 5));
        let frames = (0..80).map(|i| {
            let t = ((i as f32 - 30.0) / 20.0).clamp(0.0, 1.0);
            a.iter()
                .zip(&b)
                .map(|(&x, &y)| ((1.0 - t) * f32::from(x) + t * f32::from(y)).round() as u8)
                .collect()
        });
        let shots = analyse(frames);
        assert_eq!(shots.cuts.len(), 1, "{:?}", shots.cuts);
        assert_eq!(shots.cuts[0].kind, CutKind::Gradual);
        assert!(shots.cuts[0].frame.abs_diff(40) <= 3, "{:?}", shots.cuts);
    }

    #[test]
    fn black_and_fades_are_cues() {
        let a = frame(150, 1);
        let frames = (0..100).map(|i| match i {
            0..30 => a.clone(),
            30..40 => a
                .iter()
                .map(|&v| (f32::from(v) * (40 - i) as f32 / 10.0) as u8)
                .collect(),
            40..50 => vec![0; 144],
            50..60 => a
                .iter()
                .map(|&v| (f32::from(v) * (i - 49) as f32 / 10.0) as u8)
                .collect(),
            _ => a.clone(),
        });
        let shots = analyse(frames);
        let kinds: Vec<_> = shots
            .cues
            .iter()
            .map(|c| (c.kind, c.start_frame, c.end_frame))
            .collect();
        let fade_out = kinds.iter().find(|c| c.0 == CueKind::FadeOut).unwrap();
        let fade_in = kinds.iter().find(|c| c.0 == CueKind::FadeIn).unwrap();
        let black = kinds.iter().find(|c| c.0 == CueKind::Black).unwrap();
        assert_eq!((fade_out.1, fade_out.2), (30, 39), "{kinds:?}");
        assert!(
            black.1 >= 36 && black.1 <= 40 && black.2 >= 49 && black.2 <= 52,
            "{kinds:?}"
        );
        assert_eq!((fade_in.1, fade_in.2), (49, 58), "{kinds:?}");
        let cuts: Vec<_> = shots.cuts.iter().map(|c| (c.frame, c.kind)).collect();
        assert_eq!(cuts, [(49, CutKind::Gradual)]);
    }

    const BARS_75: [[u8; 3]; 7] = [
        [191, 191, 191],
        [191, 191, 0],
        [0, 191, 191],
        [0, 191, 0],
        [191, 0, 191],
        [191, 0, 0],
        [0, 0, 191],
    ];

    /// A 64x36 RGB frame: `colours` as equal vertical bands over the top 2/3, a dark grey
    /// strip below (as under SMPTE bars).
    fn bars_frame(colours: &[[u8; 3]]) -> Vec<u8> {
        let (width, height) = (64, 36);
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                let pixel = if y < height * 2 / 3 {
                    colours[x * colours.len() / width]
                } else {
                    [20, 20, 20]
                };
                rgb.extend(pixel);
            }
        }
        rgb
    }

    /// A 64x36 RGB frame of grey `level` with a diagonal texture.
    fn textured_rgb(level: u8, pattern: u8) -> Vec<u8> {
        (0..64 * 36)
            .flat_map(|i| {
                let v = level.saturating_add(((i * 7 + usize::from(pattern) * 13) % 40) as u8);
                [v, v, v]
            })
            .collect()
    }

    #[test]
    fn colour_bars_are_told_from_look_alikes() {
        let config = DetectorConfig::default();
        let is_bars = |rgb: &[u8]| looks_like_colour_bars(rgb, 64, 36, &config);
        assert!(is_bars(&bars_frame(&BARS_75)));
        // EBU bars: 100%, ending with black.
        let mut ebu: Vec<[u8; 3]> = BARS_75
            .iter()
            .map(|c| c.map(|v| if v > 0 { 255 } else { 0 }))
            .collect();
        ebu.push([0, 0, 0]);
        assert!(is_bars(&bars_frame(&ebu)));
        // Six bands in order are enough; five are not.
        assert!(is_bars(&bars_frame(&BARS_75[1..])));
        assert!(!is_bars(&bars_frame(&BARS_75[2..])));
        // The same colours out of order are not bars (testsrc has such a row).
        let mut shuffled = BARS_75;
        shuffled.swap(2, 5);
        assert!(!is_bars(&bars_frame(&shuffled)));
        // Bars whose columns change down the picture are not bars.
        let mut striped = bars_frame(&BARS_75);
        for row in (0..24).step_by(2) {
            striped[row * 64 * 3..(row + 1) * 64 * 3].fill(90);
        }
        assert!(!is_bars(&striped));
        // Dim (dark) bars, grey frames and mismatched sizes are not bars.
        let dim: Vec<[u8; 3]> = BARS_75.iter().map(|c| c.map(|v| v / 4)).collect();
        assert!(!is_bars(&bars_frame(&dim)));
        assert!(!is_bars(&textured_rgb(100, 1)));
        assert!(!looks_like_colour_bars(
            &bars_frame(&BARS_75),
            64,
            35,
            &config
        ));
        assert!(!looks_like_colour_bars(&[], 0, 0, &config));
    }

    #[test]
    fn cuts_inside_bars_are_dropped_and_cuts_into_and_out_of_them_kept() {
        let config = DetectorConfig::default();
        let mut analyzer = Analyzer::new(config);
        let full: Vec<[u8; 3]> = BARS_75
            .iter()
            .map(|c| c.map(|v| if v > 0 { 255 } else { 0 }))
            .collect();
        for i in 0..100 {
            let rgb = match i {
                0..20 => textured_rgb(60, 1),
                20..50 => bars_frame(&BARS_75),
                // A jump to brighter bars: a hard cut by luma, but still bars.
                50..80 => bars_frame(&full),
                _ => textured_rgb(160, 2),
            };
            analyzer.push_rgb(&rgb, 64, 36);
        }
        let stats = analyzer.stats();
        assert!(stats[50].diff >= config.hard_min, "{:?}", stats[50]);
        assert!(stats[20..80].iter().all(|s| s.colour_bars));
        let shots = analyzer.finish(Rational::new(25, 1).unwrap());
        let cues: Vec<_> = shots
            .cues
            .iter()
            .map(|c| (c.kind, c.start_frame, c.end_frame))
            .collect();
        assert_eq!(cues, [(CueKind::ColourBars, 20, 79)]);
        assert_eq!(shots.cues[0].start_timecode, "00:00:00:20");
        assert_eq!(shots.cues[0].end_timecode, "00:00:03:05");
        let cuts: Vec<_> = shots.cuts.iter().map(|c| c.frame).collect();
        assert_eq!(cuts, [20, 80]);
    }

    #[test]
    fn a_short_flash_of_bars_or_a_short_gap_in_them() {
        let config = DetectorConfig::default();
        let flags = |pattern: &[(bool, usize)]| -> Vec<FrameStats> {
            pattern
                .iter()
                .flat_map(|&(colour_bars, count)| {
                    std::iter::repeat_n(
                        FrameStats {
                            mean: 120.0,
                            spread: 40.0,
                            colour_bars,
                            ..FrameStats::default()
                        },
                        count,
                    )
                })
                .collect()
        };
        let rate = Rational::new(25, 1).unwrap();
        let bars_of = |stats: &[FrameStats]| -> Vec<(u64, u64)> {
            detect(stats, rate, &config)
                .cues
                .iter()
                .filter(|c| c.kind == CueKind::ColourBars)
                .map(|c| (c.start_frame, c.end_frame))
                .collect()
        };
        // Shorter than bars_min_frames (5): no cue.
        assert!(bars_of(&flags(&[(false, 10), (true, 4), (false, 10)])).is_empty());
        // A gap of 2 frames is bridged; one of 3 is not.
        assert_eq!(
            bars_of(&flags(&[(true, 10), (false, 2), (true, 10), (false, 5)])),
            [(0, 21)]
        );
        assert_eq!(
            bars_of(&flags(&[(true, 10), (false, 3), (true, 10)])),
            [(0, 9), (13, 22)]
        );
    }

    #[test]
    fn nothing_in_nothing_out() {
        let shots = analyse(Vec::<Vec<u8>>::new());
        assert_eq!(shots.frame_count, 0);
        assert!(shots.shots.is_empty() && shots.cuts.is_empty() && shots.cues.is_empty());
        let one = analyse([frame(10, 0)]);
        assert_eq!(one.shots.len(), 1);
    }
}
