//! What proxies to make, decided purely from the probe and the options.

use mediasift_media::probe::{AudioTrack, MediaSummary, VideoStream};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Everything a transcoder needs to know; the same for ffmpeg and MediaConvert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxySpec {
    pub asset_id: Uuid,
    /// `<assetId>/` in the derived bucket; every output key starts with it.
    pub output_prefix: String,
    pub derived_bucket: String,
    /// Source duration, seconds (for frame timestamps and thumbnail spacing).
    pub duration_seconds: f64,
    /// The video to proxy; `None` for audio-only assets.
    pub video: Option<VideoSpec>,
    /// The audio to proxy; `None` without audio.
    pub audio: Option<AudioChoice>,
    /// Frame captures per second (video only).
    pub frame_capture_rate: f64,
    /// Up to this many thumbnails, evenly spread (video only).
    pub thumbnails: u32,
    /// Extra renditions, already filtered to those not above the source.
    pub renditions: Vec<Rendition>,
}

/// The video stream and the sizes made from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoSpec {
    /// ffprobe stream index of the video.
    pub stream_index: u32,
    /// Source display size (after rotation and sample aspect).
    pub source: VideoSize,
    /// Nominal frame rate (frames per second; r_frame_rate, else the average; 0 when unknown).
    pub frames_per_second: f64,
    /// The proxy's size: fitted into 960x540, never upscaled, aspect kept, even.
    pub proxy: VideoSize,
    /// Frame captures' size (≤ 960x540).
    pub frames: VideoSize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoSize {
    pub width: u32,
    pub height: u32,
}

/// Which audio goes into the audio proxy and the speech WAV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum AudioChoice {
    /// One track as it is (the only track, or the first with two or more channels).
    Track { index: u32, channels: u32 },
    /// Several mono tracks mixed to stereo: in the order given, the 1st, 3rd, 5th... go left
    /// and the 2nd, 4th... right (dual-mono L/R pairs stay L/R); with an odd count the last
    /// goes to both. Each side is scaled so that it cannot clip.
    MixMono { indexes: Vec<u32> },
}

/// An extra rendition, e.g. `720p`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rendition {
    /// `720p`.
    pub name: String,
    pub size: VideoSize,
}

/// The box the proxy and the frame captures are fitted into.
pub const PROXY_BOX: VideoSize = VideoSize {
    width: 960,
    height: 540,
};
/// Thumbnails per video, at most.
pub const MAX_THUMBNAILS: u32 = 10;
/// The tallest rendition asked for that is accepted (8K).
pub const MAX_RENDITION_HEIGHT: u32 = 4320;

/// Why no spec could be planned: the media or the options cannot be proxied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("there is neither a video stream nor an audio track to make proxies of")]
    NothingToProxy,
    #[error("the video stream {index} has no picture size (width and height unknown)")]
    NoPictureSize { index: u32 },
    #[error("the frame capture rate {0} is not a positive number of captures per second")]
    BadCaptureRate(f64),
    #[error(
        "the rendition height {0} is not between 2 and {MAX_RENDITION_HEIGHT} pixels (e.g. 720 \
         for 720p)"
    )]
    BadRendition(u32),
}

impl ProxySpec {
    /// Decides what to make of a probed asset. Pure.
    ///
    /// - The video is the summary's main video ([`MediaSummary::video`]; cover art is not
    ///   video). Its display size applies the sample aspect ratio, then the rotation (90/270
    ///   swap width and height, as ffmpeg's autorotation does).
    /// - The proxy and the frame captures are fitted into 960x540: aspect kept, never
    ///   upscaled, even dimensions.
    /// - The audio: see [`AudioChoice::choose`].
    /// - Renditions: each height in `renditions` (deduplicated, ascending) not above the
    ///   display height, named `<height>p`, width from the display aspect (even).
    /// - Up to [`MAX_THUMBNAILS`] thumbnails for a video, none for audio.
    pub fn plan(
        asset_id: Uuid,
        derived_bucket: &str,
        summary: &MediaSummary,
        frame_capture_rate: f64,
        renditions: &[u32],
    ) -> Result<ProxySpec, PlanError> {
        if !(frame_capture_rate.is_finite() && frame_capture_rate > 0.0) {
            return Err(PlanError::BadCaptureRate(frame_capture_rate));
        }
        if let Some(&bad) = renditions
            .iter()
            .find(|&&h| !(2..=MAX_RENDITION_HEIGHT).contains(&h))
        {
            return Err(PlanError::BadRendition(bad));
        }
        let video = summary.video().map(VideoSpec::plan).transpose()?;
        let audio = AudioChoice::choose(&summary.audio_tracks);
        if video.is_none() && audio.is_none() {
            return Err(PlanError::NothingToProxy);
        }
        let renditions = match &video {
            Some(video) => {
                let (width, height) = video.display;
                let mut heights: Vec<u32> = renditions.to_vec();
                heights.sort_unstable();
                heights.dedup();
                heights
                    .into_iter()
                    .filter(|&h| f64::from(h) <= height.round())
                    .map(|h| Rendition {
                        name: format!("{h}p"),
                        size: fit(width, height, f64::from(u32::MAX), f64::from(h)),
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let duration_seconds = summary
            .duration_seconds
            .or_else(|| {
                let streams = summary.video_streams.iter().map(|v| v.duration_seconds);
                let tracks = summary.audio_tracks.iter().map(|a| a.duration_seconds);
                streams.chain(tracks).flatten().reduce(f64::max)
            })
            .filter(|d| d.is_finite() && *d >= 0.0)
            .unwrap_or(0.0);
        Ok(ProxySpec {
            asset_id,
            output_prefix: format!("{asset_id}/"),
            derived_bucket: derived_bucket.to_owned(),
            duration_seconds,
            thumbnails: if video.is_some() { MAX_THUMBNAILS } else { 0 },
            video: video.map(|v| v.spec),
            audio,
            frame_capture_rate,
            renditions,
        })
    }
}

/// A [`VideoSpec`] and the exact (unrounded) display size it came from.
struct PlannedVideo {
    spec: VideoSpec,
    display: (f64, f64),
}

impl VideoSpec {
    fn plan(video: &VideoStream) -> Result<PlannedVideo, PlanError> {
        let (Some(width), Some(height)) = (video.width, video.height) else {
            return Err(PlanError::NoPictureSize { index: video.index });
        };
        let (sar_w, sar_h) = video
            .sample_aspect_ratio
            .as_deref()
            .and_then(parse_ratio)
            .unwrap_or((1, 1));
        let mut display = (
            f64::from(width) * sar_w as f64 / sar_h as f64,
            f64::from(height),
        );
        if video.rotation % 180 == 90 {
            display = (display.1, display.0);
        }
        let source = VideoSize {
            width: (display.0.round() as u32).max(1),
            height: (display.1.round() as u32).max(1),
        };
        let proxy = fit(
            display.0,
            display.1,
            f64::from(PROXY_BOX.width),
            f64::from(PROXY_BOX.height),
        );
        let frames_per_second = video
            .r_frame_rate
            .as_ref()
            .or(video.avg_frame_rate.as_ref())
            .map_or(0.0, |r| r.fps);
        Ok(PlannedVideo {
            spec: VideoSpec {
                stream_index: video.index,
                source,
                frames_per_second,
                proxy,
                frames: proxy,
            },
            display,
        })
    }
}

impl AudioChoice {
    /// The audio to proxy: the only track when there is one; else the first track with two or
    /// more channels; else every mono track mixed to stereo; `None` without audio.
    ///
    /// (Tracks whose channel count is unknown are neither stereo nor mono: when no track has
    /// two or more channels and none is mono, the first track is used.)
    pub fn choose(tracks: &[AudioTrack]) -> Option<AudioChoice> {
        let track = |t: &AudioTrack| AudioChoice::Track {
            index: t.index,
            channels: t.channels.unwrap_or(0),
        };
        if let [only] = tracks {
            return Some(track(only));
        }
        if let Some(multi) = tracks.iter().find(|t| t.channels.is_some_and(|c| c >= 2)) {
            return Some(track(multi));
        }
        let mono: Vec<u32> = tracks
            .iter()
            .filter(|t| t.channels == Some(1))
            .map(|t| t.index)
            .collect();
        match mono.as_slice() {
            [] => tracks.first().map(track),
            [index] => Some(AudioChoice::Track {
                index: *index,
                channels: 1,
            }),
            _ => Some(AudioChoice::MixMono { indexes: mono }),
        }
    }

    /// The ffprobe stream indexes the choice reads.
    pub fn indexes(&self) -> Vec<u32> {
        match self {
            AudioChoice::Track { index, .. } => vec![*index],
            AudioChoice::MixMono { indexes } => indexes.clone(),
        }
    }
}

/// `width`x`height` scaled to fit into `box_w`x`box_h`, never up, aspect kept, both even (at
/// least 2).
fn fit(width: f64, height: f64, box_w: f64, box_h: f64) -> VideoSize {
    let scale = (box_w / width).min(box_h / height).min(1.0);
    let even = |exact: f64, limit: f64| {
        // The nearest even number, but never above the limit (the box, or the source when not
        // scaling) rounded down to even.
        let limit = (limit.floor() as u32) & !1;
        let nearest = ((exact / 2.0).round() as u32) * 2;
        nearest.min(limit).max(2)
    };
    VideoSize {
        width: even(width * scale, box_w.min(width)),
        height: even(height * scale, box_h.min(height)),
    }
}

/// "64:45" → (64, 45); `None` for zero parts or garbage.
fn parse_ratio(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.trim().split_once(':')?;
    let (a, b) = (a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?);
    (a > 0 && b > 0).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use mediasift_media::probe::FrameRate;

    use super::*;

    const ALL: [u32; 4] = [360, 480, 720, 1080];

    fn video(width: u32, height: u32) -> VideoStream {
        VideoStream {
            index: 0,
            codec: Some("h264".into()),
            width: Some(width),
            height: Some(height),
            r_frame_rate: FrameRate::parse("25/1"),
            avg_frame_rate: FrameRate::parse("25/1"),
            default: true,
            ..VideoStream::default()
        }
    }

    fn track(index: u32, channels: u32) -> AudioTrack {
        AudioTrack {
            index,
            codec: Some("aac".into()),
            channels: Some(channels),
            ..AudioTrack::default()
        }
    }

    fn summary(videos: Vec<VideoStream>, tracks: Vec<AudioTrack>) -> MediaSummary {
        MediaSummary {
            duration_seconds: Some(10.0),
            video_streams: videos,
            audio_tracks: tracks,
            ..MediaSummary::default()
        }
    }

    fn plan(summary: &MediaSummary, renditions: &[u32]) -> ProxySpec {
        ProxySpec::plan(Uuid::nil(), "derived", summary, 1.0, renditions).expect("plans")
    }

    fn size(width: u32, height: u32) -> VideoSize {
        VideoSize { width, height }
    }

    fn names(spec: &ProxySpec) -> Vec<(&str, VideoSize)> {
        spec.renditions
            .iter()
            .map(|r| (r.name.as_str(), r.size))
            .collect()
    }

    #[test]
    fn full_hd_fits_the_box_exactly_with_every_rendition() {
        let spec = plan(&summary(vec![video(1920, 1080)], vec![track(1, 2)]), &ALL);
        let v = spec.video.as_ref().expect("video");
        assert_eq!(v.source, size(1920, 1080));
        assert_eq!(v.proxy, size(960, 540));
        assert_eq!(v.frames, size(960, 540));
        assert_eq!(v.frames_per_second, 25.0);
        assert_eq!(
            names(&spec),
            vec![
                ("360p", size(640, 360)),
                ("480p", size(854, 480)),
                ("720p", size(1280, 720)),
                ("1080p", size(1920, 1080)),
            ]
        );
        assert_eq!(spec.output_prefix, format!("{}/", Uuid::nil()));
        assert_eq!(spec.derived_bucket, "derived");
        assert_eq!(spec.thumbnails, 10);
        assert_eq!(spec.duration_seconds, 10.0);
        assert_eq!(
            spec.audio,
            Some(AudioChoice::Track {
                index: 1,
                channels: 2
            })
        );
    }

    #[test]
    fn portrait_phone_video_rotated_90_is_tall() {
        let mut phone = video(1920, 1080);
        phone.rotation = 90;
        let spec = plan(&summary(vec![phone], vec![track(1, 2)]), &ALL);
        let v = spec.video.as_ref().expect("video");
        assert_eq!(v.source, size(1080, 1920));
        // 540 / 1920 * 1080 = 303.75 → 304.
        assert_eq!(v.proxy, size(304, 540));
        // Renditions by height; all four fit under 1920.
        assert_eq!(
            names(&spec),
            vec![
                ("360p", size(202, 360)),
                ("480p", size(270, 480)),
                ("720p", size(406, 720)),
                ("1080p", size(608, 1080)),
            ]
        );
        // 270 swaps too; 180 does not.
        let mut turned = video(1920, 1080);
        turned.rotation = 270;
        let spec = plan(&summary(vec![turned], vec![]), &[]);
        assert_eq!(spec.video.expect("video").proxy, size(304, 540));
        let mut upside_down = video(1920, 1080);
        upside_down.rotation = 180;
        let spec = plan(&summary(vec![upside_down], vec![]), &[]);
        assert_eq!(spec.video.expect("video").proxy, size(960, 540));
    }

    #[test]
    fn anamorphic_sample_aspect_gives_the_display_size() {
        // PAL 16:9: 720x576 with SAR 64:45 displays as 1024x576.
        let mut pal = video(720, 576);
        pal.sample_aspect_ratio = Some("64:45".into());
        let spec = plan(&summary(vec![pal], vec![track(1, 2)]), &ALL);
        let v = spec.video.as_ref().expect("video");
        assert_eq!(v.source, size(1024, 576));
        assert_eq!(v.proxy, size(960, 540));
        assert_eq!(
            names(&spec),
            vec![("360p", size(640, 360)), ("480p", size(854, 480))]
        );
        // HDV: 1440x1080 with SAR 4:3 displays as 1920x1080.
        let mut hdv = video(1440, 1080);
        hdv.sample_aspect_ratio = Some("4:3".into());
        let spec = plan(&summary(vec![hdv], vec![]), &[]);
        assert_eq!(spec.video.expect("video").proxy, size(960, 540));
        // A garbage SAR counts as square pixels.
        let mut odd = video(640, 480);
        odd.sample_aspect_ratio = Some("0:1".into());
        let spec = plan(&summary(vec![odd], vec![]), &[]);
        assert_eq!(spec.video.expect("video").proxy, size(640, 480));
    }

    #[test]
    fn small_video_is_never_upscaled_and_tall_renditions_are_skipped() {
        let spec = plan(&summary(vec![video(640, 360)], vec![track(1, 2)]), &ALL);
        let v = spec.video.as_ref().expect("video");
        assert_eq!(v.proxy, size(640, 360));
        assert_eq!(v.frames, size(640, 360));
        assert_eq!(names(&spec), vec![("360p", size(640, 360))]);
        // bikes.mp4: 640x272, no rendition at all.
        let spec = plan(&summary(vec![video(640, 272)], vec![]), &ALL);
        assert_eq!(spec.video.as_ref().expect("video").proxy, size(640, 272));
        assert!(spec.renditions.is_empty());
        assert_eq!(spec.audio, None);
    }

    #[test]
    fn odd_sizes_become_even() {
        let spec = plan(&summary(vec![video(641, 361)], vec![]), &[]);
        assert_eq!(spec.video.expect("video").proxy, size(640, 360));
        let spec = plan(&summary(vec![video(1921, 1081)], vec![]), &[]);
        assert_eq!(spec.video.expect("video").proxy, size(960, 540));
        let spec = plan(&summary(vec![video(1, 1)], vec![]), &[]);
        assert_eq!(spec.video.expect("video").proxy, size(2, 2));
        // Very wide: 4000x100 → 960x24.
        let spec = plan(&summary(vec![video(4000, 100)], vec![]), &[]);
        assert_eq!(spec.video.expect("video").proxy, size(960, 24));
        // Renditions: an odd height is accepted, named as asked, made even.
        let spec = plan(&summary(vec![video(1920, 1080)], vec![]), &[361, 361]);
        assert_eq!(names(&spec), vec![("361p", size(642, 360))]);
    }

    #[test]
    fn audio_choice_rules() {
        let choose = |tracks: Vec<AudioTrack>| AudioChoice::choose(&tracks);
        // The only track, whatever its layout.
        assert_eq!(
            choose(vec![track(1, 6)]),
            Some(AudioChoice::Track {
                index: 1,
                channels: 6
            })
        );
        assert_eq!(
            choose(vec![track(3, 1)]),
            Some(AudioChoice::Track {
                index: 3,
                channels: 1
            })
        );
        // 5.1 then stereo: the first with two or more channels.
        assert_eq!(
            choose(vec![track(1, 6), track(2, 2)]),
            Some(AudioChoice::Track {
                index: 1,
                channels: 6
            })
        );
        // Mono then stereo: the stereo one.
        assert_eq!(
            choose(vec![track(1, 1), track(2, 2)]),
            Some(AudioChoice::Track {
                index: 2,
                channels: 2
            })
        );
        // Four mono tracks: mixed.
        assert_eq!(
            choose(vec![track(1, 1), track(2, 1), track(3, 1), track(4, 1)]),
            Some(AudioChoice::MixMono {
                indexes: vec![1, 2, 3, 4]
            })
        );
        // None.
        assert_eq!(choose(vec![]), None);
        // Unknown channel counts: one mono among them is used alone; none at all → the first.
        let unknown = |index| AudioTrack {
            index,
            ..AudioTrack::default()
        };
        assert_eq!(
            choose(vec![unknown(1), track(2, 1)]),
            Some(AudioChoice::Track {
                index: 2,
                channels: 1
            })
        );
        assert_eq!(
            choose(vec![unknown(1), unknown(2)]),
            Some(AudioChoice::Track {
                index: 1,
                channels: 0
            })
        );
    }

    #[test]
    fn audio_only_and_cover_art() {
        let mut cover = video(300, 300);
        cover.cover_art = true;
        cover.index = 1;
        let spec = plan(&summary(vec![cover], vec![track(0, 2)]), &ALL);
        assert_eq!(spec.video, None);
        assert!(spec.renditions.is_empty());
        assert_eq!(spec.thumbnails, 0);
        assert_eq!(
            spec.audio,
            Some(AudioChoice::Track {
                index: 0,
                channels: 2
            })
        );
        // The real video is picked over cover art, wherever it is.
        let mut cover = video(300, 300);
        cover.cover_art = true;
        let mut real = video(1280, 720);
        real.index = 2;
        let spec = plan(&summary(vec![cover, real], vec![track(1, 2)]), &[]);
        assert_eq!(spec.video.expect("video").stream_index, 2);
    }

    #[test]
    fn refusals() {
        let err = |s: &MediaSummary, rate: f64, renditions: &[u32]| {
            ProxySpec::plan(Uuid::nil(), "derived", s, rate, renditions).expect_err("refused")
        };
        let ok = summary(vec![video(1280, 720)], vec![]);
        assert_eq!(
            err(&summary(vec![], vec![]), 1.0, &[]),
            PlanError::NothingToProxy
        );
        let mut cover = video(300, 300);
        cover.cover_art = true;
        assert_eq!(
            err(&summary(vec![cover], vec![]), 1.0, &[]),
            PlanError::NothingToProxy
        );
        let sizeless = VideoStream {
            index: 4,
            ..VideoStream::default()
        };
        assert_eq!(
            err(&summary(vec![sizeless], vec![]), 1.0, &[]),
            PlanError::NoPictureSize { index: 4 }
        );
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(err(&ok, rate, &[]), PlanError::BadCaptureRate(_)));
        }
        assert_eq!(err(&ok, 1.0, &[720, 0]), PlanError::BadRendition(0));
        assert_eq!(err(&ok, 1.0, &[4321]), PlanError::BadRendition(4321));
        // 4320 itself is fine (and skipped: it is above 720).
        assert!(
            ProxySpec::plan(Uuid::nil(), "derived", &ok, 1.0, &[4320])
                .expect("plans")
                .renditions
                .is_empty()
        );
    }

    #[test]
    fn duration_falls_back_to_the_streams_then_zero() {
        let mut s = summary(vec![video(640, 360)], vec![]);
        s.duration_seconds = None;
        assert_eq!(plan(&s, &[]).duration_seconds, 0.0);
        s.video_streams[0].duration_seconds = Some(4.5);
        assert_eq!(plan(&s, &[]).duration_seconds, 4.5);
    }

    #[test]
    fn the_spec_round_trips_as_json() {
        let spec = plan(
            &summary(vec![video(1920, 1080)], vec![track(1, 1), track(2, 1)]),
            &[720],
        );
        let json = serde_json::to_value(&spec).expect("serializes");
        assert_eq!(json["audio"]["kind"], "mixMono");
        assert_eq!(json["video"]["proxy"]["width"], 960);
        let back: ProxySpec = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, spec);
    }
}
