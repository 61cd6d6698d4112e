//! Per-track EBU R128 loudness on media generated here with ffmpeg's lavfi sources, compared
//! with ffmpeg's own `ebur128` filter run on the same files at test time (a different
//! implementation: libavfilter's, not libebur128's).

mod probe_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mediasift_media::loudness::{
    LoudnessError, LoudnessOptions, LoudnessReport, TrackLoudness, analyse_file,
};
use mediasift_media::probe::ProbeError;
use mediasift_media::process::ToolError;
use probe_support::{Fixtures, ffmpeg, random_bytes};

/// The loudness of lavfi's `sine` (amplitude 1/8) at 1 kHz, mono, and on both channels of a
/// stereo pair: -3.01 LUFS for a full-scale 1 kHz sine (BS.1770), -18.06 dB for 1/8.
const SINE_MONO_LUFS: f64 = -21.067;
const SINE_STEREO_LUFS: f64 = -18.057;

/// ffmpeg's `ebur128=peak=true` summary of one audio stream.
#[derive(Debug, Clone, Copy)]
struct Reference {
    integrated: f64,
    range: f64,
    true_peak: f64,
}

fn ffmpeg_r128(path: &Path, stream: usize) -> Reference {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-nostats", "-i"])
        .arg(path)
        .args(["-map", &format!("0:a:{stream}"), "-af", "ebur128=peak=true"])
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ffmpeg ebur128 failed: {stderr}");
    let summary = stderr
        .rsplit_once("Summary:")
        .unwrap_or_else(|| panic!("no ebur128 summary in: {stderr}"))
        .1;
    let value = |label: &str| -> f64 {
        summary
            .lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no `{label}` in the ebur128 summary: {summary}"))
    };
    Reference {
        integrated: value("I:"),
        range: value("LRA:"),
        true_peak: value("Peak:"),
    }
}

async fn analyse(path: &Path) -> LoudnessReport {
    analyse_file(path, &LoudnessOptions::default())
        .await
        .unwrap_or_else(|e| panic!("loudness of {} failed: {e}", path.display()))
}

/// The `volume` (dB) that brings lavfi's 1 kHz sine to `lufs`.
fn gain_for(lufs: f64, channels: u32) -> f64 {
    lufs - if channels == 1 {
        SINE_MONO_LUFS
    } else {
        SINE_STEREO_LUFS
    }
}

/// `seconds` of a 1 kHz tone at `lufs` on every one of `channels`, 48 kHz 24-bit WAV.
fn tone(fixtures: &Fixtures, lufs: f64, channels: u32, seconds: u32, name: &str) -> PathBuf {
    let source = format!("sine=frequency=1000:sample_rate=48000:duration={seconds}");
    let filter = format!(
        "volume={:.3}dB,pan={}",
        gain_for(lufs, channels),
        if channels == 1 {
            "mono|c0=c0"
        } else {
            "stereo|c0=c0|c1=c0"
        }
    );
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &source,
            "-af",
            &filter,
            "-c:a",
            "pcm_s24le",
        ],
        &fixtures.path(name),
    )
}

/// An `aevalsrc` 1 kHz mono tone at `lufs` times `envelope` (an expression of `t`, evaluated
/// per sample, so edges are exact), 48 kHz.
fn tone_expression(lufs: f64, envelope: &str, seconds: u32) -> String {
    let amplitude = 0.125 * 10f64.powf(gain_for(lufs, 1) / 20.0);
    format!("aevalsrc=exprs='{amplitude:.9}*sin(2*PI*1000*t)*{envelope}':s=48000:d={seconds}")
}

fn only_track(report: &LoudnessReport) -> &TrackLoudness {
    assert_eq!(report.tracks.len(), 1, "{report:#?}");
    &report.tracks[0]
}

fn assert_within(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual}, expected {expected} ±{tolerance}"
    );
}

#[tokio::test]
async fn tones_at_minus_23_and_minus_33_lufs_match_ffmpeg_within_a_tenth() {
    let fixtures = Fixtures::new();
    for (lufs, channels) in [(-23.0, 1), (-33.0, 1), (-23.0, 2), (-33.0, 2)] {
        let path = tone(
            &fixtures,
            lufs,
            channels,
            10,
            &format!("tone{lufs}-{channels}.wav"),
        );
        let reference = ffmpeg_r128(&path, 0);
        // The fixture is what it claims: ffmpeg's own meter reads the target.
        assert_within(
            reference.integrated,
            lufs,
            0.05,
            "ffmpeg's integrated loudness",
        );

        let report = analyse(&path).await;
        let track = only_track(&report);
        let m = &track.loudness;
        let integrated = m.integrated_lufs.expect("a tone has a loudness");
        assert_within(
            integrated,
            reference.integrated,
            0.1,
            "integrated vs ffmpeg",
        );
        assert_within(integrated, lufs, 0.1, "integrated vs target");
        let true_peak = m.true_peak_dbtp.expect("a tone has a peak");
        assert_within(true_peak, reference.true_peak, 0.1, "true peak vs ffmpeg");
        assert_within(m.max_momentary_lufs.unwrap(), lufs, 0.1, "max momentary");
        assert!(
            m.loudness_range_lu < 0.1,
            "a steady tone has no range: {m:?}"
        );
        assert_eq!(m.channels, channels);
        assert_eq!(m.duration_seconds, 10.0);
        assert_eq!(m.momentary_series.len(), 10);
        assert_eq!(m.short_term_series.len(), 10);
        for value in m.momentary_series.iter().chain(&m.short_term_series) {
            assert_within(value.expect("loud"), lufs, 0.1, "series value");
        }
        assert!(!m.silent);
        assert!(m.silences.is_empty(), "{:?}", m.silences);
        assert_eq!(report.map, [1]);
        let layout = if channels == 1 { "mono" } else { "stereo" };
        assert_eq!(report.description, format!("{layout} in track 1"));
        println!(
            "{lufs} LUFS {channels} ch: ours I {integrated:.3} TP {true_peak:.3}, ffmpeg I {} TP {}",
            reference.integrated, reference.true_peak
        );
    }
}

/// Eight mono tracks, the first two a -23 LUFS tone (1 kHz and 500 Hz, so a swap would show),
/// the other six `anullsrc` (digital silence).
fn eight_tracks(fixtures: &Fixtures, name: &str, codec: &str) -> PathBuf {
    let mut args: Vec<String> = Vec::new();
    for frequency in [1000, 500] {
        args.extend(
            [
                "-f",
                "lavfi",
                "-i",
                &format!("sine=frequency={frequency}:sample_rate=48000:duration=6"),
            ]
            .map(String::from),
        );
    }
    for _ in 0..6 {
        args.extend(
            [
                "-f",
                "lavfi",
                "-i",
                "anullsrc=channel_layout=mono:sample_rate=48000",
            ]
            .map(String::from),
        );
    }
    let mut graph = format!("[0:a]volume={:.3}dB[t0]", gain_for(-23.0, 1));
    graph += &format!(";[1:a]volume={:.3}dB[t1]", gain_for(-23.0, 1));
    args.extend(["-filter_complex".to_owned(), graph]);
    args.extend(["-map", "[t0]", "-map", "[t1]"].map(String::from));
    for input in 2..8 {
        args.extend(["-map".to_owned(), format!("{input}:a")]);
    }
    args.extend(["-t", "6", "-c:a", codec].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ffmpeg(&args, &fixtures.path(name))
}

#[tokio::test]
async fn eight_mono_tracks_with_two_live_give_the_map_1_1_0_0_0_0_0_0() {
    let fixtures = Fixtures::new();
    // QuickTime with PCM (per-stream durations), Matroska with FLAC (none: padded to the
    // container's duration).
    for (name, codec) in [("eight.mov", "pcm_s16le"), ("eight.mkv", "flac")] {
        let path = eight_tracks(&fixtures, name, codec);
        let report = analyse(&path).await;
        assert_eq!(report.map, [1, 1, 0, 0, 0, 0, 0, 0], "{name}: {report:#?}");
        assert_eq!(
            report.description, "stereo in tracks 1–2; tracks 3–8 silent",
            "{name}"
        );
        assert_eq!(report.tracks.len(), 8);
        for (i, track) in report.tracks.iter().enumerate() {
            assert_eq!(track.track, i as u32 + 1);
            assert_eq!(track.loudness.channels, 1);
            assert_within(track.loudness.duration_seconds, 6.0, 0.05, "duration");
        }
        // K-weighting gives 500 Hz about 0.65 dB less than 1 kHz at the same level, so a
        // swap of the two live tracks would show against ffmpeg.
        for stream in 0..2 {
            let reference = ffmpeg_r128(&path, stream);
            let ours = report.tracks[stream].loudness.integrated_lufs.unwrap();
            assert_within(ours, reference.integrated, 0.1, "live track vs ffmpeg");
        }
        let first = report.tracks[0].loudness.integrated_lufs.unwrap();
        let second = report.tracks[1].loudness.integrated_lufs.unwrap();
        assert_within(first, -23.0, 0.1, "the 1 kHz track");
        assert!(
            second < first - 0.4,
            "the 500 Hz track: {second} vs {first}"
        );
        for track in &report.tracks[2..] {
            let m = &track.loudness;
            assert!(m.silent);
            assert_eq!(m.integrated_lufs, None);
            assert_eq!(m.max_momentary_lufs, None);
            assert_eq!(m.true_peak_dbtp, None);
            assert_eq!(m.silences.len(), 1, "{:?}", m.silences);
            assert_eq!(m.silences[0].start_seconds, 0.0);
            assert_within(m.silences[0].end_seconds, 6.0, 0.05, "silence end");
            assert_eq!(m.silences[0].level_lufs, None);
        }

        // -inf is null in JSON, and the report reads back unchanged.
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"integratedLufs\":null"), "{json}");
        assert!(json.contains("\"map\":[1,1,0,0,0,0,0,0]"));
        assert!(!json.contains("inf") && !json.contains("NaN"));
        let back: LoudnessReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}

#[tokio::test]
async fn tracks_of_different_rates_lengths_and_layouts_keep_their_order() {
    let fixtures = Fixtures::new();
    // Track 1 mono 48 kHz 5 s (-23 LUFS); track 2 stereo 44.1 kHz 3 s, louder on the left.
    let path = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!(
                "sine=frequency=1000:sample_rate=48000:duration=5,volume={:.3}dB",
                gain_for(-23.0, 1)
            ),
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=0.3*sin(2*PI*700*t)|0.05*sin(2*PI*700*t):c=stereo:s=44100:d=3",
            "-map",
            "0",
            "-map",
            "1",
            "-c:a",
            "pcm_s16le",
        ],
        &fixtures.path("mixed.mov"),
    );
    let report = analyse(&path).await;
    assert_eq!(report.sample_rate, 48_000);
    assert_eq!(report.map, [1, 1]);
    assert_eq!(report.description, "mono in track 1; stereo in track 2");
    let [first, second] = &report.tracks[..] else {
        panic!("two tracks: {report:#?}");
    };
    assert_eq!((first.loudness.channels, second.loudness.channels), (1, 2));
    assert_eq!(second.source_sample_rate, Some(44_100));
    assert_within(first.loudness.duration_seconds, 5.0, 0.01, "track 1 length");
    assert_within(
        second.loudness.duration_seconds,
        3.0,
        0.01,
        "track 2 length",
    );
    assert_eq!(second.loudness.momentary_series.len(), 3);
    assert!(second.loudness.silences.is_empty(), "no padding measured");
    for (stream, track) in report.tracks.iter().enumerate() {
        let reference = ffmpeg_r128(&path, stream);
        let ours = track.loudness.integrated_lufs.unwrap();
        assert_within(ours, reference.integrated, 0.1, "integrated vs ffmpeg");
        let peak = track.loudness.true_peak_dbtp.unwrap();
        assert_within(peak, reference.true_peak, 0.15, "true peak vs ffmpeg");
    }
}

#[tokio::test]
async fn the_loudness_range_of_a_dynamic_programme_matches_ffmpeg() {
    let fixtures = Fixtures::new();
    // 60 s of pink noise whose level steps every 5 s and swells slowly: a range of many LU.
    let path = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=color=pink:sample_rate=48000:amplitude=0.3:seed=7:duration=60",
            "-af",
            "volume='pow(10,(-12*mod(floor(t/5),3)-4*sin(t/3))/20)':eval=frame,\
             aformat=channel_layouts=stereo",
            "-c:a",
            "pcm_s24le",
        ],
        &fixtures.path("dynamic.wav"),
    );
    let report = analyse(&path).await;
    let m = &only_track(&report).loudness;
    let reference = ffmpeg_r128(&path, 0);
    println!(
        "dynamic: ours I {:?} LRA {} TP {:?}; ffmpeg {reference:?}",
        m.integrated_lufs, m.loudness_range_lu, m.true_peak_dbtp
    );
    assert!(
        reference.range > 10.0,
        "the fixture has a wide range: {reference:?}"
    );
    // ffmpeg prints one decimal: 0.05 of rounding on top of the 0.1.
    assert_within(
        m.loudness_range_lu,
        reference.range,
        0.15,
        "range vs ffmpeg",
    );
    assert_within(
        m.integrated_lufs.unwrap(),
        reference.integrated,
        0.15,
        "I vs ffmpeg",
    );
    assert_within(
        m.true_peak_dbtp.unwrap(),
        reference.true_peak,
        0.15,
        "TP vs ffmpeg",
    );
    let max_short_term = m.max_short_term_lufs.unwrap();
    assert!(max_short_term <= m.max_momentary_lufs.unwrap());
}

#[tokio::test]
async fn a_5_1_track_is_weighted_as_ffmpeg_weighs_it() {
    let fixtures = Fixtures::new();
    // Pink noise on six channels at different levels, the LFE loudest: counted, the LFE would
    // add about 1.5 LU; weighed 1.0 instead of 1.41, the side channels would take 0.35 off.
    let path = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=color=pink:sample_rate=48000:amplitude=0.2:seed=1:duration=20",
            "-af",
            "aformat=channel_layouts=mono,\
             pan=6c|c0=c0|c1=0.5*c0|c2=0.7*c0|c3=c0|c4=0.3*c0|c5=0.6*c0,\
             aformat=channel_layouts=5.1(side)",
            "-c:a",
            "flac",
        ],
        &fixtures.path("surround.flac"),
    );
    let report = analyse(&path).await;
    let track = only_track(&report);
    assert_eq!(track.channel_layout.as_deref(), Some("5.1(side)"));
    assert_eq!(report.description, "5.1(side) in track 1");
    let reference = ffmpeg_r128(&path, 0);
    let ours = track.loudness.integrated_lufs.unwrap();
    assert_within(ours, reference.integrated, 0.1, "5.1 integrated vs ffmpeg");
}

#[tokio::test]
async fn a_one_second_file_is_measured() {
    let fixtures = Fixtures::new();
    let path = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!(
                "sine=frequency=1000:sample_rate=48000:duration=1,volume={:.3}dB",
                gain_for(-23.0, 1)
            ),
            "-c:a",
            "aac",
        ],
        &fixtures.path("one-second.m4a"),
    );
    let report = analyse(&path).await;
    let m = &only_track(&report).loudness;
    assert_within(m.duration_seconds, 1.0, 0.05, "duration");
    assert_eq!(m.momentary_series.len(), 1);
    let reference = ffmpeg_r128(&path, 0);
    assert_within(
        m.integrated_lufs.unwrap(),
        reference.integrated,
        0.1,
        "I vs ffmpeg",
    );
    assert!(!m.silent);
    assert_eq!(report.map, [1]);
}

#[tokio::test]
async fn a_gap_of_two_seconds_is_found_where_it_is() {
    let fixtures = Fixtures::new();
    // 10 s at -23 LUFS, muted from 4.05 s to 6.05 s (off the 100 ms grid on purpose).
    let path = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &tone_expression(-23.0, "not(between(t,4.05,6.05))", 10),
            "-c:a",
            "pcm_s16le",
        ],
        &fixtures.path("gap.wav"),
    );
    let report = analyse(&path).await;
    let m = &only_track(&report).loudness;
    assert_eq!(m.silences.len(), 1, "{:?}", m.silences);
    let gap = m.silences[0];
    println!("gap: {gap:?}");
    assert_within(gap.start_seconds, 4.05, 0.1, "gap start");
    assert_within(gap.end_seconds, 6.05, 0.1, "gap end");
    // In fact to 10 ms.
    assert_within(gap.start_seconds, 4.05, 0.011, "gap start, fine");
    assert_within(gap.end_seconds, 6.05, 0.011, "gap end, fine");
    assert_eq!(gap.level_lufs, None, "digital silence has no level");
    assert!(!m.silent);
    // The series sees it: the momentary window ending at 5 s lies inside the gap.
    assert_eq!(m.momentary_series[4], None);
    assert_within(m.momentary_series[2].unwrap(), -23.0, 0.1, "before the gap");
    // Gating keeps the gap itself out of the integrated loudness (the 400 ms blocks across
    // its edges stay in, as they do for ffmpeg).
    let reference = ffmpeg_r128(&path, 0);
    assert_within(
        m.integrated_lufs.unwrap(),
        reference.integrated,
        0.1,
        "integrated",
    );

    // A longer minimum hides it.
    let options = LoudnessOptions {
        min_silence: Duration::from_secs(3),
        ..LoudnessOptions::default()
    };
    let strict = analyse_file(&path, &options).await.unwrap();
    assert!(strict.tracks[0].loudness.silences.is_empty());
}

#[tokio::test]
async fn a_quiet_floor_is_silence_with_a_level() {
    let fixtures = Fixtures::new();
    // 3 s of tone, 2 s 37 dB lower (-60 LUFS), 3 s of tone.
    let path = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &tone_expression(-23.0, "if(between(t,3,5),pow(10,-37/20),1)", 8),
            "-c:a",
            "pcm_s24le",
        ],
        &fixtures.path("floor.wav"),
    );
    let report = analyse(&path).await;
    let silences = &report.tracks[0].loudness.silences;
    assert_eq!(silences.len(), 1, "{silences:?}");
    println!("floor: {silences:?}");
    assert_within(silences[0].start_seconds, 3.0, 0.011, "start");
    assert_within(silences[0].end_seconds, 5.0, 0.011, "end");
    // The K-weighting filter rings for a few milliseconds after the drop: a quarter of a dB.
    assert_within(silences[0].level_lufs.unwrap(), -60.0, 0.5, "level");
}

#[tokio::test]
async fn a_file_without_audio_says_there_is_none() {
    let fixtures = Fixtures::new();
    let path = fixtures.video_without_audio();
    let error = analyse_file(&path, &LoudnessOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, LoudnessError::NoAudio { .. }), "{error:?}");
    assert!(error.to_string().contains("no audio to analyse"), "{error}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn corrupt_and_missing_files_are_clear_errors() {
    let fixtures = Fixtures::new();
    let options = LoudnessOptions::default();

    let garbage = fixtures.path("garbage.wav");
    std::fs::write(&garbage, random_bytes(64 * 1024)).unwrap();
    let error = analyse_file(&garbage, &options).await.unwrap_err();
    assert!(
        matches!(error, LoudnessError::Probe(ProbeError::Unreadable { .. })),
        "{error:?}"
    );
    assert!(error.to_string().contains("corrupt"), "{error}");

    let empty = fixtures.path("empty.m4a");
    std::fs::write(&empty, b"").unwrap();
    let error = analyse_file(&empty, &options).await.unwrap_err();
    assert!(matches!(error, LoudnessError::Probe(_)), "{error:?}");

    let missing = fixtures.path("missing.wav");
    let error = analyse_file(&missing, &options).await.unwrap_err();
    assert!(
        matches!(error, LoudnessError::Probe(ProbeError::NotFound { .. })),
        "{error:?}"
    );

    // An MP4 cut in half: its index (at the end) is gone.
    let whole = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:sample_rate=48000:duration=4",
            "-c:a",
            "aac",
        ],
        &fixtures.path("whole.m4a"),
    );
    let bytes = std::fs::read(&whole).unwrap();
    let cut = fixtures.path("cut.m4a");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let error = analyse_file(&cut, &options).await.unwrap_err();
    println!("cut: {error}");
    assert!(
        matches!(
            error,
            LoudnessError::Probe(ProbeError::Unreadable { .. }) | LoudnessError::Corrupt { .. }
        ),
        "{error:?}"
    );

    // An MP3 whose middle is overwritten with noise: decoded around the damage, which is
    // reported, or refused as corrupt; never a panic or a hang.
    let mp3 = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:sample_rate=44100:duration=6",
            "-c:a",
            "libmp3lame",
        ],
        &fixtures.path("whole.mp3"),
    );
    let mut bytes = std::fs::read(&mp3).unwrap();
    let middle = bytes.len() / 2;
    let noise = random_bytes(4096);
    bytes[middle..middle + noise.len()].copy_from_slice(&noise);
    let damaged = fixtures.path("damaged.mp3");
    std::fs::write(&damaged, &bytes).unwrap();
    match analyse_file(&damaged, &options).await {
        Ok(report) => {
            println!("damaged: {:?}", report.warnings);
            assert_eq!(report.map, [1]);
            assert!(report.tracks[0].loudness.duration_seconds > 4.0);
        }
        Err(error) => {
            println!("damaged: {error}");
            assert!(matches!(error, LoudnessError::Corrupt { .. }), "{error:?}");
        }
    }
}

#[tokio::test]
async fn the_time_limit_kills_the_decode() {
    let fixtures = Fixtures::new();
    let path = eight_tracks(&fixtures, "eight.mov", "pcm_s16le");
    let options = LoudnessOptions {
        timeout: Duration::from_millis(1),
        ..LoudnessOptions::default()
    };
    let error = analyse_file(&path, &options).await.unwrap_err();
    assert!(
        matches!(
            error,
            LoudnessError::Tool(ToolError::TimedOut { .. })
                | LoudnessError::Probe(ProbeError::Tool(ToolError::TimedOut { .. }))
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
}
