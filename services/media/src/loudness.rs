//! EBU R128 loudness of every audio track of a file, from one decode.
//!
//! Per track ([`TrackLoudness`]): integrated loudness (LUFS), loudness range (LU, EBU Tech
//! 3342), true peak (dBTP) and sample peak (dBFS), the maximum momentary loudness, one-second
//! series of momentary (400 ms window) *and* short-term (3 s window) loudness, whether the
//! track is silent, and its silence segments. Per file ([`LoudnessReport`]): the loudness map
//! (`[1,1,0,0,0,0,0,0]` for eight mono tracks of which the first two carry sound) and a
//! description of it ("stereo in tracks 1–2; tracks 3–8 silent").
//!
//! [`TrackMeter`] is a pure per-track meter fed interleaved `f32` samples (tests and benchmarks
//! use it without ffmpeg). The [`ebur128`] crate (a port of libebur128) does the K-weighting,
//! the gated integrated loudness and the 4x oversampled true peak; from the energy of each
//! 100 ms block it hands back, the meter derives momentary (4 blocks) and short-term (30
//! blocks) loudness every 100 ms, the series, the silences, and the loudness range. The range
//! is computed here, not by the crate, because the crate samples short-term loudness once a
//! second, as the first version of EBU Tech 3342 allowed; the 2016 version asks for at least
//! 10 Hz, which is what ffmpeg's `ebur128` filter does (and what this meter does, into a
//! 0.01 LU histogram as ffmpeg's). [`analyse_file`] probes the file and decodes it **once**:
//!
//! ## One decode for every track
//!
//! One ffmpeg process decodes every audio stream and writes them to stdout as one raw
//! interleaved `f32le` stream: a `-filter_complex` graph takes each track (`[0:a:N]`), resamples
//! it to the first track's rate only when its own rate differs (`aresample`), pads it with
//! silence to the longest track's duration when the tracks' durations differ (`apad`, because
//! `amerge` stops with its shortest input), and joins all the tracks' channels with `amerge`.
//! The reader splits each frame back into per-track slices by channel offset. Two details make
//! the channel order dependable:
//!
//! - `amerge` *reorders* channels when its inputs' layouts are disjoint (a mono track, front
//!   centre, before a stereo track, front left and right, comes out L, R, C). So every track
//!   is first relabelled with `pan` (a pure channel copy, no mixing) to the layout made of the
//!   first *k* channels in ffmpeg's channel order (`FL`, `FL+FR`, `FL+FR+FC`, ...): all inputs
//!   then overlap, and `amerge` keeps them in input order. The true layout, which decides the
//!   R128 channel weights, comes from the probe.
//! - The whole graph is at one rate (the first track's), so one frame of the output holds one
//!   sample instant of every track. A track at another rate is resampled (ffmpeg's default
//!   `swr` resampler): measured against ffmpeg's meter on the track at its own rate, pink
//!   noise at 44.1 kHz read 0.04 LU lower and its true peak 0.01 dB off.
//!
//! The alternatives were one ffmpeg per track (decodes the file once per track: ruled out),
//! one output per track over named pipes or extra inherited file descriptors (native rates, but
//! FIFOs to create and clean up, or `unsafe` descriptor plumbing, and a deadlock hazard when
//! one pipe is not drained), and `join` (needs a named output layout for every channel count).
//!
//! Memory does not grow with the file: stdout is read in 256 KiB chunks through a queue of
//! four into a blocking metering thread (so ffmpeg decodes while the meters work), and the
//! range histogram is 40 KB per track. What does grow is what is kept on purpose: the two
//! one-second series (16 bytes per second per track), the silence segments, and the crate's
//! list of 400 ms gating-block energies for the exact integrated loudness (8 bytes per 100 ms,
//! about 300 KB per track-hour; the crate's histogram mode would cap that but rounds to
//! 0.1 dB).
//!
//! ## Definitions
//!
//! - **Silent track**: its maximum momentary loudness stays under
//!   [`LoudnessOptions::silent_track_lufs`] (-50 LUFS), or it has none (digital silence).
//! - **Silence segment**: consecutive 100 ms blocks (the R128 step) each of whose loudness
//!   (K-weighted, over that block alone) is under [`LoudnessOptions::silence_threshold_lufs`]
//!   (-50 LUFS), lasting at least [`LoudnessOptions::min_silence`] (0.5 s: long enough to skip
//!   the gaps between words and most breaths, short enough for the half-second silences
//!   around breaks). Where the silence begins in the block before its first quiet one, or
//!   ends inside the block after its last, the edge is placed to 10 ms (the 10 ms stretches
//!   next to the run that are themselves under the threshold join it); the level is the
//!   segment's mean loudness.
//! - **Series**: value `i` is the loudness of the window ending at second `i + 1` of the
//!   track; the first windows are shortened to the audio there is (the short-term value at
//!   1 s covers 1 s, not 3 s padded with silence). A trailing part second has no value.
//! - `-inf` (digital silence) is `None` in Rust and `null` in JSON, never a non-finite float;
//!   so is a loudness under [`LOUDNESS_FLOOR_LUFS`] (-120), which only the filter's decay
//!   after digital silence reaches.
//!
//! Limits: tracks are aligned on their first decoded sample (a track that starts later in the
//! container is not delayed); channel weights follow ffmpeg's `ebur128` filter (LFE 0, back
//! and side 1.41, others 1.0), and a track whose layout ffprobe does not know weighs every
//! channel 1.0; at most 64 channels in all and 30 per track (`amerge` and ffmpeg's channel
//! names).
//!
//! ```no_run
//! # async fn demo() -> Result<(), mediasift_media::loudness::LoudnessError> {
//! use mediasift_media::loudness::{analyse_file, LoudnessOptions};
//! let report = analyse_file("master.mov", &LoudnessOptions::default()).await?;
//! println!("{:?} {}", report.map, report.description);
//! for track in &report.tracks {
//!     println!("track {}: {:?} LUFS", track.track, track.loudness.integrated_lufs);
//! }
//! # Ok(()) }
//! ```

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ebur128::{Channel, EbuR128, Mode};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::probe::{self, AudioTrack, ProbeError, ProbeOptions};
use crate::process::{self, Keep, ToolError};

/// A track whose maximum momentary loudness stays under this is silent (LUFS).
pub const DEFAULT_SILENT_TRACK_LUFS: f64 = -50.0;
/// A 100 ms block under this loudness is silence (LUFS).
pub const DEFAULT_SILENCE_THRESHOLD_LUFS: f64 = -50.0;
/// The shortest silence reported.
pub const DEFAULT_MIN_SILENCE: Duration = Duration::from_millis(500);
/// Default limit for the decode (audio decodes far faster than real time).
pub const DEFAULT_LOUDNESS_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The most channels one analysis takes, all tracks together (ffmpeg's `amerge` limit).
pub const MAX_CHANNELS: u32 = 64;
/// Loudness under this reads as digital silence (`None`): it is the K-weighting filter's
/// decay after the audio stopped, far below any recording's noise floor (LUFS).
pub const LOUDNESS_FLOOR_LUFS: f64 = -120.0;
/// Seconds between two values of the loudness series.
pub const SERIES_INTERVAL_SECONDS: f64 = 1.0;

/// ffmpeg's channel names in its channel order (the bits of a channel mask), used to give
/// every track a layout that overlaps the others' (see the module documentation).
const CHANNEL_ORDER: [&str; 30] = [
    "FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC", "TFR",
    "TBL", "TBC", "TBR", "DL", "DR", "WL", "WR", "SDL", "SDR", "LFE2", "TSL", "TSR", "BFC", "BFL",
    "BFR",
];
/// ffmpeg's standard layouts (`ffmpeg -layouts`), for the channel weights.
const LAYOUTS: &[(&str, &str)] = &[
    ("mono", "FC"),
    ("stereo", "FL+FR"),
    ("2.1", "FL+FR+LFE"),
    ("3.0", "FL+FR+FC"),
    ("3.0(back)", "FL+FR+BC"),
    ("4.0", "FL+FR+FC+BC"),
    ("quad", "FL+FR+BL+BR"),
    ("quad(side)", "FL+FR+SL+SR"),
    ("3.1", "FL+FR+FC+LFE"),
    ("5.0", "FL+FR+FC+BL+BR"),
    ("5.0(side)", "FL+FR+FC+SL+SR"),
    ("4.1", "FL+FR+FC+LFE+BC"),
    ("5.1", "FL+FR+FC+LFE+BL+BR"),
    ("5.1(side)", "FL+FR+FC+LFE+SL+SR"),
    ("6.0", "FL+FR+FC+BC+SL+SR"),
    ("6.0(front)", "FL+FR+FLC+FRC+SL+SR"),
    ("hexagonal", "FL+FR+FC+BL+BR+BC"),
    ("6.1", "FL+FR+FC+LFE+BC+SL+SR"),
    ("6.1(back)", "FL+FR+FC+LFE+BL+BR+BC"),
    ("6.1(front)", "FL+FR+LFE+FLC+FRC+SL+SR"),
    ("7.0", "FL+FR+FC+BL+BR+SL+SR"),
    ("7.0(front)", "FL+FR+FC+FLC+FRC+SL+SR"),
    ("7.1", "FL+FR+FC+LFE+BL+BR+SL+SR"),
    ("7.1(wide)", "FL+FR+FC+LFE+BL+BR+FLC+FRC"),
    ("7.1(wide-side)", "FL+FR+FC+LFE+FLC+FRC+SL+SR"),
    ("octagonal", "FL+FR+FC+BL+BR+BC+SL+SR"),
    (
        "hexadecagonal",
        "FL+FR+FC+BL+BR+BC+SL+SR+TFL+TFC+TFR+TBL+TBC+TBR+WL+WR",
    ),
    ("downmix", "DL+DR"),
    (
        "22.2",
        "FL+FR+FC+LFE+BL+BR+FLC+FRC+BC+SL+SR+TC+TFL+TFC+TFR+TBL+TBC+TBR+LFE2+TSL+TSR+BFC+BFL+BFR",
    ),
];
/// Bytes of stdout read per chunk handed to the meters.
const READ_CHUNK: usize = 256 * 1024;
/// Chunks queued between the reader and the meters.
const QUEUE_CHUNKS: usize = 4;
/// How much of the end of ffmpeg's stderr is kept.
const MAX_STDERR: usize = 64 * 1024;
/// Most distinct decoder complaints kept as warnings.
const MAX_WARNINGS: usize = 20;
/// Tracks whose durations differ by more than this are padded to the longest (seconds).
const DURATION_TOLERANCE: f64 = 0.05;

/// How to analyse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoudnessOptions {
    /// A track whose maximum momentary loudness stays under this is silent (LUFS).
    pub silent_track_lufs: f64,
    /// A 100 ms block under this loudness counts as silence (LUFS).
    pub silence_threshold_lufs: f64,
    /// The shortest silence segment reported.
    pub min_silence: Duration,
    /// Wall-clock limit for the decode; ffmpeg is killed when it is reached.
    pub timeout: Duration,
}

impl Default for LoudnessOptions {
    fn default() -> Self {
        LoudnessOptions {
            silent_track_lufs: DEFAULT_SILENT_TRACK_LUFS,
            silence_threshold_lufs: DEFAULT_SILENCE_THRESHOLD_LUFS,
            min_silence: DEFAULT_MIN_SILENCE,
            timeout: DEFAULT_LOUDNESS_TIMEOUT,
        }
    }
}

/// Why loudness could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum LoudnessError {
    /// The file has no audio stream (a service reports "no audio to analyse").
    #[error("{} has no audio stream: there is no audio to analyse", path.display())]
    NoAudio { path: PathBuf },
    /// The file could not be probed: missing, not a file, or not readable media.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// ffmpeg could not decode the audio, or decoded none of it.
    #[error(
        "the audio of {} could not be decoded (the stream may be corrupt or truncated): {cause}",
        path.display()
    )]
    Corrupt { path: PathBuf, cause: String },
    /// The audio is of a shape this analysis does not take (too many channels, no rate).
    #[error("the audio of {} cannot be analysed: {cause}", path.display())]
    Unsupported { path: PathBuf, cause: String },
    /// ffmpeg is missing, timed out, or could not be run.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// A [`TrackMeter`] was set up or fed wrongly (zero channels, a rate out of range, a
    /// partial frame).
    #[error("loudness meter: {cause}")]
    Meter { cause: String },
}

impl LoudnessError {
    /// Whether trying again later may succeed (a process could not be run or was killed);
    /// everything else is a property of the file.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LoudnessError::Tool(ToolError::Io { .. } | ToolError::TimedOut { .. })
                | LoudnessError::Probe(ProbeError::Io { .. })
                | LoudnessError::Probe(ProbeError::Tool(
                    ToolError::Io { .. } | ToolError::TimedOut { .. }
                ))
        )
    }
}

/// The loudness of every audio track of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoudnessReport {
    /// One per audio stream, in stream order.
    pub tracks: Vec<TrackLoudness>,
    /// 1 for a track that carries sound, 0 for a silent one, in track order.
    pub map: Vec<u8>,
    /// The map in words: "stereo in tracks 1–2; tracks 3–8 silent".
    pub description: String,
    /// The rate every track was measured at (the first track's).
    pub sample_rate: u32,
    pub silent_track_threshold_lufs: f64,
    pub silence_threshold_lufs: f64,
    pub min_silence_seconds: f64,
    /// What the decoder complained about while still decoding (damaged packets...).
    pub warnings: Vec<String>,
}

/// One audio track's loudness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackLoudness {
    /// 1-based position among the file's audio streams.
    pub track: u32,
    /// ffprobe's stream index.
    pub stream_index: u32,
    pub codec: Option<String>,
    /// ffprobe's layout name ("stereo", "5.1(side)"); `None` when it does not know one.
    pub channel_layout: Option<String>,
    pub language: Option<String>,
    /// The track's own rate (the measurement may be at [`LoudnessReport::sample_rate`]).
    pub source_sample_rate: Option<u32>,
    #[serde(flatten)]
    pub loudness: LoudnessMeasurement,
}

/// What a [`TrackMeter`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoudnessMeasurement {
    pub channels: u32,
    /// The rate the samples were measured at.
    pub sample_rate: u32,
    /// Length of the audio measured.
    pub duration_seconds: f64,
    /// Gated integrated loudness (LUFS); `None` for silence or under 400 ms of audio.
    pub integrated_lufs: Option<f64>,
    /// Loudness range (LU, EBU Tech 3342: short-term loudness every 100 ms, gated at -70
    /// LUFS and 20 LU under their mean, 10th to 95th percentile); 0 when there is too little
    /// audio (under 3 s) to have one.
    pub loudness_range_lu: f64,
    /// Highest true peak over all channels (dBTP, 4x oversampled); `None` for digital silence.
    pub true_peak_dbtp: Option<f64>,
    /// Highest sample over all channels (dBFS); `None` for digital silence.
    pub sample_peak_dbfs: Option<f64>,
    /// Highest momentary loudness (400 ms windows every 100 ms, LUFS).
    pub max_momentary_lufs: Option<f64>,
    /// Highest short-term loudness (3 s windows every 100 ms; the whole track when shorter).
    pub max_short_term_lufs: Option<f64>,
    /// The maximum momentary loudness stayed under the silent-track threshold.
    pub silent: bool,
    /// Seconds between series values (1).
    pub series_interval_seconds: f64,
    /// Momentary loudness (400 ms) at the end of every whole second, 0.01 LU resolution.
    pub momentary_series: Vec<Option<f64>>,
    /// Short-term loudness (3 s) at the end of every whole second, 0.01 LU resolution.
    pub short_term_series: Vec<Option<f64>>,
    /// Silence segments, in time order.
    pub silences: Vec<SilenceSegment>,
}

/// A stretch of silence in a track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceSegment {
    pub start_seconds: f64,
    pub end_seconds: f64,
    /// Mean loudness over the segment (LUFS); `None` for digital silence.
    pub level_lufs: Option<f64>,
}

impl SilenceSegment {
    pub fn duration_seconds(&self) -> f64 {
        self.end_seconds - self.start_seconds
    }
}

/// R128 loudness of one track, fed interleaved `f32` samples in pieces of any size.
///
/// ```
/// use mediasift_media::loudness::{LoudnessOptions, TrackMeter};
/// let mut meter = TrackMeter::new(1, 48_000, &LoudnessOptions::default()).unwrap();
/// let tone: Vec<f32> = (0..48_000 * 3)
///     .map(|i| 0.1 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin())
///     .collect();
/// meter.push(&tone).unwrap();
/// let measured = meter.finish();
/// assert!(!measured.silent);
/// assert_eq!(measured.momentary_series.len(), 3);
/// ```
pub struct TrackMeter {
    meter: EbuR128,
    channels: usize,
    rate: u32,
    /// Frames in a 100 ms block, as the crate counts them.
    block_frames: usize,
    /// Frames into the current block.
    in_block: usize,
    blocks: u64,
    frames: u64,
    /// Energies of the last 30 blocks (3 s), a ring indexed by `blocks % 30`.
    recent: [f64; 30],
    max_momentary: f64,
    max_short_term: f64,
    short_terms: ShortTermHistogram,
    momentary_series: Vec<Option<f64>>,
    short_term_series: Vec<Option<f64>>,
    silence: SilenceTracker,
    silent_track_lufs: f64,
}

impl std::fmt::Debug for TrackMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackMeter")
            .field("channels", &self.channels)
            .field("rate", &self.rate)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl TrackMeter {
    /// A meter weighing every channel 1.0 (right for mono and stereo).
    pub fn new(
        channels: u32,
        sample_rate: u32,
        options: &LoudnessOptions,
    ) -> Result<Self, LoudnessError> {
        Self::with_layout(channels, sample_rate, None, options)
    }

    /// A meter whose channel weights follow an ffmpeg layout name ("5.1", "FL+FR+LFE"): as
    /// ffmpeg's `ebur128` filter, LFE channels 0, back and side channels 1.41, the rest 1.0.
    /// An unknown layout, or one whose channel count differs, weighs every channel 1.0.
    pub fn with_layout(
        channels: u32,
        sample_rate: u32,
        layout: Option<&str>,
        options: &LoudnessOptions,
    ) -> Result<Self, LoudnessError> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(meter_error(format!(
                "{channels} channels (1 to {MAX_CHANNELS} are measured)"
            )));
        }
        // Integrated loudness, peaks and windows up to 400 ms from the crate; momentary,
        // short-term and the loudness range from its 100 ms block energies here.
        let mode = Mode::I | Mode::TRUE_PEAK;
        let mut meter = EbuR128::new(channels, sample_rate, mode).map_err(|e| {
            meter_error(format!(
                "cannot measure {channels} channels at {sample_rate} Hz: {e}"
            ))
        })?;
        let weights = channel_weights(layout, channels as usize);
        meter
            .set_channel_map(&weights)
            .map_err(|e| meter_error(format!("channel map: {e}")))?;
        // The crate's own 100 ms ((rate + 5) / 10), so our blocks are its gating steps.
        let block_frames = (sample_rate as usize).saturating_add(5) / 10;
        let min_silence_frames = (options.min_silence.as_secs_f64() * f64::from(sample_rate))
            .round()
            .max(1.0) as u64;
        Ok(TrackMeter {
            meter,
            channels: channels as usize,
            rate: sample_rate,
            block_frames,
            in_block: 0,
            blocks: 0,
            frames: 0,
            recent: [0.0; 30],
            max_momentary: f64::NEG_INFINITY,
            max_short_term: f64::NEG_INFINITY,
            short_terms: ShortTermHistogram::new(),
            momentary_series: Vec::new(),
            short_term_series: Vec::new(),
            silence: SilenceTracker {
                threshold: options.silence_threshold_lufs,
                min_frames: min_silence_frames,
                rate: sample_rate,
                open: None,
                segments: Vec::new(),
            },
            silent_track_lufs: options.silent_track_lufs,
        })
    }

    pub fn channels(&self) -> u32 {
        self.channels as u32
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Frames (sample instants) measured so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Measures `interleaved` samples (`channels` per frame, full scale ±1.0). The length
    /// must be a whole number of frames.
    pub fn push(&mut self, interleaved: &[f32]) -> Result<(), LoudnessError> {
        if !interleaved.len().is_multiple_of(self.channels) {
            return Err(meter_error(format!(
                "{} samples are not whole frames of {} channels",
                interleaved.len(),
                self.channels
            )));
        }
        let mut rest = interleaved;
        while !rest.is_empty() {
            let frames = rest.len() / self.channels;
            let take = (self.block_frames - self.in_block).min(frames);
            let (now, later) = rest.split_at(take * self.channels);
            self.meter
                .add_frames_f32(now)
                .map_err(|e| meter_error(format!("adding samples: {e}")))?;
            self.in_block += take;
            self.frames += take as u64;
            if self.in_block == self.block_frames {
                self.end_block();
            }
            rest = later;
        }
        Ok(())
    }

    /// The measurement of everything pushed.
    pub fn finish(mut self) -> LoudnessMeasurement {
        if self.in_block > 0 {
            // A trailing part block: its own loudness for silence, and a last momentary value.
            let ms = (self.in_block as u64 * 1000 / u64::from(self.rate)) as u32;
            let block = if ms > 0 {
                self.loudness_window(ms)
            } else {
                f64::NEG_INFINITY
            };
            let start = self.frames - self.in_block as u64;
            self.silence_step(start, self.frames, ms, block);
            let momentary = self.loudness_window(self.elapsed_ms().min(400));
            self.max_momentary = self.max_momentary.max(momentary);
        }
        self.silence.close(self.frames);
        if self.blocks < 30 {
            // Shorter than one short-term window: the whole of it is the one window.
            let short_term = if self.blocks > 0 {
                energy_to_loudness(self.recent_energy(30))
            } else {
                self.loudness_window(self.elapsed_ms())
            };
            self.max_short_term = self.max_short_term.max(short_term);
        }

        let integrated = self.meter.loudness_global().unwrap_or(f64::NEG_INFINITY);
        let range = self.short_terms.range();
        let (mut true_peak, mut sample_peak) = (0.0f64, 0.0f64);
        for channel in 0..self.channels as u32 {
            true_peak = true_peak.max(self.meter.true_peak(channel).unwrap_or(0.0));
            sample_peak = sample_peak.max(self.meter.sample_peak(channel).unwrap_or(0.0));
        }
        let max_momentary = audible(self.max_momentary);
        // Figures to 0.001 dB: far below any meter's accuracy, and stable JSON.
        let fine = |v: f64| round_to(v, 3);
        LoudnessMeasurement {
            channels: self.channels as u32,
            sample_rate: self.rate,
            duration_seconds: round_to(self.frames as f64 / f64::from(self.rate), 6),
            integrated_lufs: audible(integrated).map(fine),
            loudness_range_lu: finite(range).map_or(0.0, fine),
            true_peak_dbtp: amplitude_db(true_peak).map(fine),
            sample_peak_dbfs: amplitude_db(sample_peak).map(fine),
            max_momentary_lufs: max_momentary.map(fine),
            max_short_term_lufs: audible(self.max_short_term).map(fine),
            silent: max_momentary.is_none_or(|m| m < self.silent_track_lufs),
            series_interval_seconds: SERIES_INTERVAL_SECONDS,
            momentary_series: self.momentary_series,
            short_term_series: self.short_term_series,
            silences: self.silence.segments,
        }
    }

    fn elapsed_ms(&self) -> u32 {
        (self.frames.saturating_mul(1000) / u64::from(self.rate)).min(u64::from(u32::MAX)) as u32
    }

    /// Loudness of the last `ms` milliseconds (at most 400, the crate's window).
    fn loudness_window(&self, ms: u32) -> f64 {
        self.meter
            .loudness_window(ms.clamp(1, 400))
            .unwrap_or(f64::NEG_INFINITY)
    }

    /// Mean energy of the last `ms` milliseconds.
    fn window_energy(&self, ms: u32) -> f64 {
        loudness_to_energy(self.loudness_window(ms))
    }

    /// Frames in `ms` milliseconds, as the crate counts a window.
    fn frames_in(&self, ms: u32) -> u64 {
        u64::from(self.rate) * u64::from(ms) / 1000
    }

    /// Silence bookkeeping for the block `start..end` (`ms` long, `loudness` loud) that just
    /// ended. Where a silence begins or ends inside a block, the edge is placed to 10 ms: the
    /// mean energy of a stretch that ended earlier is a difference of two windows ending now.
    fn silence_step(&mut self, start: u64, end: u64, ms: u32, loudness: f64) {
        let span = |e: f64, ms: u32| e * f64::from(ms);
        if self.silence.is_quiet(loudness) {
            if !self.silence.is_open() {
                // How far back into the block before the quiet reaches.
                let whole = span(self.window_energy(ms), ms);
                let mut reach = 0;
                let mut w = 10;
                while w < 100 && start > 0 && self.frames_in(ms + w) <= self.frames {
                    let energy = (span(self.window_energy(ms + w), ms + w) - whole) / f64::from(w);
                    if !self.silence.is_quiet(energy_to_loudness(energy)) {
                        break;
                    }
                    reach = w;
                    w += 10;
                }
                let back = self.frames_in(reach).min(start);
                self.silence.open(start - back);
            }
            self.silence.add(loudness_to_energy(loudness), end - start);
        } else if self.silence.is_open() {
            // How far into this block the quiet lasts.
            let whole = span(self.window_energy(ms), ms);
            let mut reach = 0;
            let mut w = 10;
            while w < ms {
                let energy = (whole - span(self.window_energy(ms - w), ms - w)) / f64::from(w);
                if !self.silence.is_quiet(energy_to_loudness(energy)) {
                    break;
                }
                reach = w;
                w += 10;
            }
            let into = self.frames_in(reach).min(end - start);
            self.silence.close(start + into);
        }
    }

    /// Mean energy of the last `count` whole blocks (at most 30, at most those there are).
    fn recent_energy(&self, count: usize) -> f64 {
        let count = count.min(30).min(self.blocks as usize);
        if count == 0 {
            return 0.0;
        }
        let last = self.blocks as usize; // one past the newest, modulo 30
        (1..=count)
            .map(|back| self.recent[(last + 30 - back) % 30])
            .sum::<f64>()
            / count as f64
    }

    fn end_block(&mut self) {
        self.in_block = 0;
        let end = self.frames;
        let block = self.loudness_window(100);
        self.recent[(self.blocks % 30) as usize] = loudness_to_energy(block);
        self.blocks += 1;
        self.silence_step(end - self.block_frames as u64, end, 100, block);
        // Windows of 4 and 30 blocks (400 ms, 3 s), shortened at the start to the blocks there
        // are.
        let momentary = energy_to_loudness(self.recent_energy(4));
        self.max_momentary = self.max_momentary.max(momentary);
        let short_term = energy_to_loudness(self.recent_energy(30));
        if self.blocks >= 30 {
            self.max_short_term = self.max_short_term.max(short_term);
            self.short_terms.add(short_term);
        }
        if self.blocks.is_multiple_of(10) {
            self.momentary_series
                .push(audible(momentary).map(|v| round_to(v, 2)));
            self.short_term_series
                .push(audible(short_term).map(|v| round_to(v, 2)));
        }
    }
}

/// Lowest and highest short-term loudness kept for the loudness range (LUFS).
const RANGE_FLOOR_LUFS: f64 = -70.0;
const RANGE_CEILING_LUFS: f64 = 30.0;
/// Histogram step for the loudness range (LU), as ffmpeg's `ebur128`.
const RANGE_STEP_LU: f64 = 0.01;

/// Short-term loudness values in 0.01 LU bins: the loudness range in constant memory.
struct ShortTermHistogram {
    bins: Vec<u32>,
    /// Sum of the energies of the values above the absolute gate, and their count.
    energy: f64,
    count: u64,
}

impl ShortTermHistogram {
    fn new() -> Self {
        let bins = ((RANGE_CEILING_LUFS - RANGE_FLOOR_LUFS) / RANGE_STEP_LU).round() as usize;
        ShortTermHistogram {
            bins: vec![0; bins],
            energy: 0.0,
            count: 0,
        }
    }

    fn bin(&self, loudness: f64) -> usize {
        let index = ((loudness - RANGE_FLOOR_LUFS) / RANGE_STEP_LU).floor();
        (index.max(0.0) as usize).min(self.bins.len() - 1)
    }

    fn add(&mut self, loudness: f64) {
        // The absolute gate; also keeps -inf and NaN out.
        if loudness > RANGE_FLOOR_LUFS {
            let bin = self.bin(loudness);
            self.bins[bin] = self.bins[bin].saturating_add(1);
            self.energy += loudness_to_energy(loudness);
            self.count += 1;
        }
    }

    /// EBU Tech 3342: the values 20 LU or less under the mean of the absolute-gated ones are
    /// dropped; the range is the 95th minus the 10th percentile of the rest (positions
    /// rounded as libebur128 does).
    fn range(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let gate = energy_to_loudness(self.energy / self.count as f64) - 20.0;
        let first = self.bin(gate) + 1;
        let kept: u64 = self.bins[first..].iter().map(|&c| u64::from(c)).sum();
        if kept < 2 {
            return 0.0;
        }
        let position = |fraction: f64| ((kept - 1) as f64 * fraction + 0.5) as u64;
        let value = |position: u64| {
            let mut seen = 0u64;
            for (offset, &count) in self.bins[first..].iter().enumerate() {
                seen += u64::from(count);
                if seen > position {
                    let bin = first + offset;
                    return RANGE_FLOOR_LUFS + (bin as f64 + 0.5) * RANGE_STEP_LU;
                }
            }
            RANGE_CEILING_LUFS
        };
        (value(position(0.95)) - value(position(0.10))).max(0.0)
    }
}

/// Runs of quiet 100 ms blocks.
struct SilenceTracker {
    threshold: f64,
    min_frames: u64,
    rate: u32,
    /// The run in progress.
    open: Option<OpenSilence>,
    segments: Vec<SilenceSegment>,
}

impl SilenceTracker {
    /// Under the threshold; NaN (never expected) counts as sound, so it can only shorten a
    /// silence.
    fn is_quiet(&self, loudness: f64) -> bool {
        loudness < self.threshold
    }

    fn is_open(&self) -> bool {
        self.open.is_some()
    }

    fn open(&mut self, start: u64) {
        self.open = Some(OpenSilence {
            start,
            energy: 0.0,
            frames: 0,
        });
    }

    /// A whole quiet block of mean `energy`.
    fn add(&mut self, energy: f64, frames: u64) {
        if let Some(open) = &mut self.open {
            open.energy += energy * frames as f64;
            open.frames += frames;
        }
    }

    fn close(&mut self, end: u64) {
        let Some(open) = self.open.take() else {
            return;
        };
        let length = end.saturating_sub(open.start);
        if length == 0 || length < self.min_frames {
            return;
        }
        let rate = f64::from(self.rate);
        let mean = if open.frames > 0 {
            open.energy / open.frames as f64
        } else {
            0.0
        };
        self.segments.push(SilenceSegment {
            start_seconds: round_to(open.start as f64 / rate, 3),
            end_seconds: round_to(end as f64 / rate, 3),
            level_lufs: audible(energy_to_loudness(mean)).map(|v| round_to(v, 2)),
        });
    }
}

/// A silence in progress: where it starts, and the energy of its whole quiet blocks (the
/// level; the 10 ms edges only move its ends).
struct OpenSilence {
    start: u64,
    /// Sum of mean energy x frames.
    energy: f64,
    frames: u64,
}

/// Measures every audio track of `path` (see the module documentation).
pub async fn analyse_file(
    path: impl AsRef<Path>,
    options: &LoudnessOptions,
) -> Result<LoudnessReport, LoudnessError> {
    let path = path.as_ref();
    let probed = probe::probe_with(
        path,
        ProbeOptions {
            timeout: options.timeout.min(probe::DEFAULT_PROBE_TIMEOUT),
            mediainfo: false,
        },
    )
    .await?;
    let summary = &probed.summary;
    if summary.audio_tracks.is_empty() {
        return Err(LoudnessError::NoAudio {
            path: path.to_path_buf(),
        });
    }
    let plan = Plan::new(&summary.audio_tracks, summary.duration_seconds).map_err(|cause| {
        LoudnessError::Unsupported {
            path: path.to_path_buf(),
            cause,
        }
    })?;
    let absolute = std::path::absolute(path).map_err(|source| ProbeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut meters = Vec::with_capacity(plan.tracks.len());
    for track in &plan.tracks {
        let meter =
            TrackMeter::with_layout(track.channels, plan.rate, track.layout.as_deref(), options)
                .map_err(|error| match error {
                    LoudnessError::Meter { cause } => LoudnessError::Unsupported {
                        path: path.to_path_buf(),
                        cause: format!("track {}: {cause}", track.ordinal + 1),
                    },
                    other => other,
                })?;
        meters.push(meter);
    }
    let (meters, warnings) = decode_into(path, &absolute, &plan, meters, options.timeout).await?;

    let mut tracks = Vec::with_capacity(meters.len());
    for ((meter, track), source) in meters
        .into_iter()
        .zip(&plan.tracks)
        .zip(&summary.audio_tracks)
    {
        tracks.push(TrackLoudness {
            track: track.ordinal as u32 + 1,
            stream_index: source.index,
            codec: source.codec.clone(),
            channel_layout: track.layout.clone(),
            language: source.language.clone(),
            source_sample_rate: source.sample_rate,
            loudness: meter.finish(),
        });
    }
    if tracks.iter().all(|t| t.loudness.duration_seconds == 0.0) {
        return Err(LoudnessError::Corrupt {
            path: path.to_path_buf(),
            cause: if warnings.is_empty() {
                "ffmpeg decoded no audio samples".to_owned()
            } else {
                format!("ffmpeg decoded no audio samples: {}", warnings.join("; "))
            },
        });
    }
    let map = loudness_map(&tracks);
    let description = describe_map(&tracks);
    Ok(LoudnessReport {
        map,
        description,
        sample_rate: plan.rate,
        silent_track_threshold_lufs: options.silent_track_lufs,
        silence_threshold_lufs: options.silence_threshold_lufs,
        min_silence_seconds: options.min_silence.as_secs_f64(),
        warnings,
        tracks,
    })
}

/// 1 for each track that carries sound, 0 for each silent one.
pub fn loudness_map(tracks: &[TrackLoudness]) -> Vec<u8> {
    tracks
        .iter()
        .map(|t| u8::from(!t.loudness.silent))
        .collect()
}

/// The loudness map in words: runs of live mono tracks read as the layout they usually are
/// (2: "stereo in tracks 1–2", 6: "5.1 in tracks 1–6"), multichannel tracks by their layout
/// ("5.1(side) in track 3"), then the silent tracks ("tracks 3–8 silent").
pub fn describe_map(tracks: &[TrackLoudness]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < tracks.len() {
        let track = &tracks[i];
        if track.loudness.silent {
            i += 1;
            continue;
        }
        if track.loudness.channels == 1 {
            let mut j = i + 1;
            while j < tracks.len() && !tracks[j].loudness.silent && tracks[j].loudness.channels == 1
            {
                j += 1;
            }
            let (first, last) = (tracks[i].track, tracks[j - 1].track);
            parts.push(match j - i {
                1 => format!("mono in track {first}"),
                2 => format!("stereo in tracks {first}–{last}"),
                6 => format!("5.1 in tracks {first}–{last}"),
                n => format!("{n} mono tracks in tracks {first}–{last}"),
            });
            i = j;
        } else {
            let layout = track
                .channel_layout
                .clone()
                .unwrap_or_else(|| format!("{}-channel", track.loudness.channels));
            parts.push(format!("{layout} in track {}", track.track));
            i += 1;
        }
    }
    let silent: Vec<u32> = tracks
        .iter()
        .filter(|t| t.loudness.silent)
        .map(|t| t.track)
        .collect();
    if silent.len() == tracks.len() {
        return match tracks.len() {
            0 => "no audio tracks".to_owned(),
            1 => "silent".to_owned(),
            n => format!("all {n} tracks silent"),
        };
    }
    let runs = number_runs(&silent);
    match (silent.len(), runs.as_str()) {
        (0, _) => {}
        (1, _) => parts.push(format!("track {runs} silent")),
        _ => parts.push(format!("tracks {runs} silent")),
    }
    parts.join("; ")
}

/// "3–8" for 3,4,5,6,7,8; "2, 4–5" for 2,4,5.
fn number_runs(numbers: &[u32]) -> String {
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        runs.push(if i == j {
            numbers[i].to_string()
        } else {
            format!("{}–{}", numbers[i], numbers[j])
        });
        i = j + 1;
    }
    runs.join(", ")
}

/// What one decode of all the tracks looks like.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    /// The common rate (the first track's).
    rate: u32,
    /// Pad every track to this many seconds (tracks of different lengths only).
    pad_to: Option<f64>,
    tracks: Vec<TrackPlan>,
}

#[derive(Debug, Clone, PartialEq)]
struct TrackPlan {
    /// Position among the audio streams (`0:a:N`).
    ordinal: usize,
    channels: u32,
    source_rate: u32,
    /// The layout name, when ffprobe knows one.
    layout: Option<String>,
    /// Frames of this track to measure, when it is shorter than the padded length.
    frame_limit: Option<u64>,
}

impl Plan {
    fn new(audio: &[AudioTrack], container_duration: Option<f64>) -> Result<Plan, String> {
        let first = audio.first().ok_or("no audio stream")?;
        let rate = first
            .sample_rate
            .ok_or("ffprobe reports no sample rate for the first audio track")?;
        let durations: Vec<Option<f64>> = audio
            .iter()
            .map(|t| t.duration_seconds.filter(|d| d.is_finite() && *d > 0.0))
            .collect();
        let longest = durations.iter().flatten().copied().reduce(f64::max);
        let shortest = durations.iter().flatten().copied().reduce(f64::min);
        let pad_to = if audio.len() < 2 {
            None
        } else {
            let container = container_duration.filter(|d| d.is_finite() && *d > 0.0);
            match (longest, shortest) {
                // Some streams without a duration: pad to the longest of all that is known.
                (Some(longest), Some(_)) if durations.contains(&None) => {
                    Some(container.map_or(longest, |c| c.max(longest)))
                }
                (Some(longest), Some(shortest)) if longest - shortest > DURATION_TOLERANCE => {
                    Some(longest)
                }
                (Some(_), Some(_)) => None,
                // No stream durations (Matroska): pad to the container's.
                _ => container,
            }
        };
        let mut tracks = Vec::with_capacity(audio.len());
        let mut total = 0u32;
        for (ordinal, (track, duration)) in audio.iter().zip(&durations).enumerate() {
            let number = ordinal + 1;
            let channels = track
                .channels
                .ok_or_else(|| format!("ffprobe reports no channel count for track {number}"))?;
            if channels as usize > CHANNEL_ORDER.len() {
                return Err(format!(
                    "track {number} has {channels} channels (at most {} per track)",
                    CHANNEL_ORDER.len()
                ));
            }
            total += channels;
            let frame_limit = match (pad_to, duration) {
                (Some(pad), Some(own)) if pad - own > DURATION_TOLERANCE => {
                    Some((own * f64::from(rate)).ceil() as u64)
                }
                _ => None,
            };
            tracks.push(TrackPlan {
                ordinal,
                channels,
                source_rate: track.sample_rate.unwrap_or(rate),
                layout: track
                    .channel_layout
                    .clone()
                    .filter(|l| !l.is_empty() && l != "unknown"),
                frame_limit,
            });
        }
        if total > MAX_CHANNELS {
            return Err(format!(
                "{total} channels in {} tracks (at most {MAX_CHANNELS} in all)",
                audio.len()
            ));
        }
        Ok(Plan {
            rate,
            pad_to,
            tracks,
        })
    }

    fn channels(&self) -> usize {
        self.tracks.iter().map(|t| t.channels as usize).sum()
    }

    /// The `-filter_complex` graph whose output `[out]` is every track's channels in order.
    fn filter_graph(&self) -> String {
        let mut chains = Vec::with_capacity(self.tracks.len() + 1);
        let single = self.tracks.len() == 1;
        for track in &self.tracks {
            let mut filters = Vec::new();
            if track.source_rate != self.rate {
                filters.push(format!("aresample={}", self.rate));
            }
            if let Some(pad) = self.pad_to {
                filters.push(format!("apad=whole_dur={pad:.6}"));
            }
            let k = track.channels as usize;
            let mut pan = format!("pan={}", CHANNEL_ORDER[..k].join("+"));
            for c in 0..k {
                pan += &format!("|c{c}=c{c}");
            }
            filters.push(pan);
            let label = if single {
                "out".to_owned()
            } else {
                format!("a{}", track.ordinal)
            };
            chains.push(format!(
                "[0:a:{}]{}[{label}]",
                track.ordinal,
                filters.join(",")
            ));
        }
        if !single {
            let inputs: String = self
                .tracks
                .iter()
                .map(|t| format!("[a{}]", t.ordinal))
                .collect();
            chains.push(format!("{inputs}amerge=inputs={}[out]", self.tracks.len()));
        }
        chains.join(";")
    }

    /// The ffmpeg arguments: every audio track of `absolute` as raw f32le on stdout.
    fn ffmpeg_args(&self, absolute: &Path) -> Vec<OsString> {
        let mut input = OsString::from("file:");
        input.push(absolute.as_os_str());
        let mut args: Vec<OsString> = [
            "-hide_banner",
            "-nostdin",
            "-nostats",
            "-loglevel",
            "error",
            "-i",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.push(input);
        args.push("-filter_complex".into());
        args.push(self.filter_graph().into());
        for arg in [
            "-map",
            "[out]",
            "-c:a",
            "pcm_f32le",
            "-f",
            "f32le",
            "pipe:1",
        ] {
            args.push(arg.into());
        }
        args
    }
}

/// Runs the decode and feeds the meters; returns them with the decoder's warnings.
async fn decode_into(
    path: &Path,
    absolute: &Path,
    plan: &Plan,
    meters: Vec<TrackMeter>,
    timeout: Duration,
) -> Result<(Vec<TrackMeter>, Vec<String>), LoudnessError> {
    const TOOL: &str = "ffmpeg";
    let io_error = |source| ToolError::Io {
        tool: TOOL.to_owned(),
        source,
    };
    let args = plan.ffmpeg_args(absolute);
    tracing::debug!(?args, ?timeout, "decoding audio for loudness");
    let mut child = Command::new(TOOL)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| process::spawn_error(TOOL, source))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io_error(io::Error::other(
            "the child's stdout/stderr pipes were not set up",
        ))
        .into());
    };

    let frame_bytes = plan.channels() * 4;
    let (sender, receiver) = mpsc::channel::<Vec<u8>>(QUEUE_CHUNKS);
    let splitter = Splitter::new(plan, meters);
    let metering = tokio::task::spawn_blocking(move || splitter.run(receiver));

    let finished = tokio::time::timeout(timeout, async {
        let (pumped, err, metered) = tokio::join!(
            pump(stdout, frame_bytes, sender),
            process::read_capped(stderr, MAX_STDERR, Keep::Tail),
            metering,
        );
        let status = child.wait().await;
        (pumped, err, metered, status)
    })
    .await;
    let (pumped, err, metered, status) = match finished {
        Ok(parts) => parts,
        Err(_elapsed) => {
            if let Err(error) = child.start_kill() {
                tracing::warn!(%error, "could not kill a timed-out ffmpeg");
            }
            let _ = tokio::time::timeout(process::REAP_GRACE, child.wait()).await;
            tracing::warn!(after = ?timeout, "loudness decode timed out and ffmpeg was killed");
            return Err(ToolError::TimedOut {
                tool: TOOL.to_owned(),
                after: timeout,
            }
            .into());
        }
    };
    let status = status.map_err(io_error)?;
    let (stderr, _) = err.map_err(io_error)?;
    let partial = pumped.map_err(io_error)?;
    let meters = match metered {
        Ok(result) => result?,
        Err(join) => {
            return Err(meter_error(format!("the metering thread failed: {join}")));
        }
    };
    let warnings = ffmpeg_lines(&stderr, absolute);
    if !status.success() {
        let code = match status.code() {
            Some(code) => format!("ffmpeg exit code {code}"),
            None => "ffmpeg was killed by a signal".to_owned(),
        };
        let tail = process::stderr_tail(&stderr);
        return Err(LoudnessError::Corrupt {
            path: path.to_path_buf(),
            cause: if tail.is_empty() {
                format!("{code}, nothing on stderr")
            } else {
                format!("{code}: {tail}")
            },
        });
    }
    if partial > 0 {
        tracing::warn!(
            partial,
            frame_bytes,
            "ffmpeg's output ended inside a frame; the partial frame was dropped"
        );
    }
    Ok((meters, warnings))
}

/// Reads `reader` to its end in whole frames, sending chunks to the meters. When the meters
/// stop listening (an error), keeps draining so ffmpeg never blocks on a full pipe. Returns
/// the bytes of a trailing partial frame.
async fn pump<R: AsyncRead + Unpin>(
    mut reader: R,
    frame_bytes: usize,
    sender: mpsc::Sender<Vec<u8>>,
) -> io::Result<usize> {
    let chunk = READ_CHUNK.div_ceil(frame_bytes).max(1) * frame_bytes;
    let mut carry: Vec<u8> = Vec::new();
    let mut listening = true;
    loop {
        let mut buffer = vec![0u8; chunk];
        buffer[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        carry.clear();
        let mut ended = false;
        while filled < chunk {
            let n = reader.read(&mut buffer[filled..]).await?;
            if n == 0 {
                ended = true;
                break;
            }
            filled += n;
        }
        let whole = filled / frame_bytes * frame_bytes;
        carry.extend_from_slice(&buffer[whole..filled]);
        buffer.truncate(whole);
        if listening && !buffer.is_empty() && sender.send(buffer).await.is_err() {
            listening = false;
        }
        if ended {
            return Ok(carry.len());
        }
    }
}

/// Splits frames of all tracks' channels into per-track samples for the meters.
struct Splitter {
    meters: Vec<TrackMeter>,
    /// (first channel, channels, frame limit) per track.
    layout: Vec<(usize, usize, Option<u64>)>,
    channels: usize,
    samples: Vec<f32>,
    scratch: Vec<f32>,
}

impl Splitter {
    fn new(plan: &Plan, meters: Vec<TrackMeter>) -> Self {
        let mut offset = 0;
        let layout = plan
            .tracks
            .iter()
            .map(|t| {
                let entry = (offset, t.channels as usize, t.frame_limit);
                offset += t.channels as usize;
                entry
            })
            .collect();
        Splitter {
            meters,
            layout,
            channels: offset,
            samples: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn run(
        mut self,
        mut receiver: mpsc::Receiver<Vec<u8>>,
    ) -> Result<Vec<TrackMeter>, LoudnessError> {
        while let Some(bytes) = receiver.blocking_recv() {
            self.push_bytes(&bytes)?;
        }
        Ok(self.meters)
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), LoudnessError> {
        self.samples.clear();
        self.samples.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        let frames = self.samples.len() / self.channels;
        for (meter, &(first, count, limit)) in self.meters.iter_mut().zip(&self.layout) {
            let room = limit.map_or(frames as u64, |l| l.saturating_sub(meter.frames()));
            let take = (frames as u64).min(room) as usize;
            if take == 0 {
                continue;
            }
            if count == self.channels {
                meter.push(&self.samples[..take * count])?;
                continue;
            }
            self.scratch.clear();
            self.scratch.extend(
                self.samples
                    .chunks_exact(self.channels)
                    .take(take)
                    .flat_map(|frame| &frame[first..first + count]),
            );
            meter.push(&self.scratch)?;
        }
        Ok(())
    }
}

/// ffmpeg's stderr lines made readable and distinct: "[aac @ 0x55..] Error ..." becomes
/// "aac: Error ...", the input's name is dropped.
fn ffmpeg_lines(stderr: &[u8], absolute: &Path) -> Vec<String> {
    let text = String::from_utf8_lossy(stderr);
    let input = format!("file:{}", absolute.display());
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut line = line.trim().to_owned();
        if line.starts_with('[')
            && let Some(end) = line.find("] ")
            && let Some(at) = line[..end].find(" @ 0x")
        {
            line = format!("{}: {}", &line[1..at], line[end + 2..].trim());
        }
        if let Some(rest) = line.strip_prefix(&input) {
            line = rest.trim_start_matches(':').trim().to_owned();
        }
        if !line.is_empty() && !lines.contains(&line) {
            lines.push(line);
            if lines.len() == MAX_WARNINGS {
                break;
            }
        }
    }
    lines
}

/// R128 channel weights for a layout, as ffmpeg's `ebur128` filter assigns them.
fn channel_weights(layout: Option<&str>, channels: usize) -> Vec<Channel> {
    let names = layout.and_then(layout_channels);
    match names {
        Some(names) if names.len() == channels => names
            .iter()
            .map(|name| match *name {
                "LFE" | "LFE2" => Channel::Unused,
                "BL" | "BR" | "BC" | "TBL" | "TBC" | "TBR" | "SL" | "SR" | "SDL" | "SDR" => {
                    Channel::LeftSurround
                }
                _ => Channel::Center,
            })
            .collect(),
        _ => vec![Channel::Center; channels],
    }
}

/// The channel names of a layout: a standard name ("5.1(side)"), a `+` list ("FL+FR+LFE"), or
/// ffmpeg's description of a custom one ("3 channels (FL+FR+LFE)").
fn layout_channels(layout: &str) -> Option<Vec<&str>> {
    let layout = layout.trim();
    if let Some((_, decomposition)) = LAYOUTS.iter().find(|(name, _)| *name == layout) {
        return Some(decomposition.split('+').collect());
    }
    let list = match (layout.find('('), layout.strip_suffix(')')) {
        (Some(open), Some(inner)) if layout.contains("channels") => &inner[open + 1..],
        _ => layout,
    };
    let names: Vec<&str> = list.split('+').map(str::trim).collect();
    names
        .iter()
        .all(|n| CHANNEL_ORDER.contains(n))
        .then_some(names)
}

fn meter_error(cause: String) -> LoudnessError {
    LoudnessError::Meter { cause }
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// A loudness for the report: `None` for -inf, NaN and anything under
/// [`LOUDNESS_FLOOR_LUFS`].
fn audible(loudness: f64) -> Option<f64> {
    finite(loudness).filter(|l| *l >= LOUDNESS_FLOOR_LUFS)
}

/// `value` rounded to `decimals` places (as the nearest double to that decimal).
fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn amplitude_db(linear: f64) -> Option<f64> {
    (linear > 0.0)
        .then(|| 20.0 * linear.log10())
        .and_then(finite)
}

/// BS.1770: L = -0.691 + 10 log10(energy).
fn energy_to_loudness(energy: f64) -> f64 {
    if energy > 0.0 {
        -0.691 + 10.0 * energy.log10()
    } else {
        f64::NEG_INFINITY
    }
}

fn loudness_to_energy(loudness: f64) -> f64 {
    if loudness.is_finite() {
        10f64.powf((loudness + 0.691) / 10.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(amplitude: f32, seconds: f64, rate: u32, channels: usize) -> Vec<f32> {
        let frames = (seconds * f64::from(rate)) as usize;
        (0..frames)
            .flat_map(|i| {
                let v = amplitude
                    * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(rate)).sin()
                        as f32;
                std::iter::repeat_n(v, channels)
            })
            .collect()
    }

    fn audio(channels: u32, layout: &str, duration: Option<f64>) -> AudioTrack {
        AudioTrack {
            channels: Some(channels),
            channel_layout: Some(layout.to_owned()),
            sample_rate: Some(48_000),
            duration_seconds: duration,
            ..AudioTrack::default()
        }
    }

    #[test]
    fn a_full_scale_sine_reads_about_minus_three_lufs() {
        let mut meter = TrackMeter::new(1, 48_000, &LoudnessOptions::default()).unwrap();
        meter.push(&sine(1.0, 5.0, 48_000, 1)).unwrap();
        let m = meter.finish();
        let integrated = m.integrated_lufs.unwrap();
        assert!((integrated + 3.01).abs() < 0.05, "{integrated}");
        assert!(m.true_peak_dbtp.unwrap().abs() < 0.1);
        assert_eq!(m.momentary_series.len(), 5);
        assert!(!m.silent);
        assert!(m.silences.is_empty());
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let samples = sine(0.3, 4.3, 44_100, 2);
        let options = LoudnessOptions::default();
        let mut whole = TrackMeter::new(2, 44_100, &options).unwrap();
        whole.push(&samples).unwrap();
        let mut pieces = TrackMeter::new(2, 44_100, &options).unwrap();
        for piece in samples.chunks(2 * 777) {
            pieces.push(piece).unwrap();
        }
        assert_eq!(whole.finish(), pieces.finish());
    }

    #[test]
    fn digital_silence_is_null_in_json_and_one_silence() {
        let mut meter = TrackMeter::new(2, 48_000, &LoudnessOptions::default()).unwrap();
        meter.push(&vec![0.0; 2 * 48_000 * 2]).unwrap();
        let m = meter.finish();
        assert!(m.silent);
        assert_eq!(m.integrated_lufs, None);
        assert_eq!(m.true_peak_dbtp, None);
        assert_eq!(m.silences.len(), 1);
        assert_eq!(m.silences[0].start_seconds, 0.0);
        assert_eq!(m.silences[0].end_seconds, 2.0);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"integratedLufs\":null"), "{json}");
        let back: LoudnessMeasurement = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn partial_frames_and_bad_setups_are_errors() {
        let options = LoudnessOptions::default();
        let mut meter = TrackMeter::new(2, 48_000, &options).unwrap();
        assert!(matches!(
            meter.push(&[0.0; 3]),
            Err(LoudnessError::Meter { .. })
        ));
        assert!(TrackMeter::new(0, 48_000, &options).is_err());
        assert!(TrackMeter::new(2, 0, &options).is_err());
        assert!(TrackMeter::new(65, 48_000, &options).is_err());
    }

    #[test]
    fn weights_follow_ffmpeg() {
        use Channel::*;
        assert_eq!(
            channel_weights(Some("5.1(side)"), 6),
            [Center, Center, Center, Unused, LeftSurround, LeftSurround]
        );
        assert_eq!(channel_weights(Some("mono"), 1), [Center]);
        assert_eq!(
            channel_weights(Some("3 channels (FL+FR+LFE)"), 3),
            [Center, Center, Unused]
        );
        assert_eq!(channel_weights(Some("5.1"), 2), [Center, Center]);
        assert_eq!(channel_weights(None, 3), [Center, Center, Center]);
    }

    #[test]
    fn the_graph_relabels_pads_and_merges_in_order() {
        let tracks = [
            audio(1, "mono", Some(5.0)),
            AudioTrack {
                sample_rate: Some(44_100),
                ..audio(2, "stereo", Some(3.0))
            },
        ];
        let plan = Plan::new(&tracks, Some(5.0)).unwrap();
        assert_eq!(plan.pad_to, Some(5.0));
        assert_eq!(plan.tracks[0].frame_limit, None);
        assert_eq!(plan.tracks[1].frame_limit, Some(144_000));
        assert_eq!(
            plan.filter_graph(),
            "[0:a:0]apad=whole_dur=5.000000,pan=FL|c0=c0[a0];\
             [0:a:1]aresample=48000,apad=whole_dur=5.000000,pan=FL+FR|c0=c0|c1=c1[a1];\
             [a0][a1]amerge=inputs=2[out]"
        );
        let one = Plan::new(&tracks[..1], Some(5.0)).unwrap();
        assert_eq!(one.filter_graph(), "[0:a:0]pan=FL|c0=c0[out]");
        let equal = Plan::new(&[tracks[0].clone(), tracks[0].clone()], None).unwrap();
        assert_eq!(equal.pad_to, None);
        let args = one.ffmpeg_args(Path::new("/a b;rm.mov"));
        assert!(args.iter().any(|a| a == "file:/a b;rm.mov"));
        assert_eq!(args.last().unwrap(), "pipe:1");
    }

    #[test]
    fn too_many_channels_are_refused() {
        let tracks = vec![audio(16, "hexadecagonal", None); 5];
        assert!(
            Plan::new(&tracks, None)
                .unwrap_err()
                .contains("80 channels")
        );
    }

    fn track(number: u32, channels: u32, silent: bool) -> TrackLoudness {
        TrackLoudness {
            track: number,
            stream_index: number,
            codec: None,
            channel_layout: None,
            language: None,
            source_sample_rate: None,
            loudness: LoudnessMeasurement {
                channels,
                sample_rate: 48_000,
                duration_seconds: 1.0,
                integrated_lufs: None,
                loudness_range_lu: 0.0,
                true_peak_dbtp: None,
                sample_peak_dbfs: None,
                max_momentary_lufs: None,
                max_short_term_lufs: None,
                silent,
                series_interval_seconds: 1.0,
                momentary_series: vec![],
                short_term_series: vec![],
                silences: vec![],
            },
        }
    }

    #[test]
    fn maps_read_as_people_say_them() {
        let eight: Vec<_> = (1..=8).map(|n| track(n, 1, n > 2)).collect();
        assert_eq!(loudness_map(&eight), [1, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            describe_map(&eight),
            "stereo in tracks 1–2; tracks 3–8 silent"
        );
        let mixed = [track(1, 2, false), track(2, 1, true), track(3, 1, false)];
        assert_eq!(
            describe_map(&mixed),
            "2-channel in track 1; mono in track 3; track 2 silent"
        );
        assert_eq!(describe_map(&[track(1, 2, true)]), "silent");
        let quiet: Vec<_> = (1..=8).map(|n| track(n, 1, true)).collect();
        assert_eq!(describe_map(&quiet), "all 8 tracks silent");
        assert_eq!(number_runs(&[2, 4, 5, 7]), "2, 4–5, 7");
    }
}
