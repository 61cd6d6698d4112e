//! [`MediaSummary`]: the facts mediasift acts on, computed from ffprobe (and mediainfo when it
//! ran). Pure: it can be recomputed from stored JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::raw::{FfFormat, FfStream, FfprobeOutput, MediainfoOutput, MiTrack};

/// r_frame_rate and avg_frame_rate farther apart than this (relative) mean a variable rate.
pub const VFR_TOLERANCE: f64 = 0.005;

/// Codecs whose single picture in a file with audio is cover art rather than video.
const STILL_IMAGE_CODECS: &[&str] = &["mjpeg", "png", "bmp", "gif", "webp", "tiff", "jpeg2000"];
/// ffprobe demuxers that hold audio only (a picture in them is cover art).
const AUDIO_ONLY_FORMATS: &[&str] = &[
    "mp3", "flac", "ogg", "oga", "wav", "w64", "aiff", "ape", "wv", "tta", "dsf", "mpc", "aac",
];

/// What a file holds, in the terms the services use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaSummary {
    /// ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2".
    pub container: Option<String>,
    pub container_long_name: Option<String>,
    /// The container's duration, else the longest stream's.
    pub duration_seconds: Option<f64>,
    /// Overall bit rate (bits/s).
    pub bit_rate: Option<u64>,
    pub size_bytes: Option<u64>,
    /// SMPTE start timecode ("01:00:00:00") from the video stream, a tmcd track or the format.
    pub start_timecode: Option<String>,
    /// Every video stream, cover art included (see [`VideoStream::cover_art`]).
    pub video_streams: Vec<VideoStream>,
    pub audio_tracks: Vec<AudioTrack>,
    /// Subtitle, data and attachment streams.
    pub other_streams: Vec<OtherStream>,
}

impl MediaSummary {
    /// The main real video stream: the first default one that is not cover art, else the first
    /// that is not cover art.
    pub fn video(&self) -> Option<&VideoStream> {
        let mut real = self.video_streams.iter().filter(|v| !v.cover_art);
        let first = real.clone().next();
        real.find(|v| v.default).or(first)
    }

    /// Whether there is a video stream that is not only cover art.
    pub fn has_video(&self) -> bool {
        self.video().is_some()
    }

    pub fn has_audio(&self) -> bool {
        !self.audio_tracks.is_empty()
    }

    /// Computes the summary from ffprobe's output and, when it ran, mediainfo's.
    pub fn from_parts(ffprobe: &FfprobeOutput, mediainfo: Option<&MediainfoOutput>) -> Self {
        let format = ffprobe.format.clone().unwrap_or_default();
        let has_audio = ffprobe.streams.iter().any(|s| s.is_type("audio"));
        let audio_only_container = format
            .format_name
            .as_deref()
            .is_some_and(|names| names.split(',').any(|n| AUDIO_ONLY_FORMATS.contains(&n)));
        let mi_video: Vec<&MiTrack> = mediainfo
            .map(|mi| mi.tracks("Video").collect())
            .unwrap_or_default();

        let mut video_streams = Vec::new();
        let mut audio_tracks = Vec::new();
        let mut other_streams = Vec::new();
        for stream in &ffprobe.streams {
            match stream.codec_type.as_deref() {
                Some("video") => {
                    let ordinal = video_streams.len();
                    let mi = mediainfo_track_for(&mi_video, stream.index, ordinal);
                    video_streams.push(VideoStream::from_stream(
                        stream,
                        mi,
                        has_audio,
                        audio_only_container,
                    ));
                }
                Some("audio") => audio_tracks.push(AudioTrack::from_stream(stream)),
                other => other_streams.push(OtherStream {
                    index: stream.index,
                    codec_type: other.unwrap_or("unknown").to_owned(),
                    codec: stream.codec_name.clone(),
                    codec_tag: stream.codec_tag_string.clone(),
                }),
            }
        }

        let longest_stream = ffprobe
            .streams
            .iter()
            .filter_map(|s| s.duration)
            .reduce(f64::max);
        let start_timecode = start_timecode(&ffprobe.streams, &format, &video_streams);
        MediaSummary {
            container: format.format_name.clone(),
            container_long_name: format.format_long_name.clone(),
            duration_seconds: format.duration.or(longest_stream).filter(|d| *d >= 0.0),
            bit_rate: format.bit_rate,
            size_bytes: format.size,
            start_timecode,
            video_streams,
            audio_tracks,
            other_streams,
        }
    }
}

/// A video stream (or a picture stored as one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoStream {
    /// ffprobe's stream index.
    pub index: u32,
    pub codec: Option<String>,
    pub profile: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub pix_fmt: Option<String>,
    pub sample_aspect_ratio: Option<String>,
    /// "16:9"; computed from width, height and sample aspect when ffprobe gives none.
    pub display_aspect_ratio: Option<String>,
    /// Degrees to turn the picture clockwise for display: 0, 90, 180 or 270 (from the display
    /// matrix side data, which ffprobe reports counter-clockwise, else a legacy `rotate` tag).
    /// This is what ffmpeg's own autorotation applies.
    pub rotation: u32,
    /// Nominal rate (ffprobe r_frame_rate): the lowest rate all timestamps fit.
    pub r_frame_rate: Option<FrameRate>,
    /// Average rate (ffprobe avg_frame_rate): frames / duration.
    pub avg_frame_rate: Option<FrameRate>,
    /// Frames in the stream when the container says (ffprobe nb_frames, else mediainfo).
    pub frame_count: Option<u64>,
    pub duration_seconds: Option<f64>,
    pub bit_rate: Option<u64>,
    /// Whether frames are not evenly spaced in time; see [`FrameRateEvidence`].
    pub variable_frame_rate: bool,
    pub frame_rate_evidence: FrameRateEvidence,
    /// Disposition `default`.
    pub default: bool,
    /// Only a picture attached to audio (album art), not video.
    pub cover_art: bool,
}

impl VideoStream {
    fn from_stream(
        stream: &FfStream,
        mediainfo: Option<&MiTrack>,
        file_has_audio: bool,
        audio_only_container: bool,
    ) -> Self {
        let r_frame_rate = stream.r_frame_rate.as_deref().and_then(FrameRate::parse);
        let avg_frame_rate = stream.avg_frame_rate.as_deref().and_then(FrameRate::parse);
        let frame_count = stream
            .nb_frames
            .filter(|n| *n > 0)
            .or(mediainfo.and_then(|t| t.frame_count));
        let cover_art = stream.disposition("attached_pic")
            || (file_has_audio
                && stream
                    .codec_name
                    .as_deref()
                    .is_some_and(|c| STILL_IMAGE_CODECS.contains(&c))
                && (frame_count.is_some_and(|n| n <= 1) || audio_only_container));
        let evidence =
            FrameRateEvidence::new(r_frame_rate.as_ref(), avg_frame_rate.as_ref(), mediainfo);
        VideoStream {
            index: stream.index,
            codec: stream.codec_name.clone(),
            profile: stream.profile.clone(),
            width: stream.width.filter(|w| *w > 0),
            height: stream.height.filter(|h| *h > 0),
            pix_fmt: stream.pix_fmt.clone(),
            sample_aspect_ratio: stream
                .sample_aspect_ratio
                .clone()
                .filter(|s| valid_ratio(s)),
            display_aspect_ratio: display_aspect_ratio(stream),
            rotation: rotation(stream),
            r_frame_rate,
            avg_frame_rate,
            frame_count,
            duration_seconds: stream.duration.or(mediainfo.and_then(|t| t.duration)),
            bit_rate: stream.bit_rate,
            variable_frame_rate: evidence.is_variable(),
            frame_rate_evidence: evidence,
            default: stream.disposition("default"),
            cover_art,
        }
    }
}

/// Why a stream is (or is not) called variable frame rate.
///
/// Rule: mediainfo's `FrameRate_Mode` = "VFR" wins; otherwise the stream is variable when
/// ffprobe's r_frame_rate and avg_frame_rate differ by more than [`VFR_TOLERANCE`]. Note that
/// mediainfo's "CFR" does not override ffprobe: phone recordings often have steady frame
/// spacing after a long first frame (mediainfo says CFR and reports `Duration_FirstFrame`), and
/// mapping frame numbers to time at the nominal rate would then be off by that gap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameRateEvidence {
    /// mediainfo's FrameRate_Mode ("CFR"/"VFR") when mediainfo ran and said.
    pub mediainfo_mode: Option<String>,
    /// mediainfo's FrameRate (fps) when it ran and said.
    pub mediainfo_frame_rate: Option<f64>,
    /// |r - avg| / r, when both ffprobe rates are known.
    pub ffprobe_rate_difference: Option<f64>,
}

impl FrameRateEvidence {
    fn new(r: Option<&FrameRate>, avg: Option<&FrameRate>, mi: Option<&MiTrack>) -> Self {
        let ffprobe_rate_difference = match (r, avg) {
            (Some(r), Some(avg)) if r.fps > 0.0 => Some((r.fps - avg.fps).abs() / r.fps),
            _ => None,
        };
        FrameRateEvidence {
            mediainfo_mode: mi.and_then(|t| t.frame_rate_mode.clone()),
            mediainfo_frame_rate: mi.and_then(|t| t.frame_rate),
            ffprobe_rate_difference,
        }
    }

    /// Whether ffprobe's two rates disagree beyond [`VFR_TOLERANCE`].
    pub fn ffprobe_rates_disagree(&self) -> bool {
        self.ffprobe_rate_difference
            .is_some_and(|d| d > VFR_TOLERANCE)
    }

    /// The verdict: see the type's documentation.
    pub fn is_variable(&self) -> bool {
        let mediainfo_says_vfr = self
            .mediainfo_mode
            .as_deref()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("VFR"));
        mediainfo_says_vfr || self.ffprobe_rates_disagree()
    }
}

/// A frame rate as ffprobe writes it ("30000/1001") and as a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameRate {
    pub rational: String,
    pub fps: f64,
}

impl FrameRate {
    /// Parses "num/den" (or a plain number); `None` for "0/0", zero, or garbage.
    pub fn parse(text: &str) -> Option<FrameRate> {
        let text = text.trim();
        let fps = match text.split_once('/') {
            Some((num, den)) => {
                let num: f64 = num.trim().parse().ok()?;
                let den: f64 = den.trim().parse().ok()?;
                if den == 0.0 {
                    return None;
                }
                num / den
            }
            None => text.parse().ok()?,
        };
        (fps.is_finite() && fps > 0.0).then(|| FrameRate {
            rational: text.to_owned(),
            fps,
        })
    }
}

/// An audio stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioTrack {
    /// ffprobe's stream index.
    pub index: u32,
    pub codec: Option<String>,
    pub profile: Option<String>,
    pub channels: Option<u32>,
    pub channel_layout: Option<String>,
    pub sample_rate: Option<u32>,
    /// The `language` tag ("eng"); `None` when absent or "und" (undetermined).
    pub language: Option<String>,
    pub title: Option<String>,
    pub duration_seconds: Option<f64>,
    pub bit_rate: Option<u64>,
    pub default: bool,
}

impl AudioTrack {
    fn from_stream(stream: &FfStream) -> Self {
        AudioTrack {
            index: stream.index,
            codec: stream.codec_name.clone(),
            profile: stream.profile.clone(),
            channels: stream.channels.filter(|c| *c > 0),
            channel_layout: stream.channel_layout.clone(),
            sample_rate: stream.sample_rate.filter(|r| *r > 0),
            language: stream
                .tag("language")
                .filter(|l| !l.eq_ignore_ascii_case("und"))
                .map(str::to_owned),
            title: stream.tag("title").map(str::to_owned),
            duration_seconds: stream.duration,
            bit_rate: stream.bit_rate,
            default: stream.disposition("default"),
        }
    }
}

/// A stream that is neither audio nor video.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherStream {
    pub index: u32,
    /// "subtitle", "data", "attachment", or "unknown".
    pub codec_type: String,
    pub codec: Option<String>,
    /// e.g. "tmcd" for a QuickTime timecode track.
    pub codec_tag: Option<String>,
}

/// The mediainfo Video track for ffprobe's video stream `index`: the one whose StreamOrder is
/// that index, else the `ordinal`-th Video track.
fn mediainfo_track_for<'a>(
    tracks: &[&'a MiTrack],
    index: u32,
    ordinal: usize,
) -> Option<&'a MiTrack> {
    tracks
        .iter()
        .find(|t| {
            t.stream_order
                .as_deref()
                .and_then(|o| o.trim().parse::<u32>().ok())
                == Some(index)
        })
        .or_else(|| tracks.get(ordinal))
        .copied()
}

fn start_timecode(
    streams: &[FfStream],
    format: &FfFormat,
    videos: &[VideoStream],
) -> Option<String> {
    let main_video = videos.iter().find(|v| !v.cover_art).map(|v| v.index);
    let from_video = streams
        .iter()
        .filter(|s| Some(s.index) == main_video)
        .find_map(|s| s.tag("timecode"));
    let from_tmcd = streams
        .iter()
        .filter(|s| s.is_type("data") && s.codec_tag_string.as_deref() == Some("tmcd"))
        .find_map(|s| s.tag("timecode"));
    let from_any = || streams.iter().find_map(|s| s.tag("timecode"));
    from_video
        .or(from_tmcd)
        .or_else(|| format.tag("timecode"))
        .or_else(from_any)
        .map(|t| t.trim().to_owned())
}

/// Clockwise display rotation in {0, 90, 180, 270}.
fn rotation(stream: &FfStream) -> u32 {
    let from_matrix = stream.side_data_list.iter().find_map(|side| {
        let rotation = side.get("rotation")?;
        let degrees = match rotation {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        // ffprobe prints the display matrix's counter-clockwise angle.
        Some(-degrees)
    });
    let from_tag = || {
        stream
            .tag("rotate")
            .and_then(|r| r.trim().parse::<f64>().ok())
    };
    let degrees = from_matrix
        .or_else(from_tag)
        .filter(|d| d.is_finite())
        .unwrap_or(0.0);
    // Snap to a quarter turn; display matrices can carry float noise.
    let quarter_turns = (degrees / 90.0).round().rem_euclid(4.0);
    // `quarter_turns` is one of 0.0, 1.0, 2.0, 3.0.
    (quarter_turns as u32) * 90
}

fn valid_ratio(text: &str) -> bool {
    parse_ratio(text).is_some()
}

fn parse_ratio(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.trim().split_once(':')?;
    let (a, b) = (a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?);
    (a > 0 && b > 0).then_some((a, b))
}

fn display_aspect_ratio(stream: &FfStream) -> Option<String> {
    if let Some(dar) = stream
        .display_aspect_ratio
        .as_deref()
        .filter(|d| valid_ratio(d))
    {
        return Some(dar.trim().to_owned());
    }
    let (w, h) = (u64::from(stream.width?), u64::from(stream.height?));
    let (sar_w, sar_h) = stream
        .sample_aspect_ratio
        .as_deref()
        .and_then(parse_ratio)
        .unwrap_or((1, 1));
    let (num, den) = (w.checked_mul(sar_w)?, h.checked_mul(sar_h)?);
    if num == 0 || den == 0 {
        return None;
    }
    let g = gcd(num, den);
    Some(format!("{}:{}", num / g, den / g))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(ffprobe: Value, mediainfo: Option<Value>) -> MediaSummary {
        let ff: FfprobeOutput = serde_json::from_value(ffprobe).expect("ffprobe json");
        let mi: Option<MediainfoOutput> =
            mediainfo.map(|m| serde_json::from_value(m).expect("mediainfo json"));
        MediaSummary::from_parts(&ff, mi.as_ref())
    }

    #[test]
    fn frame_rates_parse() {
        assert_eq!(
            FrameRate::parse("30000/1001").map(|r| (r.fps * 1000.0).round()),
            Some(29970.0)
        );
        assert_eq!(FrameRate::parse("25").map(|r| r.fps), Some(25.0));
        for bad in ["0/0", "1/0", "", "x/y", "-5/1", "NaN"] {
            assert_eq!(FrameRate::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn vfr_rule_mediainfo_vfr_wins_else_ffprobe_rates() {
        let video = |r: &str, avg: &str| {
            json!({"streams": [{"index": 0, "codec_type": "video", "codec_name": "h264",
                                "r_frame_rate": r, "avg_frame_rate": avg}]})
        };
        let mi = |mode: &str| {
            json!({"media": {"track": [{"@type": "General"},
                                       {"@type": "Video", "StreamOrder": "0", "FrameRate_Mode": mode}]}})
        };
        let vfr = |s: MediaSummary| s.video().expect("video").variable_frame_rate;
        assert!(!vfr(summary(video("25/1", "25/1"), None)));
        assert!(
            !vfr(summary(video("30000/1001", "2997/100"), None)),
            "within 0.5%"
        );
        assert!(vfr(summary(video("90000/2999", "369000/13657"), None)));
        assert!(vfr(summary(video("25/1", "25/1"), Some(mi("VFR")))));
        assert!(vfr(summary(
            video("90000/2999", "369000/13657"),
            Some(mi("CFR"))
        )));
        assert!(!vfr(summary(video("25/1", "0/0"), Some(mi("CFR")))));
    }

    #[test]
    fn rotation_from_display_matrix_or_tag() {
        let with = |extra: Value| {
            let mut stream =
                json!({"index": 0, "codec_type": "video", "width": 1920, "height": 1080});
            if let (Some(s), Some(e)) = (stream.as_object_mut(), extra.as_object()) {
                s.extend(e.clone());
            }
            summary(json!({"streams": [stream]}), None)
                .video()
                .expect("video")
                .rotation
        };
        assert_eq!(with(json!({})), 0);
        assert_eq!(
            with(
                json!({"side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}]})
            ),
            90
        );
        assert_eq!(with(json!({"side_data_list": [{"rotation": 90}]})), 270);
        assert_eq!(with(json!({"side_data_list": [{"rotation": 180.0}]})), 180);
        assert_eq!(with(json!({"tags": {"rotate": "90"}})), 90);
        assert_eq!(with(json!({"tags": {"rotate": "-90"}})), 270);
    }

    #[test]
    fn cover_art_is_not_video() {
        let s = summary(
            json!({"format": {"format_name": "mp3"}, "streams": [
                {"index": 0, "codec_type": "audio", "codec_name": "mp3", "channels": 2},
                {"index": 1, "codec_type": "video", "codec_name": "png", "width": 300, "height": 300}
            ]}),
            None,
        );
        assert!(s.video_streams[0].cover_art);
        assert!(!s.has_video() && s.has_audio());
        // A lone picture stream without audio stays a (one-frame) video.
        let s = summary(
            json!({"streams": [{"index": 0, "codec_type": "video", "codec_name": "mjpeg", "nb_frames": "1"}]}),
            None,
        );
        assert!(s.has_video());
    }

    #[test]
    fn display_aspect_computed_when_missing() {
        let s = summary(
            json!({"streams": [{"index": 0, "codec_type": "video", "width": 720, "height": 576,
                                "sample_aspect_ratio": "64:45", "display_aspect_ratio": "0:1"}]}),
            None,
        );
        assert_eq!(
            s.video().and_then(|v| v.display_aspect_ratio.clone()),
            Some("16:9".into())
        );
    }
}
